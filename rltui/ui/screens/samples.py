"""``c``: what the model wrote. The prompts and completions of one step, with reward and advantage.

Opens on the newest sample step (in replay: the newest at or before the replayed step, and it
follows the cursor until you pick a step yourself). ``←``/``→`` walk the sample steps, ``/``
filters by text, ``o`` orders by reward or length, ``g`` shows each prompt group side by side,
``enter`` shows a completion whole below the table, ``e`` exports the step as JSONL (texts whole,
never into the run folder). With several runs open (compare), ``x`` shows the highlighted prompt
across the runs: each run's completions of that same prompt at its nearest sample step.

Opened on an alert (``c`` on a banner or in the alert list) it is the evidence view: the samples
that explain the alert at its raised step come first, marked, then the rest of that step.

Sample text is run text: it arrives stripped of escape sequences and is drawn through
``rich.text.Text`` (never as markup); the table cuts it, the detail pane and the export do not.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar, Protocol, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from rltui.model.samples import groups, is_zero_std, matches, pick_evidence, same_prompt, sort_samples
from rltui.model.snapshot import Alert
from rltui.records import Sample
from rltui.text import sanitize
from rltui.ui.export import output_name
from rltui.ui.off_loop import off_loop

if TYPE_CHECKING:
    from rltui.ui.app import RltuiApp
    from rltui.ui.host import Host
from rltui.ui.widgets.filter_box import FilterBox

ORDERS = ("logged", "reward", "length")
#: Characters of a completion shown in a table cell; the detail pane shows it whole.
CELL = 160
PROMPT_CELL = 40
#: The detail pane is bounded too (a megabyte of text is not for reading in a terminal).
DETAIL = 20_000


class SampleRun(Protocol):
    def sample_steps(self) -> list[int]: ...

    def sample_step(self, step: int | None = None) -> tuple[int | None, tuple[Sample, ...]]: ...


def sample_run(run: object) -> SampleRun | None:
    """The run's sample access, or None for a run without it (hand-built test runs)."""
    return cast("SampleRun", run) if callable(getattr(run, "sample_step", None)) else None


