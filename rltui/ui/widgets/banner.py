"""An alert banner: severity label, what fired and with which number, since when, and the action.

Two shapes of the same alert. On the dashboard (:class:`AlertBanner`) it is at most three rows,
laid out for the width it gets: what fired (the rule's condition, the numbers, what they are:
"now 36.96; rule: 20-point medians", so the banner agrees with the gauge
beside it), then the action, whose beginning is always on screen with "(a: full text)" where it
is cut. In the alerts list (:class:`AlertRow`) nothing is cut: message, condition, evidence,
cause and action, each on its own lines.
"""

from __future__ import annotations

from rich.text import Text
from textual.geometry import Size
from textual.widget import Widget

from rltui import numfmt
from rltui.model.snapshot import Alert
from rltui.ui.glyphs import STATUS_LABEL, STATUS_STYLE, fmt_value, safe, status_label, to_ascii, wrap_words

#: Rows of a dashboard banner: up to two for what fired, the rest (at least one) for the action.
BANNER_ROWS = 3
HEAD_ROWS = 2
#: Where a banner's action is cut: the alerts screen (``a``) has all of it.
MORE = " (a: full text)"


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


def _words(text: str) -> str:
    """Rule text for the screen: sanitised, one line, uncut, exponents written short."""
    return numfmt.short_exponent(safe(text))


def banner_text(alert: Alert, run_name: str | None = None, *, arrow: str = "→", span: bool = False) -> Text:
    """The alert in full (the alerts list): message, basis, evidence, cause and action, uncut.
    ``span`` also says until when, and whether it cleared."""
    t = Text(no_wrap=False)
    t.append_text(status_label(alert.severity))
    t.append(" ")
    if run_name:
        t.append(f"[{safe(run_name, 30)}] ", style="dim")
    t.append(safe(alert.id, 40), style="bold")
    t.append(span_text(alert) if span else f" since step {alert.first_step}", style="dim")
    t.append(": " + _words(alert.message))
    if alert.condition:
        t.append("\n  condition: ", style="dim")
        t.append(_words(alert.condition))
    if alert.basis:
        t.append("\n  numbers: ", style="dim")
        t.append(_words(alert.basis))
    ev = evidence_text(alert.evidence)
    if ev:
        t.append("\n  evidence: ", style="dim")
        t.append(ev)
    if alert.cause:
        t.append("\n  cause: ", style="dim")
        t.append(_words(alert.cause))
    if alert.action:
        t.append(f"\n  {arrow} ", style=STATUS_STYLE[alert.severity])
        t.append(_words(alert.action))
    return t


def _fit(text: str, width: int, rows: int, suffix: str) -> list[str]:
    """``text`` in at most ``rows`` lines of ``width``; where it does not fit, the last line ends
    with ``suffix`` (cut at a word, never mid-number)."""
    lines = wrap_words(text, width, 10_000)
    if len(lines) <= rows:
        return lines
    kept = wrap_words(text, width, rows)
    last = kept[-1].rstrip("…").rstrip()
    while last and len(last) + len(suffix) + 1 > width:
        last = last.rsplit(" ", 1)[0] if " " in last else ""
    kept[-1] = (last + "…" + suffix) if last else suffix.strip()
    return [line[:width] for line in kept]


def banner_lines(alert: Alert, run_name: str | None, width: int, *, ascii_only: bool = False) -> list[str]:
    """The dashboard banner's rows at ``width`` cells: what fired (at most two rows), the action."""
    convert = to_ascii if ascii_only else (lambda s: s)
    head = f"{STATUS_LABEL[alert.severity]} "
    if run_name:
        head += f"[{safe(run_name, 30)}] "
    # The condition that fired says it shortest; the message (title, metric, numbers) otherwise.
    what = alert.condition or alert.message
    head += f"{safe(alert.id, 40)} since step {alert.first_step}: {_words(what)}"
    if alert.basis:
        head += f" ({_words(alert.basis)})"
    head_lines = _fit(convert(head), width, HEAD_ROWS, "")
    if not alert.action:
        return head_lines
    action = convert(f"{'->' if ascii_only else '→'} {_words(alert.action)}")
    more = convert(MORE)
    lines = head_lines + _fit(action, width, max(1, BANNER_ROWS - len(head_lines)), more)
    if ascii_only:  # the ellipsis spelled out where the row has room for it
        lines = [ln.replace("…", "...") if len(ln) + 2 <= width else ln for ln in lines]
    return lines


class AlertBanner(Widget, can_focus=True):
    """Focusable; Enter opens the chart of the alert's metric (handled by the screen)."""

    DEFAULT_CSS = "AlertBanner { height: auto; max-height: 3; }"

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
        self._cache: tuple[int, Text] | None = None

    def text_at(self, width: int) -> Text:
        """The banner drawn ``width`` cells wide (cached per width: a live alert's ``last_step``
        moves every step, its words mostly do not)."""
        if self._cache is not None and self._cache[0] == width:
            return self._cache[1]
        lines = banner_lines(self.alert, self.run_name, max(10, width), ascii_only=self.ascii_only)
        t = Text("\n".join(lines), no_wrap=True, overflow="crop")
        style = STATUS_STYLE[self.alert.severity]
        t.stylize(style, 0, len(STATUS_LABEL[self.alert.severity]))
        arrow = next((k for k, ln in enumerate(lines) if k and ln.startswith(("→", "->"))), None)
        if arrow is not None:
            start = len("\n".join(lines[:arrow])) + 1
            t.stylize(style, start, start + 2)
        self._cache = (width, t)
        return t

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.text_at(width).plain.split("\n"))

    def set_alert(self, alert: Alert) -> None:
        """Take the alert's newest state; repaint only if its words changed."""
        old = banner_lines(self.alert, self.run_name, 200, ascii_only=self.ascii_only)
        self.alert = alert
        if banner_lines(alert, self.run_name, 200, ascii_only=self.ascii_only) != old:
            self._cache = None
            self.refresh(layout=True)

    def render(self) -> Text:
        return self.text_at(self.size.width)


class AlertRow(AlertBanner):
    """One entry of the alerts list: every line shown, with its span and whether it cleared."""

    DEFAULT_CSS = "AlertRow { height: auto; max-height: 100; margin-bottom: 1; }"

    def text_at(self, width: int) -> Text:
        if self._cache is not None and self._cache[0] == -1:
            return self._cache[1]
        text = banner_text(self.alert, self.run_name, arrow="->" if self.ascii_only else "→", span=True)
        if self.ascii_only:
            plain = Text(to_ascii(text.plain))
            plain.stylize(STATUS_STYLE[self.alert.severity], 0, 4)
            text = plain
        self._cache = (-1, text)
        return text

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return Widget.get_content_height(self, container, viewport, width)

    def set_alert(self, alert: Alert) -> None:
        old = banner_text(self.alert, self.run_name, span=True).plain
        self.alert = alert
        if banner_text(alert, self.run_name, span=True).plain != old:
            self._cache = None
            self.refresh(layout=True)
