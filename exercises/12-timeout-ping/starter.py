# wsquiz exercise: timeout-ping
# Notice a silent client, ask once, then hang up.
# Check your work with: wsquiz check <this file>
# (add --watch to re-check on every save)
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()

IDLE_SECONDS = 0.3


@app.websocket("/ws")
async def patient_echo(websocket: WebSocket):
    await websocket.accept()
    try:
        while True:
            # TODO: wait at most IDLE_SECONDS for a message
            # TODO: the first silence: send "still there?" and keep
            #       waiting
            # TODO: a second silence in a row: close normally with the
            #       reason "idle"
            text = await websocket.receive_text()
            await websocket.send_text(f"echo: {text}")
    except WebSocketDisconnect:
        pass
