# wsquiz exercise: router-mount
# Move both endpoints onto a router mounted under /api.
# Check your work with: wsquiz check <this file>
# (add --watch to re-check on every save)
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()

# TODO: create a router with the prefix /api, declare both endpoints
#       on it, and include it in the app


@app.websocket("/echo")
async def echo(websocket: WebSocket):
    await websocket.accept()
    try:
        while True:
            text = await websocket.receive_text()
            await websocket.send_text(f"echo: {text}")
    except WebSocketDisconnect:
        pass


@app.websocket("/upper")
async def upper(websocket: WebSocket):
    await websocket.accept()
    try:
        while True:
            # TODO: reply in upper case
            await websocket.send_text(await websocket.receive_text())
    except WebSocketDisconnect:
        pass
