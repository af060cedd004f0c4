"""What leaves the screen for a new alert, decided without a terminal (rltui/ui/alerting.py)."""

from __future__ import annotations

from dataclasses import replace

from rltui.ui.alerting import Announcer, notification_text
from tests.ui._factory import make_run


def test_critical_rings_once_and_the_text_names_the_current_step() -> None:
    run = make_run("dpo_margin_explosion")
    snap = run.snapshot()
    announcer = Announcer(bell=True, notify=True, on_alert=True)
    news = announcer.observe([snap])
    critical = [n for n in news if n.alert.severity == "critical"]
    assert critical
    assert all(n.bell and n.notification for n in critical)
    assert all(n.on_alert is not None for n in news)
    assert announcer.observe([snap]) == []  # the same alerts again: nothing new
    alert = critical[0].alert
    text = notification_text(snap, alert)
    assert snap.step is not None
    assert f"at step {snap.step}" in text
    assert alert.first_step != snap.step
    assert f"since {alert.first_step}" in text


def test_the_baseline_is_not_news_but_an_escalation_is() -> None:
    run = make_run("dpo_margin_explosion")
    snap = run.snapshot()
    announcer = Announcer(bell=True, notify=False)
    announcer.rebaseline()
    assert announcer.observe([snap]) == []
    alert = next(a for a in snap.alerts if a.severity == "critical")
    warned = replace(snap, alerts=(replace(alert, severity="warn"),))
    fresh = Announcer(bell=True)
    fresh.rebaseline()
    assert fresh.observe([warned]) == []
    escalated = fresh.observe([snap])
    assert [n.alert.severity for n in escalated] == ["critical"]
    assert escalated[0].bell
