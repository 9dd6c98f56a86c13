from fastapi import FastAPI, WebSocket

app = FastAPI()


@app.websocket("/ws")
async def websocket_endpoint(websocket: WebSocket):
    await websocket.accept()
    await websocket.send_text(websocket.headers["upgrade"])
    await websocket.send_text(websocket.url.scheme)
    await websocket.send_text(
        websocket.headers["sec-websocket-version"]
    )
    await websocket.close()
