# wsquiz exercise: header-auth
# Only clients that send a known X-API-Key header get in.
# Check your work with: wsquiz check <this file>
# (add --watch to re-check on every save)
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()

API_KEYS = {"key-ada": "ada", "key-bob": "bob"}


# TODO: write a dependency that reads the X-API-Key header and returns
#       the user's name, or refuses the connection with a
#       policy-violation code


@app.websocket("/ws")
async def shout(websocket: WebSocket):
    user = "anonymous"  # TODO: get it from your dependency
    await websocket.accept()
    await websocket.send_text(f"hello {user}")
    try:
        while True:
            text = await websocket.receive_text()
            # TODO: shout the message back in upper case
            await websocket.send_text(f"{user}: {text}")
    except WebSocketDisconnect:
        pass
