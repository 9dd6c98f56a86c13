# wsquiz exercise: running-total
# Add up the numbers a client sends, with iter_json().
# Check your work with: wsquiz check <this file>
# (add --watch to re-check on every save)
from fastapi import FastAPI, WebSocket

app = FastAPI()


@app.websocket("/total")
async def running_total(websocket: WebSocket):
    await websocket.accept()
    # TODO: loop with `async for` over the client's JSON messages, so
    #       that the loop simply ends when the client leaves
    while True:
        message = await websocket.receive_json()
        # TODO: keep a running total per connection, and reply with it
        await websocket.send_json({"total": message["n"]})
