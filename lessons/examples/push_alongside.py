import asyncio

from fastapi import FastAPI, WebSocket

app = FastAPI()


async def send_ticks(websocket: WebSocket):
    for n in range(1, 4):
        await websocket.send_text(f"tick {n}")
        await asyncio.sleep(0.5)


@app.websocket("/ws")
async def alongside(websocket: WebSocket):
    await websocket.accept()
    # The ticks run as a task of their own, while this loop receives.
    ticker = asyncio.create_task(send_ticks(websocket))
    try:
        # The loop ends quietly when the client leaves.
        async for text in websocket.iter_text():
            await websocket.send_text(f"Echo: {text}")
    finally:
        ticker.cancel()  # never leave a task sending to a closed one
