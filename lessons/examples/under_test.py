from fastapi import FastAPI, WebSocket, status

app = FastAPI()


@app.websocket("/echo")
async def echo(websocket: WebSocket):
    await websocket.accept()
    async for text in websocket.iter_text():
        await websocket.send_text(f"Echo: {text}")


@app.websocket("/once")
async def once(websocket: WebSocket):
    await websocket.accept()
    await websocket.send_text("only one")
    # returns without close()


@app.websocket("/members")
async def members(websocket: WebSocket):
    await websocket.close(code=status.WS_1008_POLICY_VIOLATION)  # before accept()


@app.websocket("/crash")
async def crash(websocket: WebSocket):
    await websocket.accept()
    raise ValueError("something broke")
