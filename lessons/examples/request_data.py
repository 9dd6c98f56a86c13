from typing import Annotated

from fastapi import Cookie, FastAPI, Header, Query, WebSocket

app = FastAPI()


@app.websocket("/items/{item_id}")
async def item_feed(
    websocket: WebSocket,
    item_id: int,  # from the path, converted to int
    limit: Annotated[int, Query(ge=1, le=10)] = 3,  # ?limit=5
    # Header() reads the header the name says, underscores as dashes:
    user_agent: Annotated[str | None, Header()] = None,  # User-Agent
    x_team: Annotated[str | None, Header()] = None,  # X-Team
    session: Annotated[str | None, Cookie()] = None,  # session=...
):
    await websocket.accept()
    await websocket.send_text(
        f"item {item_id} ({type(item_id).__name__}), limit {limit}"
    )
    await websocket.send_text(f"team {x_team}, session {session}")
    agent = (user_agent or "")[:6]
    await websocket.send_text(f"agent starts with {agent!r}")
    await websocket.close()
