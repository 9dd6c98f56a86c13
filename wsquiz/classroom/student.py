"""The student's side of the classroom protocol, without a view: the host's address, the seat
tokens kept on this machine, and what a refusal or a failure to connect means and how to fix it.
The terminal that shows the class to the student is `wsquiz.ui.student`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from websockets.exceptions import ConnectionClosed, InvalidStatus

from wsquiz._support.files import write_atomic
from wsquiz.classroom.protocol import CLOSE_REMOVED, MAX_MESSAGE
from wsquiz.errors import UsageError, WsquizError

# Closes that mean "do not come back": the join was refused, or a limit was broken.
FINAL_CLOSES = {1003, 1008, 1009, 4001, 4002, CLOSE_REMOVED}
OPEN_TIMEOUT = 5.0
MAX_INCOMING = 4 * 1024 * 1024
MAX_SEND = MAX_MESSAGE
TOKENS_FILE = "classroom-tokens.json"


def endpoint(url: str, path: str) -> str:
    """`http://host:port` (what the host prints) -> `ws://host:port/<path>`."""
    text = url.strip()
    if "://" not in text:
        text = "http://" + text
    parts = urlsplit(text)
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme)
    if scheme is None or not parts.netloc:
        raise UsageError(
            f"{url!r} is not a classroom address",
            fix="give the address the host printed, e.g. http://192.168.1.20:8765",
        )
    try:
        parts.port  # noqa: B018 - read for its check: a port out of 0-65535 raises
    except ValueError:
        raise UsageError(
            f"{url!r} is not a classroom address: its port is not a number from 0 to 65535",
            fix="give the address the host printed, e.g. http://192.168.1.20:8765",
        ) from None
    return urlunsplit((scheme, parts.netloc, path, parts.query, ""))


class HostRefused(WsquizError):
    """The host closed the connection for good (bad code, name taken, a limit broken...)."""


def picks_letters(text: str, options: list[dict[str, Any]], letters: set[str]) -> bool:
    """Whether an answer names options of the question: by letter, or by an option's text."""
    from wsquiz.learn.judge import letters_of, normalise

    wanted = normalise(text).casefold().rstrip(".")
    if any(wanted == normalise(str(o["text"])).casefold().rstrip(".") for o in options):
        return True
    picked = letters_of(text)
    return picked is not None and picked <= letters


def _tokens_path() -> Path:
    from wsquiz._support.paths import data_home

    return data_home() / TOKENS_FILE


def token_key(code: str, name: str) -> str:
    """A seat's token is kept by what names the session, its join code (the same when the host
    resumes it), and the name: whatever address the student types, the seat is theirs."""
    return f"code {code.strip().upper()} {name}"


def _tokens() -> dict[str, Any]:
    try:
        data = json.loads(_tokens_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def load_token(code: str, name: str, address: str = "") -> str | None:
    """The token kept for this name in this session; `address`: as an older wsquiz kept it, by
    the exact address typed."""
    data = _tokens()
    for key in (token_key(code, name), f"{address} {name}" if address else ""):
        token = data.get(key)
        if isinstance(token, str):
            return token
    return None


def save_token(code: str, name: str, token: str) -> None:
    path = _tokens_path()
    data = _tokens()
    data[token_key(code, name)] = token
    with contextlib.suppress(OSError):
        write_atomic(path, json.dumps(data, indent=1), mode=0o600)  # tokens are secrets


def _split(url: str) -> Any:
    return urlsplit(url.strip() if "://" in url else "http://" + url.strip())


def has_port(url: str) -> bool:
    try:
        return _split(url).port is not None
    except ValueError:
        return False


def unreachable(url: str, name: str, exc: BaseException) -> UsageError:
    """The first connection failed: name the address, what went wrong, and the line to type."""
    parts = _split(url)
    secure = parts.scheme in ("https", "wss")
    port = parts.port if has_port(url) else None
    tried = port or (443 if secure else 80)
    if isinstance(exc, ConnectionRefusedError):
        why = f"nothing listens on port {tried}" + (
            "" if port else ", tried as the address has no port"
        )
    elif isinstance(exc, socket.gaierror):
        why = f"no such host {parts.hostname!r}"
    elif isinstance(exc, asyncio.TimeoutError):
        why = f"no answer within {OPEN_TIMEOUT:g}s"
    elif isinstance(exc, InvalidStatus):
        why = f"HTTP {exc.response.status_code} there: no wsquiz classroom"
    else:
        why = why_closed(exc)
    if port is None and not isinstance(exc, ConnectionRefusedError):
        why += f"; the address has no port, so port {tried} was tried"
    example = urlunsplit(
        (
            "https" if secure else "http",
            f"{parts.netloc or 'HOST'}" + ("" if port else ":8765"),
            "",
            "",
            "",
        )
    )
    return UsageError(
        f"cannot reach a classroom at {url} ({why})",
        fix=f"type the join line the host printed, e.g. `wsquiz classroom join {example} "
        f"--code CODE --name {name}`, and check that the teacher's host is running",
    )


def why_closed(exc: BaseException) -> str:
    if isinstance(exc, ConnectionClosed) and exc.rcvd is not None:
        return f"{exc.rcvd.code} {exc.rcvd.reason}".strip()
    return type(exc).__name__ if not str(exc) else str(exc)[:80]


def refusal_fix(code: int, reason: str = "", name: str = "", token: bool = False) -> str:
    """What to do about a refusal: 1008 covers several, told apart by the host's reason.

    `token`: whether this terminal offered a token for `name` (one kept from an earlier join).
    """
    from wsquiz.classroom.text import NAME_RULE

    if code == 1008:
        if "taken" in reason:
            if token:
                return (
                    f"pick a name no one else in this class uses: the token kept here for "
                    f"{name!r} is not the one the host holds for it"
                )
            return (
                f"pick a name no one else in this class uses: no token for {name!r} is kept on "
                "this machine (in the wsquiz data folder), so the host cannot tell the name is "
                "yours; if it is, rejoin from the terminal you joined with"
            )
        if "too many wrong join codes" in reason:
            return "wait a minute, then type the join code the teacher's host printed"
        if "join code" in reason:
            return "type the join code the teacher's host printed (6 characters, any case)"
        if "a name" in reason:
            return f"pick a name of {NAME_RULE}"
        if "too many messages" in reason:
            return "rejoin: answers are limited to a few a second"
    return {
        1008: "check the join code and your name, or ask the teacher",
        1009: "a message was too large for the host",
        4001: "you joined again from another terminal; use that one",
        4002: "ask the teacher for the new session's address and code",
        4003: "the teacher removed you from this class: ask them before joining again",
    }.get(code, "ask the teacher")
