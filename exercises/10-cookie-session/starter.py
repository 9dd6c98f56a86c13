# wsquiz exercise: cookie-session
# Greet logged-in users by name, turn the others away politely.
# Check your work with: wsquiz check <this file>
# (add --watch to re-check on every save)
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()

SESSIONS = {"abc123": "ada", "def456": "bob"}


@app.websocket("/ws")
async def session_echo(websocket: WebSocket):  # TODO: `session` cookie
    await websocket.accept()
    user = "anonymous"  # TODO: look the session up in SESSIONS
    # TODO: without a valid session: say "please log in", then close
    #       the connection with a policy-violation code and the
    #       reason "no session"
    await websocket.send_text(f"welcome back {user}")
    try:
        while True:
            text = await websocket.receive_text()
            await websocket.send_text(f"{user}: {text}")
    except WebSocketDisconnect:
        pass
