# wsquiz exercise: reject-before-accept
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()

ROOMS = {"lobby", "games"}


@app.websocket("/rooms/{room}")
async def join_room(websocket: WebSocket, room: str):
    if room not in ROOMS:
        # Before accept(): the handshake is refused.
        await websocket.close()
        return
    await websocket.accept()
    await websocket.send_text(f"joined {room}")
    try:
        while True:
            text = await websocket.receive_text()
            await websocket.send_text(f"[{room}] {text}")
    except WebSocketDisconnect:
        pass
