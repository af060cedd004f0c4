"""Hostile input through the real app (Textual's Pilot): markup in run names, ``--on-alert``
children, and ``q`` while a run folder holds special files."""

from __future__ import annotations

import ast
import contextlib
import os
import time
from pathlib import Path

from rltui import session
from rltui.ui.app import RltuiApp, UiOptions
from tests.hostile.conftest import REPO
from tests.ui.conftest import settle


def test_every_notify_call_turns_markup_off() -> None:
    """Walk every ``notify(...)`` in the UI: run text must never be read as markup."""
    missing = []
    for path in (REPO / "rltui" / "ui").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if node.func.attr == "notify":
                kw = {k.arg: k.value for k in node.keywords}
                value = kw.get("markup")
                if not (isinstance(value, ast.Constant) and value.value is False):
                    missing.append(f"{path.name}:{node.lineno}")
    assert missing == []


def _run(folder: Path, n: int = 5) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "m.jsonl").write_text("".join(f'{{"step": {s}, "loss": 1.0}}\n' for s in range(1, n + 1)))


async def test_new_run_named_with_markup_is_shown_verbatim(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    _run(sweep / "a")
    runs = session.open_sessions([str(sweep)])
    known = list(runs)

    def reopen() -> list[session.RunSession]:
        fresh = session.open_new_sessions([str(sweep)], known)
        known.extend(fresh)
        return fresh

    app = RltuiApp(
        list(runs), UiOptions(poll=True, poll_interval=0.1, reopen=reopen, watch_roots=(str(sweep),))
    )
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, until=lambda: app.snapshots[0] is not None)
        for name in ("x[/bold]y", "[b]bold[/b]"):
            _run(sweep / name)
        await settle(pilot, until=lambda: len(app.runs) == 3, timeout=20)
        texts = [str(n.message) for n in app._notifications]
        assert any("x[/bold]y" in t for t in texts), texts
        assert any("[b]bold[/b]" in t for t in texts), texts
        assert all(not n.markup for n in app._notifications)


async def test_on_alert_child_is_ended_when_the_app_quits(tmp_path: Path) -> None:
    fixture = REPO / "fixtures" / "runs" / "dpo_margin_explosion"
    runs = session.open_sessions([str(fixture)])
    runs[0].load()
    pidfile = tmp_path / "pid"
    cmd = f"echo $$ > {pidfile}; sleep 600"
    app = RltuiApp(runs, UiOptions(follow=False, on_alert=cmd, bell=False, notify=False))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, until=lambda: app.snapshots[0] is not None)
        snap = app.snapshots[0]
        assert snap is not None
        alert = next(a for a in snap.alerts if a.severity != "info")
        app._announce(snap, alert)
        deadline = time.monotonic() + 10
        while not (pidfile.exists() and pidfile.read_text().strip()) and time.monotonic() < deadline:
            await pilot.pause(0.1)
        pid = int(pidfile.read_text())
        os.kill(pid, 0)  # running
        await pilot.press("q")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        with contextlib.suppress(ChildProcessError):  # reap it if it is our own zombie child
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.1)
    else:
        raise AssertionError(f"--on-alert child {pid} outlived the app")


async def test_q_quits_with_fifos_in_the_run(tmp_path: Path) -> None:
    run = tmp_path / "run"
    _run(run)
    os.mkfifo(run / "README.md")
    os.mkfifo(run / "train.log")
    runs = session.open_sessions([str(run)])
    app = RltuiApp(list(runs), UiOptions(poll=True, poll_interval=0.1))
    t0 = time.monotonic()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, until=lambda: app.snapshots[0] is not None, timeout=10)
        assert app.snapshots[0] is not None
        assert app.snapshots[0].step == 5
        await pilot.press("q")
    assert time.monotonic() - t0 < 15
