# wsquiz exercise: push-ticker
import asyncio

from fastapi import FastAPI, WebSocket

app = FastAPI()


@app.websocket("/ticker")
async def ticker(websocket: WebSocket):
    await websocket.accept()
    for n in range(1, 4):
        await websocket.send_text(f"tick {n}")
        await asyncio.sleep(0.05)
    await websocket.close(code=1000, reason="done")
