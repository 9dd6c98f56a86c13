from fastapi import FastAPI, WebSocket

app = FastAPI()


@app.websocket("/returns")
async def returns(websocket: WebSocket):
    await websocket.accept()
    await websocket.send_text("done")
    # The handler ends without close(): no close frame is ever sent.


@app.websocket("/closes")
async def closes(websocket: WebSocket):
    await websocket.accept()
    await websocket.send_text("done")
    await websocket.close()  # code 1000, no reason


@app.websocket("/going-away")
async def going_away(websocket: WebSocket):
    await websocket.accept()
    await websocket.close(code=1001, reason="server restarting")


@app.websocket("/refuses")
async def refuses(websocket: WebSocket):
    # close() before accept(): there is no WebSocket yet, so the HTTP
    # request is refused.
    await websocket.close(code=1008, reason="not welcome")


@app.websocket("/crashes")
async def crashes(websocket: WebSocket):
    await websocket.accept()
    raise ValueError("something broke")


@app.websocket("/reports")
async def reports(websocket: WebSocket):
    await websocket.accept()
    try:
        raise ValueError("something broke")
    except ValueError:
        await websocket.close(code=1011, reason="internal error")
