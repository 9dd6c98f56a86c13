import asyncio

from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()


@app.websocket("/ws")
async def websocket_endpoint(websocket: WebSocket):
    await websocket.accept()
    try:
        while True:
            try:
                text = await asyncio.wait_for(
                    websocket.receive_text(), timeout=1.0
                )
            except asyncio.TimeoutError:
                await websocket.close(code=4000, reason="idle")
                return
            await websocket.send_text(f"Echo: {text}")
    except WebSocketDisconnect:
        pass
