from fastapi import FastAPI, WebSocket

app = FastAPI()
SPOKEN = ["chat.v2", "chat.v1"]  # the server's preference, best first


@app.websocket("/ws")
async def negotiate(websocket: WebSocket):
    # What the client offered in its Sec-WebSocket-Protocol header:
    offered = websocket.scope["subprotocols"]
    chosen = next((p for p in SPOKEN if p in offered), None)
    # With None, the answer carries no Sec-WebSocket-Protocol header.
    await websocket.accept(subprotocol=chosen)
    await websocket.send_text(
        f"you offered {offered}, we speak {chosen}"
    )
    await websocket.close()
