from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()


@app.websocket("/ws")
async def one_connection(websocket: WebSocket):
    await websocket.accept()
    # The client's side of the one TCP connection:
    port = websocket.client.port
    # Nothing makes the server wait for the client: it may speak first.
    await websocket.send_text(f"hello, client on port {port}")
    count = 0
    try:
        while True:
            text = await websocket.receive_text()
            count += 1
            await websocket.send_text(
                f"message {count} from port {port}: {text}"
            )
    except WebSocketDisconnect:
        pass
