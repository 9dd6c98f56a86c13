# wsquiz exercise: count-messages
# Receive three text messages, then reply "Messages received: 3".
# Check your work with: wsquiz check <this file>
# (add --watch to re-check on every save)
from fastapi import FastAPI, WebSocket

app = FastAPI()


@app.websocket("/ws")
async def websocket_endpoint(websocket: WebSocket):
    await websocket.accept()
    count = 0
    # TODO: receive three messages, adding one to count for each
    await websocket.receive_text()
    # TODO: reply only after the third message
    await websocket.send_text(f"Messages received: {count}")
