"""Shared helpers for the UI tests: apps built from the real fixtures, and waiting for them."""

from __future__ import annotations

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
    """Wait for worker threads, coalesced redraws and (optionally) a condition."""
    app = pilot.app
    deadline = time.monotonic() + timeout
    while True:
        await pilot.pause(0.05)
        # Not the file watcher: it runs until the app closes.
        busy = [w for w in app.workers if w.group != "watch"]
        if busy:  # an empty list would mean "all workers"
            await app.workers.wait_for_complete(busy)
        await pilot.pause(0.05)
        assert isinstance(app, RltuiApp)
        ready = all(s is not None for s in app.snapshots) and not app.busy
        if ready and (until is None or until()):
            return
        if time.monotonic() > deadline:
            raise AssertionError("the app did not settle")


def dashboard_app(*runs: str, **options: object) -> RltuiApp:
    opts = UiOptions(follow=False, frozen_now=FROZEN_NOW, **options)  # type: ignore[arg-type]
    return RltuiApp([make_run(r) for r in runs], opts)


@pytest.fixture
def explosion_app() -> RltuiApp:
    return dashboard_app("dpo_margin_explosion")
