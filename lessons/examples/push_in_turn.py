import asyncio

from fastapi import FastAPI, WebSocket

app = FastAPI()


async def send_ticks(websocket: WebSocket):
    for n in range(1, 4):
        await websocket.send_text(f"tick {n}")
        await asyncio.sleep(0.5)


@app.websocket("/ws")
async def in_turn(websocket: WebSocket):
    await websocket.accept()
    # Nothing is received until every tick is sent.
    await send_ticks(websocket)
    async for text in websocket.iter_text():
        await websocket.send_text(f"Echo: {text}")
