from fastapi import FastAPI, WebSocket

app = FastAPI()


@app.websocket("/items/{item_id}")
async def websocket_endpoint(websocket: WebSocket, item_id: int):
    await websocket.accept()
    await websocket.send_text(f"next item: {item_id + 1}")
    await websocket.close()
