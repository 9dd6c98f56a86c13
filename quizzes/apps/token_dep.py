from typing import Annotated

from fastapi import (
    Depends,
    FastAPI,
    WebSocket,
    WebSocketDisconnect,
    WebSocketException,
    status,
)

app = FastAPI()
USERS = {"t-alice": "alice"}


async def current_user(token: str = "") -> str:
    if token not in USERS:
        raise WebSocketException(
            code=status.WS_1008_POLICY_VIOLATION,
            reason="unknown token",
        )
    return USERS[token]


@app.websocket("/ws")
async def websocket_endpoint(
    websocket: WebSocket, user: Annotated[str, Depends(current_user)]
):
    await websocket.accept()
    try:
        while True:
            text = await websocket.receive_text()
            if text == "admin":
                raise WebSocketException(
                    code=status.WS_1008_POLICY_VIOLATION,
                    reason="admins only",
                )
            await websocket.send_text(f"{user}: {text}")
    except WebSocketDisconnect:
        pass
