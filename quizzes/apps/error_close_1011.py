from fastapi import FastAPI, WebSocket

app = FastAPI()


@app.websocket("/ws")
async def websocket_endpoint(websocket: WebSocket):
    await websocket.accept()
    data = await websocket.receive_text()
    try:
        raise RuntimeError(f"cannot handle {data!r}")
    except RuntimeError:
        await websocket.close(code=1011, reason="internal error")
