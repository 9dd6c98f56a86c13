from fastapi import FastAPI, WebSocket, status

app = FastAPI()
TOKENS = {"s3cret": "alice"}


@app.websocket("/ws")
async def protocol_token(websocket: WebSocket):
    # A browser cannot set headers on a WebSocket, but it can offer subprotocols:
    #   new WebSocket(url, ["bearer", token])
    offered = websocket.scope["subprotocols"]
    token = offered[1] if len(offered) == 2 and offered[0] == "bearer" else ""
    if token not in TOKENS:
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION)
        return
    # Echo back the marker, never the token itself.
    await websocket.accept(subprotocol="bearer")
    await websocket.send_text(f"welcome {TOKENS[token]}")
    await websocket.close()
