"""What leaves the screen for a new alert, decided without a terminal (rltui/ui/alerting.py)."""

from __future__ import annotations

from dataclasses import replace

from rltui.model.snapshot import Alert
from rltui.ui.alerting import AlertTracker, Announcer, notification_text
from tests.ui._factory import make_run


def test_critical_rings_once_and_the_text_names_the_current_step() -> None:
    run = make_run("dpo_margin_explosion")
    snap = run.snapshot()
    announcer = Announcer(bell=True, notify=True, on_alert=True)
    news = announcer.observe([snap])
    critical = [n for n in news if n.alert.severity == "critical"]
    # The real model on this run: the margin runs away and the chosen likelihood falls with it.
    assert sorted(n.alert.id for n in critical) == ["likelihood_displacement", "margin_runaway"]
    assert all(n.bell and n.notification for n in critical)
    assert all(n.on_alert is not None for n in news if n.alert.severity != "info")
    infos = [n for n in news if n.alert.severity == "info"]
    assert infos  # instrument_missing, anomaly markers: news, but they never leave the screen
    assert all(not n.bell and n.notification is None and n.on_alert is None for n in infos)
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
    # The same run with that one alert still at warn (the others as they are): only it escalates.
    downgraded = tuple(replace(a, severity="warn") if a is alert else a for a in snap.alerts)
    warned = replace(snap, alerts=downgraded)
    fresh = Announcer(bell=True)
    fresh.rebaseline()
    assert fresh.observe([warned]) == []
    escalated = fresh.observe([snap])
    assert [(n.alert.id, n.alert.severity) for n in escalated] == [(alert.id, "critical")]
    assert escalated[0].bell


def test_alerts_of_one_rule_on_two_metrics_at_one_step_are_each_news() -> None:
    """A rule that watches every metric raises one alert per metric, often at the same step
    (loss and grad_norm turn NaN together): the second was once taken for the first and never
    announced (the tracker keyed alerts by run, id and onset only)."""
    snap = make_run("dpo_margin_explosion").snapshot()
    base = Alert("nonfinite", "critical", 31, 40, True, "m", "c", "a", metric="loss", instrument="loss")
    both = replace(snap, alerts=(base, replace(base, metric="grad_norm", instrument="gradients")))
    news = Announcer(bell=True, notify=True, on_alert=True).observe([both])
    assert [n.alert.metric for n in news] == ["loss", "grad_norm"]
    assert all(n.bell and n.on_alert is not None for n in news)


def test_an_escalation_is_announced_again() -> None:
    snap = make_run("dpo_healthy").snapshot()
    warn = Alert(
        id="x", severity="warn", first_step=5, last_step=9, active=True, message="m", cause="c", action="a"
    )
    tracker = AlertTracker()
    tracker.reset_to([replace(snap, alerts=(warn,))])
    assert tracker.new_alerts([replace(snap, alerts=(warn,))]) == []
    critical = replace(warn, severity="critical")
    fresh = tracker.new_alerts([replace(snap, alerts=(critical,))])
    assert [a.severity for _, a in fresh] == ["critical"]
    assert tracker.new_alerts([replace(snap, alerts=(critical,))]) == []
