from collections import defaultdict

from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()


class RoomManager:
    def __init__(self):
        self.rooms: defaultdict[str, set[WebSocket]] = defaultdict(set)

    async def join(self, room: str, websocket: WebSocket):
        await websocket.accept()
        self.rooms[room].add(websocket)

    def leave(self, room: str, websocket: WebSocket):
        self.rooms[room].discard(websocket)

    async def broadcast(self, room: str, message: str):
        dead = []
        for websocket in list(self.rooms[room]):
            try:
                await websocket.send_text(message)
            except (WebSocketDisconnect, RuntimeError):
                dead.append(websocket)
        for websocket in dead:
            self.leave(room, websocket)


manager = RoomManager()


@app.websocket("/chat/{room}")
async def chat(websocket: WebSocket, room: str):
    await manager.join(room, websocket)
    try:
        while True:
            message = await websocket.receive_text()
            await manager.broadcast(room, f"[{room}] {message}")
    except WebSocketDisconnect:
        manager.leave(room, websocket)
        await manager.broadcast(room, f"A user left {room}")
