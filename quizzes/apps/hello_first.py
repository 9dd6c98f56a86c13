from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()


@app.websocket("/ws")
async def websocket_endpoint(websocket: WebSocket):
    await websocket.accept()
    await websocket.send_text("welcome")
    try:
        while True:
            data = await websocket.receive_text()
            await websocket.send_text(f"got {data}")
    except WebSocketDisconnect:
        pass
