# wsquiz exercise: push-ticker
# The server speaks first, three times, then says goodbye.
# Check your work with: wsquiz check <this file>
# (add --watch to re-check on every save)
from fastapi import FastAPI, WebSocket

app = FastAPI()


@app.websocket("/ticker")
async def ticker(websocket: WebSocket):
    await websocket.accept()
    # TODO: without waiting for the client, send "tick 1", "tick 2",
    #       "tick 3", pausing a little between them (without blocking
    #       the event loop)
    # TODO: then close the connection normally, with the reason "done"
