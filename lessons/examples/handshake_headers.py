from fastapi import FastAPI, WebSocket

app = FastAPI()


@app.websocket("/ws")
async def handshake(websocket: WebSocket):
    # Before accept() the connection is still an HTTP request: its
    # headers are readable.
    headers = websocket.headers
    await websocket.accept()
    await websocket.send_text(f"upgrade: {headers['upgrade']}")
    await websocket.send_text(f"connection: {headers['connection']}")
    version = headers["sec-websocket-version"]
    await websocket.send_text(f"sec-websocket-version: {version}")
    await websocket.send_text(f"scheme: {websocket.url.scheme}")
    await websocket.close()
