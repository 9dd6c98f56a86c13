from fastapi import FastAPI, WebSocket

app = FastAPI()
SPOKEN = ["chat.v2", "chat.v1"]  # best first


@app.websocket("/ws")
async def websocket_endpoint(websocket: WebSocket):
    offered = websocket.scope["subprotocols"]
    chosen = next((p for p in SPOKEN if p in offered), None)
    await websocket.accept(subprotocol=chosen)
    await websocket.send_text(f"speaking {chosen}")
    await websocket.close()
