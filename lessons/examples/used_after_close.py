from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()
last: list[str] = []  # what the last misuse raised


def remember(exc: Exception) -> None:
    last.append(f"{type(exc).__name__}: {exc}")
    print(last[-1])


@app.websocket("/after-close")
async def after_close(websocket: WebSocket):
    await websocket.accept()
    await websocket.close()
    try:
        await websocket.receive_text()  # closed: nothing can arrive
    except RuntimeError as exc:  # WebSocketDisconnected
        remember(exc)


@app.websocket("/after-leave")
async def after_leave(websocket: WebSocket):
    await websocket.accept()
    try:
        await websocket.receive_text()
    except WebSocketDisconnect as exc:  # the client left: normal
        print(f"the client left with code {exc.code}")
    try:
        await websocket.receive_text()  # once more: a mistake
    except RuntimeError as exc:
        remember(exc)


@app.websocket("/last")
async def report(websocket: WebSocket):
    await websocket.accept()
    await websocket.send_text(last[-1] if last else "nothing yet")
    await websocket.close()
