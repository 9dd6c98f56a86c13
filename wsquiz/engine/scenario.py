"""What clients do against an app: a scenario is an ordered list of steps.

In TOML a step is a small table with one action key, for example::

    scenario = [
      { connect = "/chat/r1", client = "alice" },
      { send = "hello", client = "alice" },
      { receive = 1, client = "alice" },
      { close = 1000, reason = "bye", client = "alice" },
    ]
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

ACTIONS = (
    "connect",
    "send",
    "send_bytes",
    "send_json",
    "receive",
    "receive_all",
    "close",
    "expect_close",
    "sleep",
)
DEFAULT_CLIENT = "client"
DEFAULT_TIMEOUT = 2.0


class Step(BaseModel):
    """One thing one client does. Exactly one action key is set."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    client: str = DEFAULT_CLIENT
    connect: str | None = Field(None, description="path, with query string, to connect to")
    headers: dict[str, str] = Field(default_factory=dict)
    subprotocols: list[str] = Field(default_factory=list)
    send: str | None = Field(None, description="a text frame")
    send_bytes: str | None = Field(None, description="a binary frame, given as UTF-8 text")
    send_json: Any = Field(None, description="a value sent as a JSON text frame")
    receive: int | None = Field(None, ge=1, description="how many messages to wait for")
    receive_all: bool | None = Field(None, description="receive until the server closes")
    close: int | None = Field(None, ge=1000, le=4999, description="close with this code")
    reason: str = ""
    expect_close: bool | None = Field(None, description="wait until the connection closes")
    sleep: float | None = Field(None, ge=0, le=10)
    timeout: float | None = Field(None, gt=0, le=60)

    @model_validator(mode="after")
    def _one_action(self) -> Step:
        given = [a for a in ACTIONS if getattr(self, a) is not None]
        if len(given) != 1:
            found = ", ".join(given) or "none"
            raise ValueError(
                f"a step needs exactly one action of {', '.join(ACTIONS)} (found: {found})"
            )
        return self

    @property
    def action(self) -> str:
        return next(a for a in ACTIONS if getattr(self, a) is not None)

    def payload(self) -> str | bytes:
        """The frame a send step sends."""
        if self.send is not None:
            return self.send
        if self.send_bytes is not None:
            return self.send_bytes.encode()
        return json.dumps(self.send_json)


class Scenario(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    steps: tuple[Step, ...]
    timeout: float = Field(DEFAULT_TIMEOUT, gt=0, le=60)

    @model_validator(mode="after")
    def _connect_first(self) -> Scenario:
        opened: set[str] = set()
        for index, step in enumerate(self.steps, 1):
            if step.connect is not None:
                opened.add(step.client)
            elif step.action != "sleep" and step.client not in opened:
                raise ValueError(
                    f"step {index} ({step.action}) uses client {step.client!r} "
                    "before it connects: add a connect step for it first"
                )
        return self

    @property
    def clients(self) -> list[str]:
        return list(dict.fromkeys(s.client for s in self.steps if s.connect is not None))

    @classmethod
    def from_steps(cls, steps: list[dict[str, Any]], timeout: float | None = None) -> Scenario:
        data: dict[str, Any] = {"steps": steps}
        if timeout is not None:
            data["timeout"] = timeout
        return cls.model_validate(data)

    @classmethod
    def probe(
        cls,
        path: str,
        sends: list[str],
        timeout: float,
        *,
        subprotocols: list[str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Scenario:
        """The scenario of `wsquiz probe`: connect, send each text, receive until closed."""
        connect: dict[str, Any] = {"connect": path}
        if subprotocols:
            connect["subprotocols"] = list(subprotocols)
        if headers:
            connect["headers"] = dict(headers)
        steps: list[dict[str, Any]] = [connect]
        steps += [{"send": text} for text in sends]
        steps.append({"receive_all": True})
        return cls.from_steps(steps, timeout=timeout)
