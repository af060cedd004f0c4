"""An alert banner: severity label, what, since which step, the evidence and the action."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from rltui.model.snapshot import Alert
from rltui.ui.glyphs import STATUS_STYLE, fmt_value, safe, status_label


def evidence_text(evidence: dict[str, float | int | str]) -> str:
    parts = []
    for key, value in evidence.items():
        shown = fmt_value(float(value)) if isinstance(value, int | float) else safe(value, 40)
        parts.append(f"{safe(key, 30)}={shown}")
    return ", ".join(parts)


def banner_text(alert: Alert, run_name: str | None = None, *, arrow: str = "→") -> Text:
    t = Text(no_wrap=False)
    t.append_text(status_label(alert.severity))
    t.append(" ")
    if run_name:
        t.append(f"[{safe(run_name, 30)}] ", style="dim")
    t.append(safe(alert.id, 40), style="bold")
    t.append(f" since step {alert.first_step}", style="dim")
    t.append(": " + safe(alert.message, 300))
    ev = evidence_text(alert.evidence)
    if ev:
        t.append("\n  evidence: ", style="dim")
        t.append(ev)
    if alert.action:
        t.append(f"\n  {arrow} ", style=STATUS_STYLE[alert.severity])
        t.append(safe(alert.action, 300))
    return t


class AlertBanner(Widget, can_focus=True):
    """Focusable; Enter opens the chart of the alert's metric (handled by the dashboard)."""

    DEFAULT_CSS = "AlertBanner { height: auto; max-height: 4; }"

    def __init__(
        self, alert: Alert, run_index: int, run_name: str | None, *, ascii_only: bool = False
    ) -> None:
        super().__init__()
        self.alert = alert
        self.run_index = run_index
        self.run_name = run_name
        self.ascii_only = ascii_only
        self.add_class(f"-{alert.severity}")

    def render(self) -> Text:
        return banner_text(self.alert, self.run_name, arrow="->" if self.ascii_only else "→")
