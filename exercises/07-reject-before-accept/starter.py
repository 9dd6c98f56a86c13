# wsquiz exercise: reject-before-accept
# Refuse unknown rooms before the connection is open.
# Check your work with: wsquiz check <this file>
# (add --watch to re-check on every save)
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()

ROOMS = {"lobby", "games"}


@app.websocket("/rooms/{room}")
async def join_room(websocket: WebSocket, room: str):
    # TODO: a room that is not in ROOMS must be refused: the
    #       handshake should fail
    await websocket.accept()
    await websocket.send_text(f"joined {room}")
    try:
        while True:
            text = await websocket.receive_text()
            await websocket.send_text(f"[{room}] {text}")
    except WebSocketDisconnect:
        pass
