from fastapi import FastAPI, WebSocket

app = FastAPI()


@app.websocket("/ws")
def websocket_endpoint(websocket: WebSocket):
    await websocket.accept()
    data = await websocket.receive_text()
    await websocket.send_text(f"Received: {data}")
