from fastapi import FastAPI, WebSocket, status

app = FastAPI()
# Far below uvicorn's own limit (--ws-max-size, 16 MiB by default).
MAX_CHARS = 64


@app.websocket("/ws")
async def bounded(websocket: WebSocket):
    await websocket.accept()
    async for text in websocket.iter_text():
        if len(text) > MAX_CHARS:
            await websocket.close(
                code=status.WS_1009_MESSAGE_TOO_BIG,
                reason=f"over {MAX_CHARS} characters",
            )
            return
        await websocket.send_text(f"ok: {len(text)} characters")
