from fastapi import FastAPI, WebSocket, WebSocketException

app = FastAPI()


@app.websocket("/ws")
async def websocket_endpoint(websocket: WebSocket):
    await websocket.accept()
    data = await websocket.receive_text()
    raise WebSocketException(
        code=1011, reason=f"cannot handle {data!r}"
    )
