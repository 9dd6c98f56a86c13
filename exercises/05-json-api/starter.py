# wsquiz exercise: json-api
# A calculator that speaks JSON and never crashes on bad input.
# Check your work with: wsquiz check <this file>
# (add --watch to re-check on every save)
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()


@app.websocket("/ws")
async def calculator(websocket: WebSocket):
    await websocket.accept()
    try:
        while True:
            # TODO: read a JSON object, such as
            #       {"op": "add", "a": 1, "b": 2}
            text = await websocket.receive_text()
            # TODO: reply {"result": 3}; for "add", "sub" and "mul"
            # TODO: reply {"error": "..."} to anything else, and keep
            #       the connection open
            await websocket.send_text(text)
    except WebSocketDisconnect:
        pass
