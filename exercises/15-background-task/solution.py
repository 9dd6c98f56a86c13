# wsquiz exercise: background-task
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
    running: set[asyncio.Task[None]] = set()
    try:
        while True:
            text = await websocket.receive_text()
            if text == "ping":
                await websocket.send_text("pong")
            elif text.startswith("work "):
                job = text.removeprefix("work ")
                await websocket.send_text(f"started {job}")
                task = asyncio.create_task(work(websocket, job))
                # Keep a reference, or the task may vanish mid-job.
                running.add(task)
                task.add_done_callback(running.discard)
            else:
                await websocket.send_text(f"unknown command: {text}")
    except WebSocketDisconnect:
        # Nobody is listening any more: stop the jobs.
        for task in running:
            task.cancel()
