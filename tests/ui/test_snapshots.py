"""SVG snapshots of the dashboard on real fixture runs, read by the real session and judged by the
real engine (``rltui.session.open_sessions`` + ``load()``), at 80x24 and 160x48 (issue 4).

The clock is frozen five minutes after each run's last point, so "finished"/"stale" and every
other text is deterministic; nothing animates (no replay, no follow).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from rltui.session import open_sessions
from rltui.ui.app import RltuiApp, UiOptions
from tests.ui._factory import RUNS
from tests.ui.conftest import settle


def session_app(*runs: str, **options: object) -> RltuiApp:
    sessions = open_sessions([str(RUNS / r) for r in runs])
    for s in sessions:
        s.load()
    last = max((s.snapshot().last_wall_time or 0.0) for s in sessions)
    opts = UiOptions(follow=False, frozen_now=last + 300, **options)  # type: ignore[arg-type]
    return RltuiApp(list(sessions), opts)


async def _ready(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.pause(0.2)  # the gauges re-share the body once banners are laid out
    await settle(pilot)


SIZES = pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])


@SIZES
def test_dashboard_dpo_margin_explosion(snap_compare: Callable[..., bool], size: tuple[int, int]) -> None:
    assert snap_compare(session_app("dpo_margin_explosion"), terminal_size=size, run_before=_ready)


@SIZES
def test_dashboard_grpo_length_hacking(snap_compare: Callable[..., bool], size: tuple[int, int]) -> None:
    assert snap_compare(session_app("grpo_length_hacking"), terminal_size=size, run_before=_ready)


def test_dashboard_ascii_80x24(snap_compare: Callable[..., bool]) -> None:
    app = session_app("grpo_length_hacking", ascii_only=True)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_ready)


def test_compare_two_runs(snap_compare: Callable[..., bool]) -> None:
    app = session_app("dpo_healthy", "dpo_margin_explosion")
    assert snap_compare(app, terminal_size=(160, 48), run_before=_ready)


def test_alerts_screen(snap_compare: Callable[..., bool]) -> None:
    async def open_alerts(pilot: Pilot[Any]) -> None:
        await _ready(pilot)
        await pilot.press("a")
        await pilot.pause(0.2)

    app = session_app("dpo_margin_explosion")
    assert snap_compare(app, terminal_size=(80, 24), run_before=open_alerts)
