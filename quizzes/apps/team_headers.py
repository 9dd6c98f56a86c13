from typing import Annotated

from fastapi import Cookie, FastAPI, Header, WebSocket

app = FastAPI()


@app.websocket("/ws")
async def websocket_endpoint(
    websocket: WebSocket,
    x_team: Annotated[str | None, Header()] = None,
    x_room: str | None = None,
    session: Annotated[str | None, Cookie()] = None,
):
    await websocket.accept()
    await websocket.send_text(f"team {x_team}, room {x_room}")
    await websocket.send_text(f"session {session}")
    await websocket.close()
