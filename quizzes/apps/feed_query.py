from typing import Annotated

from fastapi import FastAPI, Query, WebSocket

app = FastAPI()


@app.websocket("/feed")
async def websocket_endpoint(
    websocket: WebSocket,
    topic: str,
    limit: Annotated[int, Query(ge=1, le=10)] = 3,
):
    await websocket.accept()
    await websocket.send_text(f"{limit} latest posts about {topic}")
    await websocket.close()
