from fastapi import FastAPI, WebSocket, status

app = FastAPI()


@app.websocket("/echo")
async def echo(websocket: WebSocket):
    await websocket.accept()
    async for text in websocket.iter_text():
        await websocket.send_text(f"Echo: {text}")


@app.websocket("/once")
async def once(websocket: WebSocket):
    await websocket.accept()
    await websocket.send_text("only one")
    # returns without close()


@app.websocket("/members")
async def members(websocket: WebSocket):
    # Closed before accept(): the handshake is refused.
    await websocket.close(code=status.WS_1008_POLICY_VIOLATION)


@app.websocket("/crash")
async def crash(websocket: WebSocket):
    await websocket.accept()
    raise ValueError("something broke")


# The tests: `pytest lessons/examples/under_test.py`. Starlette's
# TestClient needs an HTTP client package that FastAPI does not
# install; importing it without one says which to install.


def test_echo():
    from fastapi.testclient import TestClient

    with TestClient(app).websocket_connect("/echo") as ws:
        ws.send_text("hi")
        assert ws.receive_text() == "Echo: hi"


def test_refused_before_accept():
    import pytest
    from fastapi import WebSocketDisconnect
    from fastapi.testclient import TestClient

    with pytest.raises(WebSocketDisconnect) as refused:
        with TestClient(app).websocket_connect("/members"):
            pass
    assert refused.value.code == 1008  # live, the client sees HTTP 403


def test_crash_reaches_the_test():
    import pytest
    from fastapi.testclient import TestClient

    with pytest.raises(ValueError, match="something broke"):
        with TestClient(app).websocket_connect("/crash") as ws:
            ws.receive_text()  # live, the client sees a 1006 close
