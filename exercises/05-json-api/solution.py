# wsquiz exercise: json-api
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()

OPERATIONS = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
}


def is_number(value):
    if isinstance(value, bool):  # True is an int to Python, not to us
        return False
    return isinstance(value, (int, float))


def compute(message):
    op = message.get("op") if isinstance(message, dict) else None
    if op not in OPERATIONS:
        return {"error": "bad request"}
    a, b = message.get("a"), message.get("b")
    if not (is_number(a) and is_number(b)):
        return {"error": "bad request"}
    return {"result": OPERATIONS[op](a, b)}


@app.websocket("/ws")
async def calculator(websocket: WebSocket):
    await websocket.accept()
    try:
        while True:
            try:
                message = await websocket.receive_json()
            except ValueError:
                # The frame was read, but was not JSON: say so, go on.
                await websocket.send_json({"error": "not JSON"})
                continue
            await websocket.send_json(compute(message))
    except WebSocketDisconnect:
        pass
