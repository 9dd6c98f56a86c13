import asyncio

from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()


async def echo(websocket: WebSocket):
    while True:
        text = await websocket.receive_text()
        await websocket.send_text(f"Echo: {text}")


@app.websocket("/ws")
async def websocket_endpoint(websocket: WebSocket):
    await websocket.accept()
    try:
        await asyncio.wait_for(echo(websocket), timeout=1.0)
    except asyncio.TimeoutError:
        await websocket.close(code=4000, reason="idle")
    except WebSocketDisconnect:
        pass
