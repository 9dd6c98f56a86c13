# wsquiz exercise: direct-messages
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()


class ConnectionManager:
    def __init__(self) -> None:
        self.users: dict[str, WebSocket] = {}

    async def connect(self, name: str, websocket: WebSocket) -> bool:
        # Taken: refuse before accept, keep the one already here.
        if name in self.users:
            await websocket.close()
            return False
        await websocket.accept()
        self.users[name] = websocket
        return True

    def disconnect(self, name: str) -> None:
        self.users.pop(name, None)

    async def send_to(self, name: str, message: str) -> bool:
        websocket = self.users.get(name)
        if websocket is None:
            return False
        await websocket.send_text(message)
        return True


manager = ConnectionManager()


@app.websocket("/dm/{name}")
async def direct_messages(websocket: WebSocket, name: str):
    if not await manager.connect(name, websocket):
        return
    try:
        while True:
            text = await websocket.receive_text()
            to, _, message = text.partition(" ")
            if not to.startswith("@") or len(to) < 2 or not message:
                await websocket.send_text("write @name message")
            elif await manager.send_to(to[1:], f"{name}: {message}"):
                await websocket.send_text(f"sent to {to[1:]}")
            else:
                await websocket.send_text(f"{to[1:]} is not here")
    except WebSocketDisconnect:
        manager.disconnect(name)
