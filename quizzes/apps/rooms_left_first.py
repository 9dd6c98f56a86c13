from collections import defaultdict

from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()


class RoomManager:
    def __init__(self):
        self.rooms: dict[str, list[WebSocket]] = defaultdict(list)

    async def join(self, room: str, websocket: WebSocket):
        await websocket.accept()
        self.rooms[room].append(websocket)

    def leave(self, room: str, websocket: WebSocket):
        self.rooms[room].remove(websocket)

    async def broadcast(self, room: str, message: str):
        for websocket in self.rooms[room]:
            await websocket.send_text(message)


manager = RoomManager()


@app.websocket("/chat/{room}")
async def chat(websocket: WebSocket, room: str):
    await manager.join(room, websocket)
    try:
        while True:
            message = await websocket.receive_text()
            await manager.broadcast(room, f"[{room}] {message}")
    except WebSocketDisconnect:
        await manager.broadcast(room, f"A user left {room}")
        manager.leave(room, websocket)
