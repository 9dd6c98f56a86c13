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
        if not self.rooms[room]:
            del self.rooms[room]

    async def broadcast(self, room: str, message: str):
        dead = []
        # Over a copy: the set itself is then safe to change.
        for websocket in list(self.rooms.get(room, ())):
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
        manager.leave(room, websocket)  # leave, then tell the others
        await manager.broadcast(room, f"A user left {room}")
