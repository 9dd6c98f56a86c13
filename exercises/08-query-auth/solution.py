# wsquiz exercise: query-auth
from typing import Annotated

from fastapi import (
    Depends,
    FastAPI,
    Query,
    WebSocket,
    WebSocketDisconnect,
    WebSocketException,
    status,
)

app = FastAPI()

TOKENS = {"s3cret": "ada", "letmein": "bob"}


async def current_user(
    token: Annotated[str | None, Query()] = None,
) -> str:
    if token not in TOKENS:
        raise WebSocketException(
            code=status.WS_1008_POLICY_VIOLATION,
            reason="bad token",
        )
    return TOKENS[token]


@app.websocket("/ws")
async def whoami(
    websocket: WebSocket, user: Annotated[str, Depends(current_user)]
):
    await websocket.accept()
    await websocket.send_text(f"hello {user}")
    try:
        while True:
            text = await websocket.receive_text()
            await websocket.send_text(f"{user}: {text}")
    except WebSocketDisconnect:
        pass
