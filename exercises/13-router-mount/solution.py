# wsquiz exercise: router-mount
from fastapi import APIRouter, FastAPI, WebSocket, WebSocketDisconnect

router = APIRouter(prefix="/api")


@router.websocket("/echo")
async def echo(websocket: WebSocket):
    await websocket.accept()
    try:
        while True:
            text = await websocket.receive_text()
            await websocket.send_text(f"echo: {text}")
    except WebSocketDisconnect:
        pass


@router.websocket("/upper")
async def upper(websocket: WebSocket):
    await websocket.accept()
    try:
        while True:
            text = await websocket.receive_text()
            await websocket.send_text(text.upper())
    except WebSocketDisconnect:
        pass


app = FastAPI()
app.include_router(router)
