# wsquiz exercise: bytes-echo
# Reply to every binary frame with the same bytes, reversed.
# Check your work with: wsquiz check <this file>
# (add --watch to re-check on every save)
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()


@app.websocket("/ws")
async def reverse_bytes(websocket: WebSocket):
    await websocket.accept()
    try:
        while True:
            # TODO: the client sends binary frames, not text
            data = await websocket.receive_text()
            # TODO: send the bytes back reversed, as a binary frame
            await websocket.send_text(data)
    except WebSocketDisconnect:
        pass
