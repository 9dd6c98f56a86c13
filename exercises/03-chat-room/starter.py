# wsquiz exercise: chat-room
# A chat room per path: a message goes to everyone in the sender's
# room, and no further.
# Check your work with: wsquiz check <this file>
# (add --watch to re-check on every save)
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()


class ConnectionManager:
    def __init__(self):
        # TODO: keep the connections of each room apart
        #       (a dict: room -> list of WebSockets)
        self.active: list[WebSocket] = []

    async def connect(self, websocket: WebSocket, room: str):
        await websocket.accept()
        self.active.append(websocket)

    def disconnect(self, websocket: WebSocket, room: str):
        self.active.remove(websocket)

    async def broadcast(self, message: str, room: str):
        # TODO: send only to the connections of this room
        for connection in self.active:
            await connection.send_text(message)


manager = ConnectionManager()


@app.websocket("/chat/{room}")
async def chat(websocket: WebSocket, room: str):
    await manager.connect(websocket, room)
    try:
        while True:
            message = await websocket.receive_text()
            await manager.broadcast(f"[{room}] {message}", room)
    except WebSocketDisconnect:
        manager.disconnect(websocket, room)
        await manager.broadcast(f"A user left {room}", room)
