# wsquiz exercise: chat-room
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()


class ConnectionManager:
    def __init__(self):
        self.rooms: dict[str, list[WebSocket]] = {}

    async def connect(self, websocket: WebSocket, room: str):
        await websocket.accept()
        self.rooms.setdefault(room, []).append(websocket)

    def disconnect(self, websocket: WebSocket, room: str):
        members = self.rooms.get(room, [])
        if websocket in members:
            members.remove(websocket)
        if not members:
            self.rooms.pop(room, None)

    async def broadcast(self, message: str, room: str):
        for connection in list(self.rooms.get(room, [])):
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
