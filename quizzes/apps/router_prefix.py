from fastapi import APIRouter, FastAPI, WebSocket

router = APIRouter(prefix="/chat")


@router.websocket("/ws")
async def chat(websocket: WebSocket):
    await websocket.accept()
    await websocket.send_text(f"path {websocket.url.path}")
    await websocket.close()


app = FastAPI()
app.include_router(router, prefix="/api")
