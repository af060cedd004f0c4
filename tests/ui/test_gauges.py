"""Gauges: a raw-metric gauge's status follows the alerts about its metric; gauges grow with the
terminal, skip unchanged redraws, print the value once and wrap the summary by words."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import replace

from rltui.model.snapshot import Alert
from rltui.ui.runs import fallback_readings
from rltui.ui.widgets.gauge import COMPACT_HEIGHT, Gauge
from tests.ui._factory import make_run
from tests.ui.conftest import dashboard_app, settle
from tests.ui.test_snapshots import session_app


def test_raw_metric_gauge_is_not_ok_while_an_alert_is_about_its_metric() -> None:
    run = make_run("dpo_healthy")
    snap = run.snapshot()
    metric = "loss"
    nonfinite = Alert(
        id="nonfinite",
        severity="critical",
        first_step=1,
        last_step=9,
        active=True,
        message="m",
        cause="c",
        action="a",
        metric=metric,
    )
    cleared = replace(nonfinite, active=False, metric="grad_norm")
    # An info alert names a metric only as where to chart it (instrument_missing names loss).
    info = replace(nonfinite, id="instrument_missing", severity="info", metric="learning_rate")
    alerts = (nonfinite, cleared, info)
    readings = {r.primary: r for r in fallback_readings(replace(snap, alerts=alerts), run)}
    assert readings[metric].status == "critical"
    assert readings["grad_norm"].status == "ok"  # a cleared alert does not count
    assert readings["learning_rate"].status == "ok"


async def test_gauges_grow_with_the_terminal_and_skip_unchanged_redraws() -> None:
    small, big = dashboard_app("dpo_margin_explosion"), dashboard_app("dpo_margin_explosion")
    async with small.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.pause(0.2)
        compact = max(g.target_height for g in small.screen.query(Gauge))
        assert compact <= COMPACT_HEIGHT + 1
    async with big.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.pause(0.2)
        gauges = list(big.screen.query(Gauge))
        assert min(g.target_height for g in gauges) > compact
        assert min(g.region.height for g in gauges) > COMPACT_HEIGHT
        before = [g.renders for g in gauges]
        big.set_snapshots(list(big.snapshots))  # same readings: nothing to repaint
        await settle(pilot)
        assert [g.renders for g in gauges] == before
        reading = gauges[0].rows[0][1]
        assert reading is not None
        changed = dataclasses.replace(reading, value=123.0)
        assert gauges[0].update_rows([(None, changed)])
        await settle(pilot)
        assert gauges[0].renders == before[0] + 1
        assert [g.renders for g in gauges[1:]] == before[1:]


async def test_gauge_prints_the_value_once_and_wraps_the_summary() -> None:
    app = session_app("dpo_margin_explosion")
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.pause(0.2)
        for g in app.screen.query(Gauge):
            reading = g.rows[0][1]
            assert reading is not None
            lines = g.render().plain.split("\n")
            assert lines[0].rstrip().endswith(("OK", "INFO", "WARN", "CRIT"))
            assert len(lines) == g.target_height
            summary_words = set(reading.summary.split()) | set(reading.hint.split()) | {"·"}
            # The last rows are the sparkline (its scale labels) and the step axis, not words.
            for line in lines[2 : len(lines) - g.chart_rows]:
                if re.search(r"[A-Za-z0-9]", line):  # a words line, not a sparkline row
                    assert set(line.removesuffix("…").split()) <= summary_words
