from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()
last: list[str] = []  # what the last misuse raised, for /last to report


def remember(exc: Exception) -> None:
    last.append(f"{type(exc).__name__}: {exc}")
    print(last[-1])


@app.websocket("/after-close")
async def after_close(websocket: WebSocket):
    await websocket.accept()
    await websocket.close()
    try:
        await websocket.receive_text()  # the server closed: nothing can arrive any more
    except RuntimeError as exc:  # WebSocketDisconnected from Starlette 1.7, RuntimeError before
        remember(exc)


@app.websocket("/after-leave")
async def after_leave(websocket: WebSocket):
    await websocket.accept()
    try:
        await websocket.receive_text()
    except WebSocketDisconnect as exc:  # the client left: a normal event
        print(f"WebSocketDisconnect: the client left with code {exc.code}")
    try:
        await websocket.receive_text()  # ... and receiving once more is a mistake
    except RuntimeError as exc:
        remember(exc)


@app.websocket("/last")
async def report(websocket: WebSocket):
    await websocket.accept()
    await websocket.send_text(last[-1] if last else "nothing yet")
    await websocket.close()
