# wsquiz exercise: direct-messages
# Private messages between named users, with nobody left behind.
# Check your work with: wsquiz check <this file>
# (add --watch to re-check on every save)
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()


class ConnectionManager:
    def __init__(self) -> None:
        self.users: dict[str, WebSocket] = {}

    async def connect(self, name: str, websocket: WebSocket) -> bool:
        # TODO: a name that is already connected must be refused,
        #       before accepting
        await websocket.accept()
        self.users[name] = websocket
        return True

    def disconnect(self, name: str) -> None:
        # TODO: forget the user who left
        pass

    async def send_to(self, name: str, message: str) -> bool:
        # TODO: return False when nobody of that name is connected
        await self.users[name].send_text(message)
        return True


manager = ConnectionManager()


@app.websocket("/dm/{name}")
async def direct_messages(websocket: WebSocket, name: str):
    if not await manager.connect(name, websocket):
        return
    try:
        while True:
            text = await websocket.receive_text()
            # TODO: a message not shaped "@name message", such as
            #       "hello", gets "write @name message"
            to, _, message = text.partition(" ")
            if await manager.send_to(to[1:], f"{name}: {message}"):
                await websocket.send_text(f"sent to {to[1:]}")
            else:
                await websocket.send_text(f"{to[1:]} is not here")
    except WebSocketDisconnect:
        manager.disconnect(name)
