from fastapi import FastAPI, WebSocket

app = FastAPI()
ROOMS = {"lobby": ["alice"]}


@app.websocket("/rooms/{name}")
async def websocket_endpoint(websocket: WebSocket, name: str):
    members = ROOMS[name]
    await websocket.accept()
    await websocket.send_text(f"{len(members)} member(s) in {name}")
    await websocket.close()
