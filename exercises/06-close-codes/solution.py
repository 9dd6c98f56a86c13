# wsquiz exercise: close-codes
from fastapi import FastAPI, WebSocket, WebSocketDisconnect, status

app = FastAPI()

FORBIDDEN = {"spam", "scam"}


@app.websocket("/ws")
async def moderated_echo(websocket: WebSocket):
    await websocket.accept()
    try:
        while True:
            text = await websocket.receive_text()
            if text == "quit":
                await websocket.close(
                    code=status.WS_1000_NORMAL_CLOSURE, reason="bye"
                )
                return
            if any(word in FORBIDDEN for word in text.lower().split()):
                await websocket.close(
                    code=status.WS_1008_POLICY_VIOLATION,
                    reason="forbidden word",
                )
                return
            await websocket.send_text(text)
    except WebSocketDisconnect:
        pass
