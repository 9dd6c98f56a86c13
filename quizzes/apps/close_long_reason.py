from fastapi import FastAPI, WebSocket

app = FastAPI()


@app.websocket("/ws")
async def websocket_endpoint(websocket: WebSocket):
    await websocket.accept()
    reason = "Thanks for visiting! " * 6  # 126 characters
    await websocket.close(code=1000, reason=reason)
