from fastapi import FastAPI, WebSocket, status

app = FastAPI()
TOKENS = {"s3cret": "alice"}


@app.websocket("/ws")
async def websocket_endpoint(websocket: WebSocket):
    await websocket.accept()
    token = await websocket.receive_text()
    user = TOKENS.get(token)
    if user is None:
        await websocket.close(
            code=status.WS_1008_POLICY_VIOLATION,
            reason="log in first",
        )
        return
    await websocket.send_text(f"welcome {user}")
    async for text in websocket.iter_text():
        await websocket.send_text(f"{user}: {text}")
