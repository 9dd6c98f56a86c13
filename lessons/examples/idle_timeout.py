import asyncio

from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()
IDLE_SECONDS = 1.0


@app.websocket("/ws")
async def patient(websocket: WebSocket):
    await websocket.accept()
    try:
        while True:
            try:
                text = await asyncio.wait_for(
                    websocket.receive_text(), timeout=IDLE_SECONDS
                )
            except asyncio.TimeoutError:
                await websocket.close(
                    code=4000, reason=f"idle for {IDLE_SECONDS} s"
                )
                return
            await websocket.send_text(f"Echo: {text}")
    except WebSocketDisconnect:
        pass
