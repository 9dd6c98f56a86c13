# wsquiz exercise: running-total
from fastapi import FastAPI, WebSocket

app = FastAPI()


@app.websocket("/total")
async def running_total(websocket: WebSocket):
    await websocket.accept()
    total = 0
    # iter_json() yields one parsed message at a time and simply stops
    # when the client leaves
    async for message in websocket.iter_json():
        total += message["n"]
        await websocket.send_json({"total": total})
