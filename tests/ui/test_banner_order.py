"""Issue 12, point 12: live, a banner that appears must not jump above the ones being read.

Rules date an alert from its onset (``first_step``), often well before the step at which the
evidence became sustained and the banner appeared (``raised_step``). Sorting by onset put a
newly raised alert above older banners; the order is now severity, then appearance.
"""

from __future__ import annotations

from dataclasses import replace

from rltui.session import open_sessions
from rltui.ui.screens.dashboard import banner_order
from tests.ui._factory import RUNS


def test_new_banners_go_below_the_ones_already_shown() -> None:
    (session,) = open_sessions([str(RUNS / "grpo_length_hacking")])
    session.load()
    snap = session.snapshot()
    critical = [a for a in snap.alerts if a.active and a.severity == "critical"]
    assert len(critical) >= 2
    old, new = critical[0], critical[1]
    # ``old`` appeared at step 30; ``new`` at step 90 but its onset is backdated to step 5.
    old = replace(old, first_step=20, raised_step=30)
    new = replace(new, first_step=5, raised_step=90)
    warn = next(a for a in snap.alerts if a.active and a.severity == "warn")
    warn = replace(warn, first_step=1, raised_step=2)
    shown = [a for _, a in banner_order([replace(snap, alerts=(new, warn, old))])]
    assert shown == [old, new, warn]  # critical first; within it, the order they appeared in
    # An escalation (warn -> critical) still goes up to the critical group: severity comes first.
    escalated = replace(warn, severity="critical", raised_step=95)
    shown = [a for _, a in banner_order([replace(snap, alerts=(new, escalated, old))])]
    assert shown == [old, new, escalated]


async def test_critical_gauges_come_first_and_fit_80x24() -> None:
    """Issue 12, point 5: at 80x24 the critical length gauge of a length-hacking run was below
    the fold. Gauges in trouble now lead the grid (critical, then warn, then the rest)."""
    from rltui.ui.widgets.gauge import Gauge
    from tests.ui._text import screen_text
    from tests.ui.conftest import settle
    from tests.ui.test_snapshots import session_app

    app = session_app("grpo_length_hacking")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.pause(0.3)
        gauges = list(app.screen.query(Gauge))
        snap = app.snapshots[0]
        assert snap is not None
        status = {r.id: r.status for r in snap.instruments}
        ranks = [{"critical": 2, "warn": 1}.get(status.get(g.instrument_id, ""), 0) for g in gauges]
        assert ranks == sorted(ranks, reverse=True)
        critical = [r for r in snap.instruments if r.status == "critical"]
        assert len(critical) >= 3
        text = screen_text(app)
        for r in critical:
            assert r.title in text, f"{r.title} is below the fold at 80x24"
