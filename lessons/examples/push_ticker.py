import asyncio

from fastapi import FastAPI, WebSocket

app = FastAPI()


@app.websocket("/ticks")
async def ticks(websocket: WebSocket, count: int = 3):
    await websocket.accept()
    # The client never asks: the server pushes on its own schedule.
    for n in range(1, count + 1):
        await websocket.send_text(f"tick {n}")
        await asyncio.sleep(0.05)
    await websocket.close(code=1000, reason="that's all")
