# wsquiz exercise: background-task
# Start slow jobs in the background and keep answering meanwhile.
# Check your work with: wsquiz check <this file>
# (add --watch to re-check on every save)
import asyncio

from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()

WORK_SECONDS = 0.3


async def work(websocket: WebSocket, job: str) -> None:
    # Stands for a slow job: a query, a download...
    await asyncio.sleep(WORK_SECONDS)
    await websocket.send_text(f"done {job}")


@app.websocket("/ws")
async def jobs(websocket: WebSocket):
    await websocket.accept()
    try:
        while True:
            text = await websocket.receive_text()
            if text == "ping":
                await websocket.send_text("pong")
            elif text.startswith("work "):
                job = text.removeprefix("work ")
                await websocket.send_text(f"started {job}")
                # TODO: run the job in the background, so that the loop
                #       goes on receiving
                await work(websocket, job)
            else:
                await websocket.send_text(f"unknown command: {text}")
    except WebSocketDisconnect:
        # Good manners, once your jobs run in the background: cancel
        # those still running.
        pass
