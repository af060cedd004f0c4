"""Info alerts stay quiet: no banner (a count in the header instead) and no mark on a chart, which
marks only the warn and critical alerts of its own metrics."""

from __future__ import annotations

import numpy as np

from rltui.model.snapshot import Alert, InstrumentReading, Trace
from rltui.ui.chart_spec import spec_for_instrument
from rltui.ui.widgets.banner import AlertBanner
from tests.ui._text import screen_text
from tests.ui.conftest import settle
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
