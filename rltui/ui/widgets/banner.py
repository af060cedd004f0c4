"""An alert banner: severity label, what, since which step, the evidence and the action."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from rltui import numfmt
from rltui.model.snapshot import Alert
from rltui.ui.glyphs import STATUS_STYLE, fmt_value, safe, status_label, to_ascii


def evidence_text(evidence: dict[str, float | int | str]) -> str:
    parts = []
    for key, value in evidence.items():
        if value == "":
            continue
        shown = fmt_value(float(value)) if isinstance(value, int | float) else safe(value, 40)
        parts.append(f"{safe(key, 30)}={shown}")
    return ", ".join(parts)


def span_text(alert: Alert) -> str:
    """``since step 26, still active at 800`` or ``steps 26–140, cleared``."""
    if alert.active:
        return f" since step {alert.first_step}, active at {alert.last_step}"
    return f" steps {alert.first_step}–{alert.last_step}, cleared"


def banner_text(alert: Alert, run_name: str | None = None, *, arrow: str = "→", span: bool = False) -> Text:
    """The banner's words. ``span`` (the alerts list) also says until when, and whether it cleared."""
    t = Text(no_wrap=False)
    t.append_text(status_label(alert.severity))
    t.append(" ")
    if run_name:
        t.append(f"[{safe(run_name, 30)}] ", style="dim")
    t.append(safe(alert.id, 40), style="bold")
    t.append(span_text(alert) if span else f" since step {alert.first_step}", style="dim")
    t.append(": " + numfmt.short_exponent(safe(alert.message, 300)))
    ev = evidence_text(alert.evidence)
    if ev:
        t.append("\n  evidence: ", style="dim")
        t.append(ev)
    if alert.action:
        t.append(f"\n  {arrow} ", style=STATUS_STYLE[alert.severity])
        t.append(safe(alert.action, 300))
    return t


class AlertBanner(Widget, can_focus=True):
    """Focusable; Enter opens the chart of the alert's metric (handled by the screen)."""

    DEFAULT_CSS = "AlertBanner { height: auto; max-height: 4; }"
    #: Say "steps A–B, cleared" instead of "since step A" (the alerts list).
    SPAN = False

    def __init__(
        self, alert: Alert, run_index: int, run_name: str | None, *, ascii_only: bool = False
    ) -> None:
        super().__init__()
        self.alert = alert
        self.run_index = run_index
        self.run_name = run_name
        self.ascii_only = ascii_only
        self.add_class(f"-{alert.severity}")
        self.set_class(not alert.active, "-cleared")
        self._text = self._build()

    def _build(self) -> Text:
        text = banner_text(self.alert, self.run_name, arrow="->" if self.ascii_only else "→", span=self.SPAN)
        if self.ascii_only:
            # Same length-changing translation for every span is not possible: rebuild plainly.
            plain = Text(to_ascii(text.plain))
            plain.stylize(STATUS_STYLE[self.alert.severity], 0, 4)
            return plain
        return text

    def set_alert(self, alert: Alert) -> None:
        """Take the alert's newest state; repaint only if its words changed (a live alert's
        ``last_step`` moves every step but a banner does not show it)."""
        self.alert = alert
        text = self._build()
        if text != self._text:
            layout = text.plain.count("\n") != self._text.plain.count("\n") or len(text) != len(self._text)
            self._text = text
            self.refresh(layout=layout)

    def render(self) -> Text:
        return self._text


class AlertRow(AlertBanner):
    """One entry of the alerts list: every line shown, with its span and whether it cleared."""

    DEFAULT_CSS = "AlertRow { height: auto; max-height: 100; margin-bottom: 1; }"
    SPAN = True
