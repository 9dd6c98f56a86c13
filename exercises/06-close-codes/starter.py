# wsquiz exercise: close-codes
# End the conversation on purpose, with the right code and reason.
# Check your work with: wsquiz check <this file>
# (add --watch to re-check on every save)
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()

FORBIDDEN = {"spam", "scam"}


@app.websocket("/ws")
async def moderated_echo(websocket: WebSocket):
    await websocket.accept()
    try:
        while True:
            text = await websocket.receive_text()
            # TODO: "quit" ends the conversation normally, with the
            #       reason "bye"
            # TODO: a message containing a FORBIDDEN word ends it as a
            #       policy violation, with the reason "forbidden word"
            await websocket.send_text(text)
    except WebSocketDisconnect:
        pass
