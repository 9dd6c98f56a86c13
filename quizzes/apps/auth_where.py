from fastapi import FastAPI, WebSocket, status

app = FastAPI()
TOKENS = {"s3cret": "alice"}


@app.websocket("/strict")
async def strict(websocket: WebSocket, token: str = ""):
    if token not in TOKENS:
        await websocket.close(
            code=status.WS_1008_POLICY_VIOLATION,
            reason="invalid token",
        )
        return
    await websocket.accept()
    await websocket.send_text(f"welcome {TOKENS[token]}")
    await websocket.close()


@app.websocket("/polite")
async def polite(websocket: WebSocket, token: str = ""):
    await websocket.accept()
    if token not in TOKENS:
        await websocket.close(
            code=status.WS_1008_POLICY_VIOLATION,
            reason="invalid token",
        )
        return
    await websocket.send_text(f"welcome {TOKENS[token]}")
    await websocket.close()
