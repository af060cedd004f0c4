"""``?``: the keys, the failure-pattern catalogue, why instruments are unavailable, input problems."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.screen import Screen

from rltui.ui.glyphs import STATUS_LABEL, STATUS_STYLE, safe
from rltui.ui.host import Host
from rltui.ui.runs import catalogue
from rltui.ui.screens.text_page import TextPage
from rltui.ui.status_line import input_problems

#: Every key, by the screen it works on: (scope, key, what). ``?`` lists the keys of the screen it
#: was opened from first (issue 12: "help for the current screen"), then the ones that work
#: everywhere, then the other screens'. A screen names its scope in ``HELP_SCOPE``.
KEYS: tuple[tuple[str, str, str], ...] = (
    ("everywhere", "q / ctrl+c", "quit"),
    ("everywhere", "?", "help: the keys of this screen first"),
    ("everywhere", "ctrl+p", "command palette: screens, runs, jump to an alert, pin/hide a gauge, theme"),
    ("everywhere", "c", "samples (on a banner or alert row: that alert's evidence)"),
    ("everywhere", "o", "sweep overview: one row per run, worst first (opens first above 5 runs)"),
    ("everywhere", "s", "save an SVG screenshot (current directory)"),
    ("everywhere", "escape", "back"),
    ("dashboard", "arrows / h j k l", "move between banners and gauges"),
    ("dashboard", "enter", "detail chart of the focused gauge or banner"),
    ("dashboard", "a", "all alerts: info and cleared too"),
    ("dashboard", "m", "metrics browser"),
    ("dashboard", "i", "the run: hyperparameters (β, learning rate, batch, lengths), files read"),
    ("dashboard", "t", "console tail: the newest lines of the run's log or tmux pane"),
    ("dashboard", "p / d / u", "pin the focused gauge first / hide it / show hidden gauges (remembered)"),
    ("dashboard", "e", "export the series on screen as CSV (current directory)"),
    ("replay", "space", "pause / play"),
    ("replay", "← / →", "one logged step back / forward"),
    ("replay", "[ ] / g G", "slower, faster / start, end"),
    ("replay", "n / N", "next / previous alert"),
    ("chart", "← → / h l", "cursor one logged step (shift: a tenth of the view; home / end)"),
    ("chart", "+ - [ ] 0", "zoom in / out around the cursor, pan, whole run again"),
    ("chart", "x", "x axis: step / wall time since the start / clock time"),
    ("chart", "y / o", "log y / y-range 5–95 %"),
    ("chart", "> / <", "smoothing weight ±0.05 (TensorBoard's EMA; remembered)"),
    ("chart", "e", "export the charted series as CSV"),
    ("alerts", "enter", "chart of the alert under the cursor"),
    ("alerts", "f", "show all → active → active warn/critical"),
    ("alerts", "/", "filter by id, severity, message or run"),
    ("metrics", "/ , enter", "filter the metrics / chart the one under the cursor"),
    ("samples", "← / →", "previous / next logged step"),
    ("samples", "/ o g", "filter / order by reward or length / groups side by side"),
    ("samples", "enter / e / x", "one completion whole / export the step as JSONL / the prompt across runs"),
    ("overview", "enter / space", "open the run (or the selected runs, overlaid) / select a run"),
    ("overview", "/ g", "filter (name, trainer, verdict, alert id, key=value) / group by a config key"),
    ("info", "j / k", "scroll; yellow keys differ between the runs"),
    ("console", "← / →", "the next run's console (several runs); follows the end unless scrolled up"),
)

SCOPE_TITLE = {
    "everywhere": "Everywhere",
    "dashboard": "Dashboard",
    "replay": "Replay",
    "chart": "Detail chart",
    "alerts": "Alerts",
    "metrics": "Metrics browser",
    "samples": "Samples",
    "overview": "Sweep overview",
    "info": "Run info",
    "console": "Console tail",
}


def scopes_for(screen: object | None) -> tuple[str, ...]:
    """The key scopes of the screen ``?`` was opened from (a replay dashboard is a dashboard too)."""
    scope = getattr(screen, "HELP_SCOPE", None)
    if scope == "replay":
        return ("replay", "dashboard")
    return (scope,) if isinstance(scope, str) and scope in SCOPE_TITLE else ()


def _keys_block(t: Text, scope: str, heading: str) -> None:
    rows = [(k, w) for s, k, w in KEYS if s == scope]
    if not rows:
        return
    t.append(f"{heading}\n", style="bold underline")
    for key, what in rows:
        t.append(f"  {key:<20}", style="bold")
        t.append(f"{what}\n")
    t.append("\n")


NOTIFY_NOTE = (
    "A new critical alert rings the bell (--no-bell) and sends an OSC 9 desktop notification "
    "(--no-notify); --on-alert CMD gets each warn/critical alert as JSON on stdin. Inside tmux "
    "the notification passes through only with `set -g allow-passthrough on` in tmux.conf."
)


def help_text(app: Host, origin: object | None = None) -> Text:
    t = Text()
    first = scopes_for(origin)
    for scope in first:
        _keys_block(t, scope, f"Keys on this screen ({SCOPE_TITLE[scope]})")
    _keys_block(t, "everywhere", "Keys everywhere")
    for scope in SCOPE_TITLE:
        if scope not in first and scope != "everywhere":
            _keys_block(t, scope, f"Keys: {SCOPE_TITLE[scope]}")
    t.append("Notifications\n", style="bold underline")
    t.append(f"  {NOTIFY_NOTE}\n")
    t.append("\nFailure patterns\n", style="bold underline")
    entries = catalogue()
    if not entries:
        t.append("  (catalogue not available in this build; see `rltui explain`)\n", style="dim")
    # The id column is as wide as the longest id plus a space: a fixed 22 ran
    # "train_inference_mismatch" into its title (issue 12, point 13).
    id_width = max((len(safe(rule_id, 30)) for rule_id, _, _ in entries), default=0) + 1
    for rule_id, severity, title in entries:
        t.append("  ")
        t.append(f"{STATUS_LABEL.get(severity, severity.upper()):<5}", style=STATUS_STYLE.get(severity, ""))
        t.append(f" {safe(rule_id, 30):<{id_width}}", style="bold")
        t.append(f"{safe(title, 100)}\n")
    for i, snap in enumerate(app.snapshots):
        if snap is None:
            continue
        name = safe(snap.info.name, 40)
        unavailable = [r for r in snap.instruments if r.status == "unavailable"]
        if unavailable:
            t.append(f"\nUnavailable instruments ({name})\n", style="bold underline")
            for r in unavailable:
                t.append(f"  {safe(r.id, 20):<14}", style="bold")
                t.append(f"{safe(r.reason or 'no input metric logged', 200)}\n")
        problems = input_problems(snap)
        if problems:
            t.append(f"\nInput problems ({name}): {len(problems)}\n", style="bold underline")
            for p in problems[:20]:
                where = f"{safe(p.path, 60)}" + (f" @ {p.offset}" if p.offset is not None else "")
                t.append(f"  {where}: {safe(p.message, 200)}\n")
        del i
    return t


class HelpScreen(TextPage):
    PAGE = "help"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,question_mark", "app.pop_screen", "Back")]

    def __init__(self, host: Host, origin: Screen[object] | None = None) -> None:
        super().__init__()
        self.host = host
        #: The screen ``?`` was pressed on: its keys come first.
        self.origin = origin

    def text(self) -> Text:
        return help_text(self.host, self.origin)
