"""Issue 12, point 4 ("since when"): a gauge's sparkline covers the whole history with its scale,
step labels at the ends and the alert's onset marked; compare shares one scale per instrument.

Real fixture runs read by the real session and judged by the real engine (``session_app``).
"""

from __future__ import annotations

import numpy as np

from rltui.ui.downsample import column_extremes, column_of
from rltui.ui.glyphs import UNICODE_LEVELS, fmt_value
from rltui.ui.widgets.gauge import Gauge
from tests.ui.conftest import settle
from tests.ui.test_snapshots import session_app

BLOCKS = set(UNICODE_LEVELS) | {" "}


def test_column_extremes_spans_the_whole_history() -> None:
    # 800 points: flat at 0, then a climb to 37 over the last 100 (a window of 200 sees only 37s).
    y = np.concatenate([np.zeros(700), np.linspace(0.0, 37.0, 100)])
    y[300] = -5.0  # a one-point dip in the middle
    cols = column_extremes(y, 40)
    assert len(cols) == 40
    assert cols[0] == 0.0
    assert cols[-1] > 29.0  # the last column is the last 20 points of the climb (29.9..37)
    assert cols.max() == 37.0
    assert cols.min() == -5.0


def test_column_extremes_ignores_non_finite_points() -> None:
    y = np.array([1.0, np.nan, 2.0, np.inf, 3.0] * 20)
    cols = column_extremes(y, 10)
    assert np.isfinite(cols).all()
    assert cols.max() == 3.0


def test_column_of_places_a_step_in_its_sparkline_column() -> None:
    steps = np.arange(1, 801)
    assert column_of(steps, 1, 40) == 0
    assert column_of(steps, 800, 40) == 39
    assert column_of(steps, 401, 40) == 20
    assert column_of(steps, 0, 40) is None  # before the series: no mark
    assert column_of(steps, 801, 40) is None
    assert column_of(np.arange(1, 6), 3, 40) == 2  # fewer points than columns: one per point


def _margin_gauge(app: object) -> Gauge:
    from rltui.ui.app import RltuiApp

    assert isinstance(app, RltuiApp)
    gauges = [g for g in app.screen.query(Gauge) if g.instrument_id == "reward"]
    assert gauges, [g.instrument_id for g in app.screen.query(Gauge)]
    return gauges[0]


async def test_margin_gauge_shows_the_explosion_since_its_onset() -> None:
    app = session_app("dpo_margin_explosion")
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.pause(0.2)
        gauge = _margin_gauge(app)
        reading = gauge.rows[0][1]
        assert reading is not None
        assert reading.traces
        values = reading.traces[0].values
        steps = reading.traces[0].steps
        lines = gauge.render().plain.split("\n")
        chart = lines[len(lines) - gauge.chart_rows :]
        assert len(chart) >= 3  # sparkline rows and the axis
        *spark, axis = chart
        # The scale: the whole history's max on the top row, its min on the bottom row.
        assert spark[0].rstrip().endswith(fmt_value(float(np.nanmax(values))))
        assert spark[-1].rstrip().endswith(fmt_value(float(np.nanmin(values))))
        # The step axis: the last step at the right end, the alert's onset marked with its step.
        onset = next(a for a in app.snapshots[0].alerts if a.id == "margin_runaway")  # type: ignore[union-attr]
        assert gauge.onsets[0] == (onset.first_step, "critical")
        assert f"▲{onset.first_step}" in axis
        assert axis.split()[-1] == str(int(steps[-1]))
        # Whole history: the first column is the run's start (margin ~0), drawn at the bottom;
        # by the end the margin is far above it (the explosion), so later columns stand tall.
        width = len(spark[0].rstrip(" 0123456789.e+-–,"))
        heights = [sum(row[c] != " " for row in spark) for c in range(width)]
        # At most a sixth of the sparkline's height (one row of the 6 it had before gauges grew to
        # fill big terminals; 2 of 12 at this size).
        assert 1 <= heights[0] * 6 <= len(spark)
        assert max(heights[width // 2 :]) == len(spark)


async def test_compare_draws_every_run_on_one_scale() -> None:
    app = session_app("dpo_healthy", "dpo_margin_explosion")
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.pause(0.2)
        gauge = _margin_gauge(app)
        title, healthy, exploded = gauge.render().plain.split("\n")[:3]
        assert "scale " in title
        # Healthy margins (~0.7) sit at the bottom of a scale that reaches the explosion's ~37+.
        spark_of = [line.rstrip().rsplit(" ", 1)[-1] for line in (healthy, exploded)]
        assert all(set(s) <= BLOCKS for s in spark_of)
        assert max(spark_of[0]) <= "▂"
        assert "█" in spark_of[1]
