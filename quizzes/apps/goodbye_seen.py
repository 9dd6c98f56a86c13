from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()
last_goodbye = "nobody left yet"


@app.websocket("/ws")
async def websocket_endpoint(websocket: WebSocket):
    global last_goodbye
    await websocket.accept()
    try:
        while True:
            await websocket.receive_text()
    except WebSocketDisconnect as exc:
        last_goodbye = f"{exc.code} {exc.reason}"


@app.websocket("/last")
async def last(websocket: WebSocket):
    await websocket.accept()
    await websocket.send_text(last_goodbye)
    await websocket.close()
