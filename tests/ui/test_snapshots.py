"""SVG snapshots of the dashboard on real fixture numbers (frozen clock, no animation)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.pilot import Pilot

from tests.ui.conftest import dashboard_app, settle


async def _ready(pilot: Pilot[object]) -> None:
    await settle(pilot)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_dashboard_explosion(snap_compare: Callable[..., bool], size: tuple[int, int]) -> None:
    assert snap_compare(dashboard_app("dpo_margin_explosion"), terminal_size=size, run_before=_ready)


def test_dashboard_grpo_ascii(snap_compare: Callable[..., bool]) -> None:
    app = dashboard_app("grpo_length_hacking", ascii_only=True)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_ready)


def test_compare_two_runs(snap_compare: Callable[..., bool]) -> None:
    app = dashboard_app("dpo_healthy", "dpo_margin_explosion")
    assert snap_compare(app, terminal_size=(160, 48), run_before=_ready)
