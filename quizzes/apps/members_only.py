from fastapi import FastAPI, WebSocket, status

app = FastAPI()


@app.websocket("/members")
async def members(websocket: WebSocket, name: str = ""):
    if name != "alice":
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION)
        return
    await websocket.accept()
    await websocket.send_text("hello alice")
    await websocket.close()
