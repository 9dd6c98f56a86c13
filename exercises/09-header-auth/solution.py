# wsquiz exercise: header-auth
from typing import Annotated

from fastapi import (
    Depends,
    FastAPI,
    Header,
    WebSocket,
    WebSocketDisconnect,
    WebSocketException,
    status,
)

app = FastAPI()

API_KEYS = {"key-ada": "ada", "key-bob": "bob"}


async def api_user(
    x_api_key: Annotated[str | None, Header()] = None,
) -> str:
    if x_api_key not in API_KEYS:
        raise WebSocketException(
            code=status.WS_1008_POLICY_VIOLATION,
            reason="bad API key",
        )
    return API_KEYS[x_api_key]


@app.websocket("/ws")
async def shout(
    websocket: WebSocket, user: Annotated[str, Depends(api_user)]
):
    await websocket.accept()
    await websocket.send_text(f"hello {user}")
    try:
        while True:
            text = await websocket.receive_text()
            await websocket.send_text(f"{user}: {text.upper()}")
    except WebSocketDisconnect:
        pass
