from fastapi import FastAPI, WebSocket

app = FastAPI()


@app.websocket("/text")
async def text(websocket: WebSocket):
    await websocket.accept()
    message = await websocket.receive_text()  # a str
    await websocket.send_text(
        f"{len(message)} characters, shouted: {message.upper()}"
    )
    await websocket.close()


@app.websocket("/bytes")
async def raw(websocket: WebSocket):
    await websocket.accept()
    data = await websocket.receive_bytes()  # bytes, exactly as sent
    await websocket.send_bytes(data[::-1])
    await websocket.close()


@app.websocket("/json")
async def price(websocket: WebSocket):
    await websocket.accept()
    order = await websocket.receive_json()  # parsed: a dict here
    total = order["qty"] * order["price"]
    await websocket.send_json({"item": order["item"], "total": total})
    await websocket.close()
