# wsquiz exercise: subprotocol-auth
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()

PROTOCOL = "wsquiz.v1"
TOKENS = {"token.s3cret": "ada", "token.letmein": "bob"}


@app.websocket("/ws")
async def protocol_echo(websocket: WebSocket):
    offered = websocket.scope.get("subprotocols", [])
    user = next((TOKENS[p] for p in offered if p in TOKENS), None)
    if PROTOCOL not in offered or user is None:
        await websocket.close(code=1008)
        return
    # Answer with the protocol only: never echo the token back.
    await websocket.accept(subprotocol=PROTOCOL)
    await websocket.send_text(f"hello {user}, you speak {PROTOCOL}")
    try:
        while True:
            text = await websocket.receive_text()
            await websocket.send_text(f"{user}: {text}")
    except WebSocketDisconnect:
        pass
