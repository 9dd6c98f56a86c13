from fastapi import FastAPI, WebSocket, WebSocketDisconnect, status

app = FastAPI()
TOKENS = {"s3cret": "alice"}


@app.websocket("/strict")
async def strict(websocket: WebSocket, token: str = ""):
    if token not in TOKENS:
        # Refused in the handshake: the client only learns "HTTP 403".
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION)
        return
    await websocket.accept()
    await websocket.send_text(f"welcome {TOKENS[token]}")
    await websocket.close()


@app.websocket("/polite")
async def polite(websocket: WebSocket, token: str = ""):
    await websocket.accept()
    if token not in TOKENS:
        # Accepted first, so a close frame can carry a code and a
        # reason the client can read.
        await websocket.close(
            code=status.WS_1008_POLICY_VIOLATION,
            reason="invalid token",
        )
        return
    await websocket.send_text(f"welcome {TOKENS[token]}")
    await websocket.close()


@app.websocket("/first-message")
async def first_message(websocket: WebSocket):
    # The token travels in the first message, not in the URL (which
    # ends up in logs).
    await websocket.accept()
    try:
        token = await websocket.receive_text()
    except WebSocketDisconnect:
        return
    if token not in TOKENS:
        await websocket.close(
            code=status.WS_1008_POLICY_VIOLATION,
            reason="invalid token",
        )
        return
    await websocket.send_text(f"welcome {TOKENS[token]}")
    await websocket.close()


@app.websocket("/protocol")
async def protocol_token(websocket: WebSocket):
    # A browser cannot set headers on a WebSocket, but it can offer
    # subprotocols:
    #   new WebSocket(url, ["bearer", token])
    offered = websocket.scope["subprotocols"]
    bearer = len(offered) == 2 and offered[0] == "bearer"
    token = offered[1] if bearer else ""
    if token not in TOKENS:
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION)
        return
    # Answer with the marker only: echoing the token would send the
    # secret back in a header.
    await websocket.accept(subprotocol="bearer")
    await websocket.send_text(f"welcome {TOKENS[token]}")
    await websocket.close()
