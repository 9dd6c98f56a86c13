# wsquiz exercise: timeout-ping
import asyncio

from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()

IDLE_SECONDS = 0.3


@app.websocket("/ws")
async def patient_echo(websocket: WebSocket):
    await websocket.accept()
    asked = False
    try:
        while True:
            try:
                text = await asyncio.wait_for(
                    websocket.receive_text(), IDLE_SECONDS
                )
            except asyncio.TimeoutError:
                if asked:
                    await websocket.close(code=1000, reason="idle")
                    return
                await websocket.send_text("still there?")
                asked = True
                continue
            asked = False
            await websocket.send_text(f"echo: {text}")
    except WebSocketDisconnect:
        pass
