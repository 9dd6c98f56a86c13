from fastapi import APIRouter, FastAPI, WebSocket

# In a bigger app this router lives in its own module, say app/chat.py.
router = APIRouter(prefix="/api/v1")


@router.websocket("/ws")
async def versioned(websocket: WebSocket):
    await websocket.accept()
    await websocket.send_text(f"you reached {websocket.url.path}")
    await websocket.close()


app = FastAPI()
app.include_router(router)
