import asyncio

from fastapi import FastAPI, WebSocket

app = FastAPI()


async def send_ticks(websocket: WebSocket):
    for n in range(1, 4):
        await websocket.send_text(f"tick {n}")
        await asyncio.sleep(0.5)


async def echo(websocket: WebSocket):
    async for text in websocket.iter_text():
        await websocket.send_text(f"Echo: {text}")


@app.websocket("/ws")
async def websocket_endpoint(websocket: WebSocket):
    await websocket.accept()
    await asyncio.gather(send_ticks(websocket), echo(websocket))
