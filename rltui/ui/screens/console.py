"""``t``: the newest lines of the run's console log or tmux pane, as the terminal showed them.

When a rule fires, the log often says why in words the metrics do not have (an OOM retry, a
"Token indices sequence length is longer than the specified maximum", a vLLM warning). The
lines are read off the UI loop (a thread worker: the log may be on another host), at most every
:data:`REFRESH_S` while the screen is shown, and arrive sanitised and capped (rltui.sources.
console_tail); this screen only draws them.
"""

from __future__ import annotations

from typing import ClassVar, Protocol

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from rltui.ui.glyphs import safe
from rltui.ui.host import Host

REFRESH_S = 2.0
MAX_LINES = 200


class ConsoleRun(Protocol):
    """What a run offers for this screen (``rltui.session.RunSession``; not every RunSource)."""

    def console_tail(self, max_lines: int = MAX_LINES) -> tuple[str, list[str]] | None: ...


#: (the source's name or None, its lines, why nothing could be read or None)
Tail = tuple[str | None, list[str], str | None]


def read_tail(run: object, max_lines: int = MAX_LINES) -> Tail:
    """The run's console tail, or why there is none (never raises: this runs in a worker)."""
    fn = getattr(run, "console_tail", None)
    if fn is None:
        return None, [], "this run offers no console log"
    try:
        got = fn(max_lines)
    except OSError as exc:
        return None, [], f"cannot read the console now: {safe(str(exc), 200)}"
    if got is None:
        return None, [], "no console log in this run: rltui reads *.log files and --tmux panes"
    source, lines = got
    return source, list(lines), None


def tail_title(name: str, tail: Tail, several: bool, replaying: bool = False) -> Text:
    """The fixed line above the lines: which run, which file or pane."""
    source = tail[0]
    t = Text()
    t.append(safe(name, 80), style="bold")
    if source is not None:
        t.append(f"  {safe(source, 160)}", style="dim")
    if replaying:
        t.append("  (the log's end, not the replay step)", style="yellow")
    if several:
        t.append("  (←/→ other runs)", style="dim italic")
    return t


def tail_body(tail: Tail) -> Text:
    _, lines, why = tail
    if why is not None:
        return Text(why, style="yellow")
    if not lines:
        return Text("(empty)", style="dim")
    return Text("\n".join(safe(line, 400) for line in lines))  # sanitised by the reader; again here


class ConsoleScreen(Screen[None]):
    HELP_SCOPE = "console"  # which keys ? lists first
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,t", "app.pop_screen", "Back"),
        Binding("left,h", "run(-1)", "Run", key_display="←→"),
        Binding("right,l", "run(1)", "Next run", show=False),
        Binding("j,down", "scroll(1)", "Down", show=False),
        Binding("k,up", "scroll(-1)", "Up", show=False),
    ]

    def __init__(self, host: Host, run_index: int = 0) -> None:
        super().__init__()
        self.host = host
        self.run_index = run_index if 0 <= run_index < len(host.runs) else 0
        #: The last tail read, per run index (what is drawn).
        self.tails: dict[int, Tail] = {}
        #: Reads finished (tests wait on it).
        self.reads = 0

    def compose(self) -> ComposeResult:
        name = self.host.runs[self.run_index].info.name
        yield Static(Text(safe(name, 80), style="bold"), id="console-title")
        with VerticalScroll(id="console-body"):
            yield Static(Text("reading the console …", style="dim"), id="console")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_tail()
        self.set_interval(REFRESH_S, self.refresh_tail)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        del parameters
        return len(self.host.runs) > 1 if action == "run" else True

    def refresh_tail(self) -> None:
        if self.is_active:
            self._read(self.run_index)

    @work(thread=True, exclusive=True, group="console-tail")
    def _read(self, index: int) -> None:
        tail = read_tail(self.host.runs[index])
        self.app.call_from_thread(self._show, index, tail)

    def _show(self, index: int, tail: Tail) -> None:
        self.reads += 1
        self.tails[index] = tail
        if index != self.run_index or not self.is_mounted:
            return
        body = self.query_one("#console-body", VerticalScroll)
        at_end = body.scroll_y >= body.max_scroll_y - 1
        name = self.host.runs[index].info.name
        title = tail_title(name, tail, len(self.host.runs) > 1, self.host.mode_label() is not None)
        self.query_one("#console-title", Static).update(title)
        self.query_one("#console", Static).update(tail_body(tail))
        if at_end:  # following the end, as tail -f does; a reader scrolled up stays where they are
            self.call_after_refresh(body.scroll_end, animate=False)

    def action_run(self, delta: int) -> None:
        n = len(self.host.runs)
        if n > 1:
            self.run_index = (self.run_index + delta) % n
            self._read(self.run_index)

    def action_scroll(self, delta: int) -> None:
        self.query_one("#console-body", VerticalScroll).scroll_relative(y=delta, animate=False)
