from fastapi import FastAPI, WebSocket, status

app = FastAPI()
TOKENS = {"s3cret": "alice"}


@app.websocket("/ws")
async def websocket_endpoint(websocket: WebSocket):
    offered = websocket.scope["subprotocols"]  # ["bearer", "s3cret"]
    bearer = len(offered) == 2 and offered[0] == "bearer"
    token = offered[1] if bearer else ""
    if token not in TOKENS:
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION)
        return
    await websocket.accept(subprotocol="bearer")
    await websocket.send_text(f"welcome {TOKENS[token]}")
    await websocket.close()
