"""Shared helpers for the UI tests: apps built from the real fixtures, and waiting for them."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from rltui.ui.app import RltuiApp, UiOptions
from tests.ui._factory import SECONDS_PER_STEP, T0, make_run

#: "now" for deterministic header text: the explosion run's last point plus 5 minutes.
FROZEN_NOW = T0 + 800 * SECONDS_PER_STEP + 300


async def settle(pilot: Pilot[Any], until: Callable[[], bool] | None = None, timeout: float = 10.0) -> None:
    """Wait until the pump has answered every snapshot request with a ``SnapshotsReady`` that the
    app applied (and, optionally, for a condition), then let the screens' redraws run.

    It waits on the ``snapshots`` reactive changing (a watcher sets an event), not on a busy
    flag: each wake-up is a message the app handled.
    """
    app = pilot.app
    assert isinstance(app, RltuiApp)
    changed = asyncio.Event()
    app.watch(app, "snapshots", lambda: changed.set(), init=False)
    deadline = time.monotonic() + timeout
    while True:
        await pilot.pause()
        answered = app.loaded and app.served >= app.requested
        ready = answered and all(s is not None for s in app.snapshots)
        if ready and (until is None or until()):
            await pilot.pause()  # the redraws the last message caused
            return
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError("the app did not settle")
        changed.clear()
        # Conditions on things other than snapshots (a file an --on-alert command writes) are
        # looked at again after a short wait.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(changed.wait(), min(remaining, 0.1))


async def next_snapshots(pilot: Pilot[Any], timeout: float = 10.0) -> None:
    """Ask for fresh snapshots and wait for the ``SnapshotsReady`` that answers the request."""
    app = pilot.app
    assert isinstance(app, RltuiApp)
    number = app.request_snapshots()
    await settle(pilot, until=lambda: app.served >= number, timeout=timeout)


def dashboard_app(*runs: str, **options: object) -> RltuiApp:
    opts = UiOptions(follow=False, frozen_now=FROZEN_NOW, **options)  # type: ignore[arg-type]
    return RltuiApp([make_run(r) for r in runs], opts)


@pytest.fixture
def explosion_app() -> RltuiApp:
    return dashboard_app("dpo_margin_explosion")
