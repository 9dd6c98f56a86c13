# wsquiz exercise: query-auth
# Only clients with a known ?token= get in.
# Check your work with: wsquiz check <this file>
# (add --watch to re-check on every save)
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()

TOKENS = {"s3cret": "ada", "letmein": "bob"}


# TODO: write a dependency that reads the `token` query parameter and
#       returns the user's name, or refuses the connection with a
#       policy-violation code when the token is missing or unknown


@app.websocket("/ws")
async def whoami(websocket: WebSocket):
    user = "anonymous"  # TODO: get it from your dependency
    await websocket.accept()
    await websocket.send_text(f"hello {user}")
    try:
        while True:
            text = await websocket.receive_text()
            await websocket.send_text(f"{user}: {text}")
    except WebSocketDisconnect:
        pass
