from fastapi import FastAPI, WebSocket, status

app = FastAPI()
MAX_CHARS = 32


@app.websocket("/ws")
async def websocket_endpoint(websocket: WebSocket):
    await websocket.accept()
    async for text in websocket.iter_text():
        if len(text) > MAX_CHARS:
            await websocket.close(
                code=status.WS_1009_MESSAGE_TOO_BIG,
                reason="message too long",
            )
            return
        await websocket.send_text(f"ok {len(text)}")
