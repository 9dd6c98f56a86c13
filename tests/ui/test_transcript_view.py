"""The transcript as a learner reads it: every client's events in time order, a close the client
starts shown when it is sent, what the client offered in its handshake; and the check report and
the options' evidence laid out for the terminal's width."""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from tests.support import ROOT, flat
from wsquiz.cli import app
from wsquiz.course.exercises import Exercise, load_exercises
from wsquiz.course.quizzes import Question, load_quizzes
from wsquiz.engine.appfile import AppSpec
from wsquiz.engine.lab import Lab
from wsquiz.engine.scenario import Scenario
from wsquiz.learn.judge import judge, observe_question
from wsquiz.ui.quiz import verdict_view
from wsquiz.ui.transcript import transcript_view

APPS = ROOT / "quizzes" / "apps"
runner = CliRunner()


def rendered(renderable: object, width: int = 100) -> str:
    console = Console(width=width, no_color=True, file=io.StringIO())
    console.print(renderable)
    assert isinstance(console.file, io.StringIO)
    return console.file.getvalue()


def exercise(name: str) -> Exercise:
    return next(e for e in load_exercises(ROOT) if e.name == name)


def starter_copy(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.py"
    shutil.copy(exercise(name).starter, path)
    return path


def panel_rows(out: str, title: str) -> list[str]:
    """The transcript rows of the panel titled `title`: what is between its side borders."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if title in line and "╭" in line)
    rows = []
    for line in lines[start + 1 :]:
        if line.lstrip().startswith("╰") or not line.strip().strip("│").strip():
            break  # the panel's end, or the blank line before the server's own notes
        rows.append(line.strip().strip("│"))
    return rows


def row_of(rows: list[str], text: str) -> int:
    return next(i for i, row in enumerate(rows) if text in row)


# ---- time order -----------------------------------------------------------------------------

LEAVES_FIRST = Scenario.from_steps(
    [
        {"connect": "/chat", "client": "alice"},
        {"connect": "/chat", "client": "bob"},
        {"connect": "/chat", "client": "carol"},
        {"close": 1000, "client": "bob"},
        {"sleep": 0.1},
        {"send": "hi", "client": "alice"},
        {"receive": 1, "client": "alice"},
        {"expect_close": True, "client": "alice"},
    ]
)


def test_the_quiz_lists_every_clients_events_in_time_order() -> None:
    """rooms 2/7: bob leaves first. His close is a client action at the moment he sends it,
    before alice's message, and its outcome comes when the close completes: not all the closes
    at the end, stamped when they finished."""
    result = runner.invoke(app, ["quiz", "rooms", "--no-save"], input="s\n\n1006\nq\n")
    assert result.exit_code == 0, result.output
    rows = panel_rows(result.stdout, "live check: room_no_cleanup.py")
    times = [float(m.group(1)) for row in rows if (m := re.match(r"\s*(\d+\.\d)\s", row))]
    assert len(times) == 10  # 3 connects, 3 frames, bob's close and 3 ends: a row each
    assert times == sorted(times), "\n".join(rows)
    bob_closes = row_of(rows, "bob: close 1000")
    assert bob_closes < row_of(rows, "bob: closed 1000 normal") < row_of(rows, "alice: > hi")
    assert row_of(rows, "alice: > hi") < row_of(rows, "alice: closed 1006 abnormal")
    header = rows[0]
    server_column = header.index("server")
    assert rows[bob_closes].index("bob: close 1000") < server_column  # the client's side
    outcome = rows[row_of(rows, "bob: closed 1000")]
    assert outcome.index("bob: closed") >= server_column  # the server's answer completes it
    # carol's connection was left open: wsquiz closes it once the scenario is over
    assert "carol: close 1000 (the scenario is over)" in rows[-2], "\n".join(rows)


def test_the_json_says_when_each_client_connected_and_sent_its_close(lab: Lab) -> None:
    seen = lab.observe(AppSpec.parse(APPS / "room_no_cleanup.py"), LEAVES_FIRST).to_dict()
    clients = {c["name"]: c for c in seen["clients"]}
    alice, bob, carol = clients["alice"], clients["bob"], clients["carol"]
    assert alice["connect_at_ms"] < bob["connect_at_ms"] < carol["connect_at_ms"]
    hi = next(f for f in seen["frames"] if f["client"] == "alice" and f["direction"] == "sent")
    sent = bob["close_sent"]
    assert (sent["code"], sent["reason"], sent["cause"]) == (1000, "", "step")
    assert bob["connect_at_ms"] < sent["at_ms"] <= bob["close"]["at_ms"] < hi["at_ms"]
    assert alice["close_sent"] is None and alice["close"]["code"] == 1006  # she sent none
    assert carol["close_sent"]["cause"] == "end" and carol["close_sent"]["code"] == 1000
    assert carol["close_sent"]["at_ms"] > hi["at_ms"]
    for client in (alice, bob, carol):  # nothing changed in what was there before
        assert {"name", "path", "handshake", "sent", "received", "close", "truncated"} <= set(
            client
        )


def test_a_close_the_server_started_is_not_shown_as_the_clients() -> None:
    """The server closes first: the client's close only answers it, so it sent none first."""
    result = runner.invoke(
        app, ["probe", str(APPS / "receive_after_close.py"), "-s", "a", "--json"]
    )
    assert result.exit_code == 0, result.output
    (client,) = json.loads(result.stdout)["clients"]
    assert client["close"]["by"] == "server" and client["close_sent"] is None

    shown = runner.invoke(app, ["probe", str(APPS / "receive_after_close.py"), "-s", "a"])
    assert "closed 1000 normal (server closed)" in shown.stdout
    assert not re.search(r"\bclose 1000\b", shown.stdout)


def test_a_connection_left_open_is_closed_by_the_client_when_the_probe_ends() -> None:
    args = ["probe", str(APPS / "echo_loop.py"), "-s", "hi", "--timeout", "0.3"]
    data = json.loads(runner.invoke(app, [*args, "--json"]).stdout)
    (client,) = data["clients"]
    assert client["close_sent"]["cause"] == "end"
    assert client["close_sent"]["at_ms"] > data["frames"][-1]["at_ms"]
    rows = panel_rows(runner.invoke(app, args).stdout, "probe echo_loop.py")
    assert row_of(rows, "< Echo: hi") < row_of(rows, "close 1000 (the scenario is over)")
    assert row_of(rows, "close 1000 (the scenario") < row_of(rows, "closed 1000 normal")


# ---- what the client offered ----------------------------------------------------------------


def test_the_offered_subprotocols_and_headers_are_in_the_view_and_the_json(lab: Lab) -> None:
    scenario = Scenario.from_steps(
        [
            {
                "connect": "/ws",
                "subprotocols": ["chat.v1", "chat.v2"],
                "headers": {"X-Team": "blue", "Authorization": "Bearer " + "x" * 80},
            },
            {"receive_all": True},
        ]
    )
    seen = lab.observe(AppSpec.parse(APPS / "proto_pick.py"), scenario)
    (client,) = seen.to_dict()["clients"]
    assert client["offered"] == {
        "subprotocols": ["chat.v1", "chat.v2"],
        "headers": {"X-Team": "blue", "Authorization": "Bearer " + "x" * 80},
    }
    assert client["handshake"]["subprotocol"] == "chat.v2"
    out = rendered(transcript_view(seen, title="t"), width=160)
    rows = panel_rows(out, "t")
    connect = row_of(rows, "connect /ws")
    assert "101 accepted (subprotocol chat.v2)" in rows[connect]
    assert "subprotocols: chat.v1, chat.v2" in rows[connect + 1]
    assert "headers: X-Team: blue" in rows[connect + 2]
    assert "         Authorization: Bearer xxx" in rows[connect + 3]
    assert "x" * 80 not in out and "…" in out  # a long value is cut in the view, whole in JSON
    assert "Sec-WebSocket" not in out and "Host" not in out  # the library's own headers

    plain = lab.observe(AppSpec.parse(APPS / "proto_pick.py"), Scenario.probe("/ws", [], 1.0))
    (client,) = plain.to_dict()["clients"]
    assert client["offered"] == {"subprotocols": [], "headers": {}}
    assert "subprotocols" not in rendered(transcript_view(plain, title="t"))


def test_a_check_shows_the_offer_its_question_is_about(tmp_path: Path) -> None:
    """subprotocol-auth's token-first is about the order of the offer: the report shows it,
    on the connect row and in the JSON, as the check's scenario made it."""
    mine = starter_copy(tmp_path, "subprotocol-auth")
    checks = {c.name: c for c in exercise("subprotocol-auth").checks}
    offered = checks["token-first"].scenario.steps[0].subprotocols
    assert len(offered) > 1

    data = json.loads(runner.invoke(app, ["check", str(mine), "--json"]).stdout)
    result = next(c for c in data["checks"] if c["name"] == "token-first")
    assert result["transcript"]["clients"][0]["offered"]["subprotocols"] == offered

    shown = runner.invoke(app, ["check", str(mine)], env={"COLUMNS": "120"})
    rows = panel_rows(shown.stdout, "your server: token-first")
    connect = row_of(rows, "connect /ws")
    assert f"subprotocols: {', '.join(offered)}" in rows[connect + 1]


def test_a_check_shows_the_headers_the_scenario_set(tmp_path: Path) -> None:
    mine = starter_copy(tmp_path, "header-auth")
    check = next(c for c in exercise("header-auth").checks if c.scenario.steps[0].headers)
    headers = check.scenario.steps[0].headers
    shown = runner.invoke(app, ["check", str(mine)], env={"COLUMNS": "160"})
    rows = panel_rows(shown.stdout, f"your server: {check.name}")
    connect = row_of(rows, "connect ")
    for index, (name, value) in enumerate(headers.items()):
        lead = "headers: " if index == 0 else " " * 9
        assert f"{lead}{name}: {value}" in rows[connect + 1 + index]


# ---- widths ---------------------------------------------------------------------------------


def test_the_check_report_at_50_columns_keeps_each_description_readable(tmp_path: Path) -> None:
    mine = starter_copy(tmp_path, "subprotocol-auth")
    result = runner.invoke(app, ["check", str(mine)], env={"COLUMNS": "50"})
    assert result.exit_code == 1, result.output
    out = result.stdout
    assert max(len(line) for line in out.splitlines()) <= 50
    for check in exercise("subprotocol-auth").checks:
        line = next(line for line in out.splitlines() if f"failed  {check.name}" in line)
        assert f"0/{check.points:g}" in line
        assert " ".join(check.description.split()) in flat(out), check.name
    # no column squeezed to a word per line: no word cut short, no run of one-word lines
    assert "…" not in out
    words = [line.split() for line in out.splitlines()]
    runs = [i for i in range(len(words) - 2) if all(len(w) == 1 for w in words[i : i + 3])]
    assert runs == []


def test_the_check_report_keeps_the_description_beside_the_name_when_it_fits(
    tmp_path: Path,
) -> None:
    mine = starter_copy(tmp_path, "subprotocol-auth")
    out = runner.invoke(app, ["check", str(mine)], env={"COLUMNS": "200"}).stdout
    for check in exercise("subprotocol-auth").checks:
        assert any(check.name in line and check.description in line for line in out.splitlines()), (
            check.name
        )


def _choice(quiz: str, qid: str) -> Question:
    questions = (q for found in load_quizzes(ROOT)[0] for q in found.questions)
    return next(q for q in questions if q.quiz == quiz and q.id == qid)


def test_each_option_shows_the_evidence_that_decides_it(lab: Lab) -> None:
    """closing 7/11: each option is its own app, and what decides it is the close code, not
    the handshake (101 for all four)."""
    question = _choice("closing", "report-internal-error")
    observation = observe_question(question, lab)
    verdict = judge(question, "A", observation)
    out = rendered(verdict_view(question, verdict, observation, "A"), width=110)
    evidence = {"A": "1006", "B": "1011", "C": "1011", "D": "1006"}
    for option in question.options:
        line = next(line for line in out.splitlines() if f"{option.letter}) {option.text}" in line)
        assert f"close_code = {evidence[option.letter]}" in line, line
        assert "handshake 101" not in line


def test_the_options_table_gives_the_option_text_the_room(lab: Lab) -> None:
    """At 110 columns an option's text is not wrapped into half the width; at 50 its evidence
    goes under it."""
    question = _choice("closing", "close-going-away")
    observation = observe_question(question, lab)
    verdict = judge(question, "A", observation)
    wide = rendered(verdict_view(question, verdict, observation, "A"), width=110)
    for option in question.options:
        assert f"{option.letter}) {option.text}" in wide
    narrow = rendered(verdict_view(question, verdict, observation, "A"), width=50)
    lines = narrow.splitlines()
    first = next(i for i, line in enumerate(lines) if "A) " + question.options[0].text[:20] in line)
    assert "closed_by = server" in lines[first + 1]
    assert max(len(line) for line in lines) <= 50
