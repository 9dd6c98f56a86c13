# wsquiz exercise: cookie-session
from typing import Annotated

from fastapi import (
    Cookie,
    FastAPI,
    WebSocket,
    WebSocketDisconnect,
    WebSocketException,
    status,
)

app = FastAPI()

SESSIONS = {"abc123": "ada", "def456": "bob"}


@app.websocket("/ws")
async def session_echo(
    websocket: WebSocket,
    session: Annotated[str | None, Cookie()] = None,
):
    await websocket.accept()
    user = SESSIONS.get(session or "")
    if user is None:
        await websocket.send_text("please log in")
        # after accept(), the exception becomes a close frame the
        # client can read
        raise WebSocketException(
            code=status.WS_1008_POLICY_VIOLATION,
            reason="no session",
        )
    await websocket.send_text(f"welcome back {user}")
    try:
        while True:
            text = await websocket.receive_text()
            await websocket.send_text(f"{user}: {text}")
    except WebSocketDisconnect:
        pass
