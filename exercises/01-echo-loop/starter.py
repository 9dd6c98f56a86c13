# wsquiz exercise: echo-loop
# Reply "Echo: <text>" to every text message until the client leaves.
# Check your work with: wsquiz check <this file>
# (add --watch to re-check on every save)
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()


@app.websocket("/ws")
async def websocket_endpoint(websocket: WebSocket):
    await websocket.accept()
    # TODO: keep receiving while the client stays, not just once
    data = await websocket.receive_text()
    # TODO: reply "Echo: " followed by the text
    await websocket.send_text(data)
    # TODO: when the client leaves, receive_text() raises
    #       WebSocketDisconnect: end quietly
