"""Info alerts stay off the banners, the alerts list, gauge layout, and the repaint economy,
on the real session + engine where it matters (real fixture runs)."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from rich.text import Text
from textual.widgets import Static

from rltui.model.snapshot import Alert, InstrumentReading, Trace
from rltui.ui.app import RltuiApp
from rltui.ui.chart_spec import spec_for_instrument
from rltui.ui.glyphs import block_chart, sparkline, wrap_words
from rltui.ui.screens.alerts import AlertsScreen
from rltui.ui.screens.dashboard import DashboardScreen
from rltui.ui.screens.detail import DetailScreen
from rltui.ui.widgets.banner import AlertBanner, AlertRow
from rltui.ui.widgets.gauge import COMPACT_HEIGHT, Gauge
from tests.ui._text import screen_text
from tests.ui.conftest import dashboard_app, settle
from tests.ui.test_snapshots import session_app


async def test_info_alerts_get_no_banner_but_a_count_in_the_header() -> None:
    app = session_app("dpo_margin_explosion")
    snap = app.runs[0].snapshot()
    active = [a for a in snap.alerts if a.active]
    loud = {a.id for a in active if a.severity in ("warn", "critical")}
    infos = [a for a in active if a.severity == "info"]
    assert loud
    assert infos
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        shown = {b.alert.id for b in app.screen.query(AlertBanner)}
        assert shown == loud
        text = screen_text(app)
        newest = max(infos, key=lambda a: (a.first_step, a.id))
        assert f"{len(infos)} info (newest {newest.id})" in text
        assert f"{len(loud)} alerts" in text


async def test_alerts_screen_lists_active_and_cleared_and_charts_one() -> None:
    app = session_app("grpo_length_hacking")
    snap = app.runs[0].snapshot()
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await pilot.pause(0.2)
        screen = app.screen
        assert isinstance(screen, AlertsScreen)
        rows = list(screen.query(AlertRow))
        assert len(rows) == len(snap.alerts)
        assert sorted(r.alert.id for r in rows) == sorted(a.id for a in snap.alerts)
        cleared = [r for r in rows if not r.alert.active]
        assert cleared
        assert all("cleared" in r.render().plain for r in cleared)
        assert all(r.alert.active for r in rows[: len(rows) - len(cleared)])  # active ones first
        target = next(i for i, r in enumerate(rows) if r.alert.metric and r.alert.severity == "info")
        await pilot.press(*["j"] * target)
        assert screen.focused is rows[target]
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert isinstance(app.screen, DetailScreen)
        assert app.screen.spec.series[0].metric == rows[target].alert.metric
        assert app.screen.spec.alerts == (rows[target].alert,)
        await pilot.press("escape", "escape")
        assert isinstance(app.screen, DashboardScreen)


def _alert(aid: str, severity: str, metric: str | None) -> Alert:
    return Alert(aid, severity, 5, 9, True, "m", "c", "a", metric=metric, instrument="loss")  # type: ignore[arg-type]


def test_chart_marks_only_warn_and_critical_alerts_of_its_metrics() -> None:
    steps = np.arange(10)
    reading = InstrumentReading(
        "loss", "Loss", "warn", primary="loss", traces=(Trace("loss", steps, steps.astype(np.float64)),)
    )
    alerts = (
        _alert("anomaly_marker", "info", "loss"),
        _alert("loss_spike", "warn", "loss"),
        _alert("nonfinite", "critical", None),
        _alert("other_metric", "critical", "grad_norm"),
    )
    spec = spec_for_instrument("Loss", [(0, None, reading)], alerts)
    assert spec is not None
    assert [a.id for a in spec.alerts] == ["loss_spike", "nonfinite"]


@given(
    st.lists(st.from_regex(r"[a-z0-9.e\-]{1,12}", fullmatch=True), min_size=1, max_size=30),
    st.integers(14, 60),
)
def test_wrap_words_never_cuts_a_word(words: list[str], width: int) -> None:
    text = " ".join(words)
    for max_lines in (1, 2, 3):
        lines = wrap_words(text, width, max_lines)
        assert 1 <= len(lines) <= max_lines
        for line in lines:
            assert len(line) <= width
            for token in line.removesuffix("…").split():
                assert token in words
        if len(" ".join(lines).split()) < len(words):
            assert lines[-1].endswith("…")


def test_block_chart_rows_stack_to_the_one_row_sparkline() -> None:
    values = np.concatenate([np.linspace(0.0, 1.0, 30), [50.0], np.zeros(5)])
    one = block_chart(values, 36, 1)
    assert one == [sparkline(values, 36)]
    rows = block_chart(values, 36, 4)
    assert len(rows) == 4
    assert all(len(r) == 36 for r in rows)
    spike = 30
    assert all(r[spike] == "█" for r in rows)  # the spike fills every row
    assert rows[-1][0] != " "
    assert all(r[0] == " " for r in rows[:-1])


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


async def test_clock_tick_repaints_the_header_only_when_its_text_changes(explosion_app: RltuiApp) -> None:
    async with explosion_app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = explosion_app.screen
        assert isinstance(screen, DashboardScreen)
        header = screen.query_one("#header", Static)
        calls: list[object] = []
        original = header.update

        def counting_update(*a: object, **k: object) -> None:
            calls.append(a)
            original(*a, **k)  # type: ignore[arg-type]

        header.update = counting_update  # type: ignore[method-assign]
        screen.show_header()
        screen.show_header()
        assert calls == []  # frozen clock, finished run: the words are the same
        explosion_app.options.frozen_now = (explosion_app.options.frozen_now or 0) + 10**6
        screen.show_header()
        assert calls == []  # "finished" does not age
        screen._header = lambda snaps: Text("other words")  # type: ignore[method-assign]
        screen.show_header()
        assert len(calls) == 1
