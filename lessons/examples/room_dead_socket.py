from fastapi import FastAPI, WebSocket

app = FastAPI()


class ConnectionManager:
    def __init__(self):
        self.active: list[WebSocket] = []

    async def connect(self, websocket: WebSocket):
        await websocket.accept()
        self.active.append(websocket)

    async def broadcast(self, message: str):
        for websocket in self.active:
            await websocket.send_text(message)


manager = ConnectionManager()


@app.websocket("/chat")
async def chat(websocket: WebSocket):
    await manager.connect(websocket)
    # No try/except: when this client leaves, receive_text() raises
    # WebSocketDisconnect, the handler ends, and its socket stays in
    # manager.active for ever.
    while True:
        message = await websocket.receive_text()
        await manager.broadcast(message)
