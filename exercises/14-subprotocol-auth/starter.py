# wsquiz exercise: subprotocol-auth
# Speak wsquiz.v1, and read the token the client offers with it.
# Check your work with: wsquiz check <this file>
# (add --watch to re-check on every save)
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()

PROTOCOL = "wsquiz.v1"
TOKENS = {"token.s3cret": "ada", "token.letmein": "bob"}


@app.websocket("/ws")
async def protocol_echo(websocket: WebSocket):
    # TODO: find out which subprotocols the client offered
    # TODO: refuse the handshake unless it offered PROTOCOL and a
    #       known token
    user = "anonymous"
    # TODO: tell the client which subprotocol you chose
    await websocket.accept()
    await websocket.send_text(f"hello {user}, you speak {PROTOCOL}")
    try:
        while True:
            text = await websocket.receive_text()
            await websocket.send_text(f"{user}: {text}")
    except WebSocketDisconnect:
        pass
