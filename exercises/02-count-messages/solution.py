# wsquiz exercise: count-messages
from fastapi import FastAPI, WebSocket

app = FastAPI()


@app.websocket("/ws")
async def websocket_endpoint(websocket: WebSocket):
    await websocket.accept()
    count = 0
    for _ in range(3):
        await websocket.receive_text()
        count += 1
    await websocket.send_text(f"Messages received: {count}")
