import asyncio

from fastapi import FastAPI, WebSocket

app = FastAPI()


@app.websocket("/ws")
async def websocket_endpoint(websocket: WebSocket):
    await websocket.accept()
    for n in range(1, 4):
        await websocket.send_text(f"tick {n}")
        await asyncio.sleep(0.05)
    await websocket.close(reason="no more ticks")
