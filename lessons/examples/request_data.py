from typing import Annotated

from fastapi import Cookie, FastAPI, Header, Query, WebSocket

app = FastAPI()


@app.websocket("/items/{item_id}")
async def item_feed(
    websocket: WebSocket,
    item_id: int,  # from the path, converted to int
    limit: Annotated[int, Query(ge=1, le=10)] = 3,  # ?limit=5
    user_agent: Annotated[str | None, Header()] = None,  # the User-Agent header
    x_team: Annotated[str | None, Header()] = None,  # X-Team: underscores become dashes
    session: Annotated[str | None, Cookie()] = None,  # Cookie: session=...
):
    await websocket.accept()
    await websocket.send_text(f"item {item_id} ({type(item_id).__name__}), limit {limit}")
    await websocket.send_text(f"team {x_team}, session {session}")
    await websocket.send_text(f"agent starts with {(user_agent or '')[:6]!r}")
    await websocket.close()
