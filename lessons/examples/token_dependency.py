from typing import Annotated

from fastapi import (
    Cookie,
    Depends,
    FastAPI,
    Query,
    WebSocket,
    WebSocketDisconnect,
    WebSocketException,
    status,
)

app = FastAPI()
USERS = {"t-alice": "alice", "t-bob": "bob"}


async def current_user(
    token: Annotated[str | None, Query()] = None,
    session: Annotated[str | None, Cookie()] = None,
) -> str:
    user = USERS.get(token or session or "")
    if user is None:
        # Raised before accept(): the handshake is refused (HTTP 403).
        raise WebSocketException(
            code=status.WS_1008_POLICY_VIOLATION,
            reason="unknown token",
        )
    return user


@app.websocket("/ws")
async def greet(
    websocket: WebSocket, user: Annotated[str, Depends(current_user)]
):
    await websocket.accept()
    try:
        while True:
            text = await websocket.receive_text()
            if text == "admin":
                # Raised after accept(): the client gets a close frame
                # with this code.
                raise WebSocketException(
                    code=status.WS_1008_POLICY_VIOLATION,
                    reason="not for you",
                )
            await websocket.send_text(f"{user}: {text}")
    except WebSocketDisconnect:
        pass