def _num(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return "—"
    return f"{x:.3g}"


def one_line(text: str, width: int) -> Text:
    """A cell: on one line (newlines shown as ⏎), cut to ``width``, never markup."""
    return Text(sanitize(text.replace("\n", " ⏎ "), single_line=True, max_len=width))


class SamplesScreen(Screen[None]):
    HELP_SCOPE = "samples"  # which keys ? lists first
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,c", "back", "Back"),
        Binding("left", "step(-1)", "Prev step", priority=True),
        Binding("right", "step(1)", "Next step", priority=True),
        Binding("h", "step(-1)", "Prev step", show=False),
        Binding("l", "step(1)", "Next step", show=False),
        Binding("home", "edge(0)", "First", show=False, priority=True),
        Binding("end", "edge(1)", "Newest", show=False, priority=True),
        Binding("slash", "filter", "Filter"),
        Binding("o", "order", "Order"),
        Binding("g", "groups", "Groups"),
        Binding("e", "export", "Export"),
        Binding("x", "across", "Across runs"),
        Binding("j", "cursor(1)", "Down", show=False),
        Binding("k", "cursor(-1)", "Up", show=False),
    ]

    def __init__(self, host: Host, run_index: int = 0, alert: Alert | None = None) -> None:
        super().__init__()
        self.host = host
        self.run_index = run_index
        self.alert = alert
        self.filter_text = ""
        self.order = "logged"
        self.grouped = False
        #: The step picked with the arrows; None follows the newest (or the replay cursor).
        self.chosen: int | None = None
        if alert is not None:
            self.chosen = alert.raised_step if alert.raised_step is not None else alert.last_step
        self.step: int | None = None
        self.samples: tuple[Sample, ...] = ()
        self.evidence: list[Sample] = []
        self.rows: list[Sample] = []
        self._drawn: tuple[object, ...] | None = None
        #: The prompt shown across the open runs (``x``), or None for this run's step.
        self.across: str | None = None
        #: (run name, its sample step, that run's completions of the prompt), one per run.
        self.across_rows: list[tuple[str, int | None, list[Sample]]] = []

    @property
    def rltui(self) -> Host:
        return self.host

    def compose(self) -> ComposeResult:
        yield Static(id="samples-title")
        yield FilterBox(placeholder="filter prompts and completions", id="filter")
        yield DataTable(id="samples", cursor_type="row", zebra_stripes=True)
        detail = VerticalScroll(Static(id="sample-detail-text"), id="sample-detail")
        detail.can_focus = False
        yield detail
        yield Footer()

    def on_mount(self) -> None:
        self.show()
        self.query_one(DataTable).focus()
        self.watch(self.app, "snapshots", self._snapshots_changed, init=False)

    def _snapshots_changed(self) -> None:
        self.show()

    # -- data ----------------------------------------------------------------------------------
    def _source(self) -> SampleRun | None:
        runs = self.rltui.runs
        return sample_run(runs[self.run_index]) if self.run_index < len(runs) else None

    def _target(self) -> int | None:
        return self.chosen if self.chosen is not None else self.rltui.view_step(self.run_index)

    def _load(self) -> None:
        src = self._source()
        if src is None:
            self.step, self.samples, self.evidence = None, (), []
            return
        step, samples = src.sample_step(self._target())
        if step != self.step or samples is not self.samples:
            self.step, self.samples = step, samples
            self.evidence = pick_evidence(self.alert.id, samples) if self.alert is not None else []

    def visible_samples(self) -> list[Sample]:
        items = [s for s in self.samples if not self.filter_text or matches(s, self.filter_text)]
        items = sort_samples(items, self.order)
        if self.evidence:
            ev = [s for s in self.evidence if s in items]
            items = ev + [s for s in items if s not in ev]
        return items

    # -- drawing -------------------------------------------------------------------------------
    def show(self) -> None:
        self._load()
        key = (
            self.step,
            id(self.samples),
            self.filter_text,
            self.order,
            self.grouped,
            len(self.evidence),
            self.across,
        )
        if key == self._drawn:
            return
        self._drawn = key
        self._title()
        table = self.query_one(DataTable)
        keep = table.cursor_row
        table.clear(columns=True)
        if self.across is not None:
            self._draw_across(table)
            return
        items = self.visible_samples()
        self.rows = items
        if self.grouped:
            self._draw_groups(table, items)
        else:
            table.add_columns("", "prompt", "completion", "reward", "adv", "chars")
            marked = {id(s) for s in self.evidence}
            for s in items:
                mark = Text("★", style="bold") if id(s) in marked else Text("")
                table.add_row(
                    mark,
                    one_line(s.prompt, PROMPT_CELL),
                    one_line(s.completion, CELL),
                    _num(s.reward),
                    _num(s.advantage),
                    str(len(s.completion)),
                )
        if items:
            table.move_cursor(row=min(keep, len(items) - 1))
            self._detail(items[min(max(keep, 0), len(items) - 1)] if not self.grouped else None)
        else:
            self._detail(None)

    def _draw_groups(self, table: DataTable[object], items: Sequence[Sample]) -> None:
        """One row per prompt: its completions side by side, each with its reward."""
        grouped = groups(items)
        width = max((len(g) for g in grouped), default=0)
        cell = max(20, CELL // max(1, width))
        table.add_columns("prompt", "std", *(f"#{i + 1}" for i in range(width)))
        for g in grouped:
            rewards = [s.reward for s in g if s.reward is not None and math.isfinite(s.reward)]
            std = "0 (no signal)" if is_zero_std(g) else _num(_std(rewards))
            cells: list[Text | str] = [one_line(g[0].prompt, PROMPT_CELL), std]
            for s in g:
                cells.append(one_line(f"[{_num(s.reward)}] {s.completion}", cell))
            cells += [""] * (width - len(g))
            table.add_row(*cells)

    def _load_across(self, prompt: str) -> None:
        """Each open run's completions of ``prompt``, at the sample step nearest this one."""
        out: list[tuple[str, int | None, list[Sample]]] = []
        for i, run in enumerate(self.rltui.runs):
            src = sample_run(run)
            name = sanitize(run.info.name, single_line=True, max_len=40)
            if src is None:
                out.append((name, None, []))
                continue
            near = (
                self.step
                if i == self.run_index
                else (self.rltui.view_step(i) if self.step is None else self.step)
            )

            def read(step: int, src: SampleRun = src) -> tuple[Sample, ...]:
                return src.sample_step(step)[1] if src.sample_step(step)[0] == step else ()

            step, found = same_prompt(prompt, near, src.sample_steps(), read)
            out.append((name, step, found))
        self.across_rows = out

    def _draw_across(self, table: DataTable[object]) -> None:
        """One row per completion of the prompt, run by run (a run without it says so)."""
        table.add_columns("run", "step", "completion", "reward", "chars")
        self.rows = []
        for name, step, found in self.across_rows:
            if not found:
                table.add_row(name, "", Text("this prompt is not in its samples", style="dim"), "", "")
                continue
            for s in found:
                self.rows.append(s)
                table.add_row(
                    name, str(step), one_line(s.completion, CELL), _num(s.reward), str(len(s.completion))
                )
        self._detail(self.rows[0] if self.rows else None)

    def _title(self) -> None:
        runs = self.rltui.runs
        src = self._source()
        t = Text("Samples", style="bold")
        if len(runs) > 1 and self.run_index < len(runs):
            t.append(f"  {sanitize(runs[self.run_index].info.name, single_line=True, max_len=30)}")
        if src is None or self.step is None:
            t.append("  no completion samples in this run", style="dim")
            t.append("  (TRL: log_completions=True; verl: trainer.rollout_data_dir)", style="dim")
        else:
            steps = src.sample_steps()
            pos = steps.index(self.step) + 1 if self.step in steps else 0
            t.append(
                f"  step {self.step}  ({pos} of {len(steps)} sample steps)  {len(self.samples)} completions"
            )
            t.append(f"  order: {self.order}", style="dim")
            if self.grouped:
                t.append("  groups", style="dim")
            if self.filter_text:
                t.append(f"  filter: {sanitize(self.filter_text, single_line=True, max_len=40)}", style="dim")
        if self.across is not None:
            shown = sum(1 for _, _, found in self.across_rows if found)
            t.append(f"\nacross {shown} of {len(self.across_rows)} runs: ", style="bold")
            t.append(one_line(self.across, CELL))
            t.append("  (x: back to this run)", style="dim")
        if self.alert is not None:
            raised = self.alert.raised_step if self.alert.raised_step is not None else self.alert.last_step
            t.append(f"\nevidence for {self.alert.id} (raised at step {raised}): ", style="bold")
            t.append(f"{len(self.evidence)} marked ★" if self.evidence else "no sample shows it at this step")
        self.query_one("#samples-title", Static).update(t)

    def _detail(self, sample: Sample | None) -> None:
        box = self.query_one("#sample-detail-text", Static)
        if sample is None:
            box.update(Text(""))
            return
        t = Text()
        t.append("prompt: ", style="bold")
        t.append(sanitize(sample.prompt, max_len=DETAIL))
        t.append("\ncompletion: ", style="bold")
        t.append(sanitize(sample.completion, max_len=DETAIL))
        parts = [f"{name} {_num(x)}" for name, x in sample.rewards]
        t.append(f"\nreward {_num(sample.reward)}  advantage {_num(sample.advantage)}", style="dim")
        if parts:
            t.append(
                "  (" + ", ".join(sanitize(p, single_line=True, max_len=60) for p in parts) + ")", style="dim"
            )
        box.update(t)

    # -- keys ----------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """While the filter box has focus, the arrows and home/end edit it instead of the step.

        ``x`` (across runs) exists only with several runs open.
        """
        if action == "across":
            return len(self.rltui.runs) > 1
        return not (action in ("step", "edge") and isinstance(self.focused, Input))

    def action_across(self) -> None:
        """Toggle: the highlighted prompt across every open run, or back to this run's step."""
        if self.across is not None:
            self.across, self.across_rows = None, []
        else:
            row = self.query_one(DataTable).cursor_row
            if not self.rows or self.grouped:
                hint = "highlight a completion first (not in the group view)"
                self.notify(hint, severity="warning", markup=False)
                return
            self.across = self.rows[min(max(row, 0), len(self.rows) - 1)].prompt
            self._load_across(self.across)
        self.show()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if not self.grouped and 0 <= event.cursor_row < len(self.rows):
            self._detail(self.rows[event.cursor_row])

    def action_step(self, delta: int) -> None:
        src = self._source()
        if src is None:
            return
        steps = src.sample_steps()
        if not steps:
            return
        here = self.step if self.step is not None else steps[-1]
        idx = steps.index(here) if here in steps else len(steps) - 1
        self.chosen = steps[max(0, min(len(steps) - 1, idx + delta))]
        self.show()

    def action_edge(self, end: int) -> None:
        src = self._source()
        steps = src.sample_steps() if src is not None else []
        if steps:
            self.chosen = steps[-1] if end else steps[0]
            self.show()

    def action_order(self) -> None:
        self.order = ORDERS[(ORDERS.index(self.order) + 1) % len(ORDERS)]
        self.show()

    def action_groups(self) -> None:
        self.grouped = not self.grouped
        self.show()

    def action_filter(self) -> None:
        self.query_one(FilterBox).open()

    def action_cursor(self, delta: int) -> None:
        table = self.query_one(DataTable)
        table.move_cursor(row=max(0, table.cursor_row + delta))

    def action_back(self) -> None:
        if self.query_one(FilterBox).close():
            self.query_one(DataTable).focus()
            return
        self.app.pop_screen()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value
        self.show()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_one(DataTable).focus()

    def action_export(self) -> None:
        """The step's samples (after the filter) as JSONL, texts whole, in the export folder."""
        if self.step is None or not self.rows:
            self.app.notify("no samples to export", severity="warning", markup=False)
            return
        app = self.rltui
        name = app.runs[self.run_index].info.name
        path = app.out_dir() / output_name(f"{name}-samples-step{self.step}", "jsonl", app.now())
        try:
            with open(path, "w", encoding="utf-8") as fh:
                for s in self.rows:
                    fh.write(json.dumps(export_row(s), ensure_ascii=False, allow_nan=False) + "\n")
        except (OSError, ValueError) as exc:
            self.app.notify(
                f"export failed: {sanitize(str(exc), max_len=200)}", severity="error", markup=False
            )
            return
        app.last_export = path
        self.app.notify(
            sanitize(str(path), max_len=200), title=f"{len(self.rows)} samples saved", markup=False
        )


def export_row(s: Sample) -> dict[str, object]:
    def fin(x: float | None) -> float | None:
        return x if x is not None and math.isfinite(x) else None

    return {
        "step": s.step,
        "prompt": sanitize(s.prompt),
        "completion": sanitize(s.completion),
        "reward": fin(s.reward),
        "advantage": fin(s.advantage),
        "rewards": {sanitize(k, single_line=True): fin(v) for k, v in s.rewards},
    }


def _std(xs: list[float]) -> float | None:
    if len(xs) < 2:
        return None
    m = sum(xs) / len(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / len(xs))


async def read_samples_in_background(app: RltuiApp) -> None:
    """After the first load: read every run's samples (newest first) in a thread, so the samples
    gauge fills in and later polls follow new steps; the dashboard never waits for it."""
    fed = 0
    for run in list(app.runs):
        read = getattr(run, "read_samples", None)
        if callable(read):
            fed += await off_loop(read)
    if fed:
        app.request_snapshots()
