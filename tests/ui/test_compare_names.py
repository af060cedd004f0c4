"""Issue 12, point 6: compare tells runs apart, lists every one, and keeps throughput's units."""

from __future__ import annotations

from rltui.ui.names import distinct_names
from rltui.ui.screens.sweep import SweepScreen
from rltui.ui.widgets.gauge import Gauge
from tests.ui._text import screen_text
from tests.ui.conftest import settle
from tests.ui.test_snapshots import session_app

ALL_RUNS = (
    "dpo_healthy",
    "dpo_margin_explosion",
    "dpo_healthy_tf4",
    "grpo_healthy",
    "grpo_length_hacking",
    "sft_healthy",
)


def test_distinct_names_keep_the_part_that_differs() -> None:
    paths = [
        "fixtures/runs/dpo_healthy",
        "fixtures/runs/dpo_margin_explosion",
        "fixtures/runs/dpo_healthy_tf4",
    ]
    assert distinct_names(paths) == ["healthy", "margin_explosion", "healthy_tf4"]
    # A shared tail goes by whole path components only: "-4" is part of the value.
    assert distinct_names(["sweep/lr1e-4/seed0", "sweep/lr3e-4/seed0"]) == ["lr1e-4", "lr3e-4"]
    assert distinct_names(["x/out", "y/out"]) == ["x", "y"]
    # Nothing to strip, one run, or identical names: unchanged.
    assert distinct_names(["abc", "abd"]) == ["abc", "abd"]
    assert distinct_names(["fixtures/runs/a"]) == ["fixtures/runs/a"]
    assert distinct_names(["same", "same"]) == ["same", "same"]


async def test_compare_header_lists_every_run_or_says_how_many_more() -> None:
    app = session_app(*ALL_RUNS)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        # Six runs open on the sweep overview (test_sweep_overview.py); Escape: all of them in
        # one dashboard, whose header is what this test reads.
        assert isinstance(app.screen, SweepScreen)
        await pilot.press("escape")
        await pilot.pause(0.2)
        text = screen_text(app)
        header = text.split("\n")[:6]
        listed = [r for r in ALL_RUNS if any(line.split()[:1] == [r] for line in header)]
        more = [line for line in header if line.strip().startswith("+")]
        assert len(more) == 1
        hidden = [r for r in ALL_RUNS if r not in listed]
        assert more[0].strip().startswith(f"+{len(hidden)} more: ")
        for r in hidden:
            assert r in more[0]
        assert "worst CRIT" in more[0]  # grpo_length_hacking, hidden, is critical


async def test_compare_gauges_keep_throughput_units_and_whole_names() -> None:
    app = session_app("dpo_healthy", "dpo_margin_explosion")
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.pause(0.2)
        gauge = next(g for g in app.screen.query(Gauge) if g.instrument_id == "throughput")
        lines = gauge.render().plain.split("\n")[1:]
        assert len(lines) == 2
        # The part that tells them apart, whole: not "dpo_margin_explos…".
        for run, line in zip(("healthy", "margin_explosion"), lines, strict=True):
            assert line.startswith(run + " ")
            reading = dict(gauge.rows)[run]
            assert reading is not None
            assert reading.unit
            assert reading.unit in line  # "8,311 tok/s", not "8,311"
