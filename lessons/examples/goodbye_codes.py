from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()
last_goodbye = "nobody has left yet"


@app.websocket("/ws")
async def echo(websocket: WebSocket):
    global last_goodbye
    await websocket.accept()
    try:
        while True:
            text = await websocket.receive_text()
            if text == "quit":
                await websocket.close(
                    code=1000, reason="you asked to quit"
                )
                last_goodbye = "the server closed it"
                return
            await websocket.send_text(f"Echo: {text}")
    except WebSocketDisconnect as exc:
        # The client's own close code and reason arrive here.
        last_goodbye = (
            f"client left with code {exc.code}, reason {exc.reason!r}"
        )


@app.websocket("/last")
async def last(websocket: WebSocket):
    await websocket.accept()
    await websocket.send_text(last_goodbye)
    await websocket.close()
