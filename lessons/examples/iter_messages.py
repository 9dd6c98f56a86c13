from fastapi import FastAPI, WebSocket

app = FastAPI()


@app.websocket("/lines")
async def lines(websocket: WebSocket):
    await websocket.accept()
    # iter_text() yields each text message and simply stops when the
    # client leaves.
    async for text in websocket.iter_text():
        await websocket.send_text(text[::-1])


@app.websocket("/sum")
async def running_total(websocket: WebSocket):
    await websocket.accept()
    total = 0
    async for item in websocket.iter_json():  # each one parsed as JSON
        total += item["amount"]
        await websocket.send_json({"total": total})
