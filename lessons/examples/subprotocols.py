from fastapi import FastAPI, WebSocket

app = FastAPI()
SPOKEN = ["chat.v2", "chat.v1"]  # the server's preference, best first


@app.websocket("/ws")
async def negotiate(websocket: WebSocket):
    offered = websocket.scope["subprotocols"]  # from the Sec-WebSocket-Protocol header
    chosen = next((p for p in SPOKEN if p in offered), None)
    await websocket.accept(subprotocol=chosen)  # None: answer without the header
    await websocket.send_text(f"you offered {offered}, we speak {chosen}")
    await websocket.close()
