"""``i``: the run itself — its hyperparameters (β, learning rate, batch size, max lengths...),
what was detected, and the files read.

A verdict is only as good as what it knows of the run: "β 0.1, max_completion_length 256" next to
"length at the cap" is the explanation, so the knobs the rules read come first, then every other
config value. With several runs the values sit side by side, the keys that differ first (what the
sweep varied), each value sanitised (a config is the run's text).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType

from rltui import numfmt
from rltui.model.snapshot import RunSnapshot
from rltui.ui.glyphs import safe
from rltui.ui.host import Host
from rltui.ui.names import distinct_names
from rltui.ui.screens.text_page import TextPage

#: The knobs the rules and a reader of a failing run look at first, in this order.
HYPERPARAMETERS = (
    "beta",
    "learning_rate",
    "lr_scheduler_type",
    "warmup_ratio",
    "warmup_steps",
    "per_device_train_batch_size",
    "gradient_accumulation_steps",
    "num_generations",
    "max_length",
    "max_prompt_length",
    "max_completion_length",
    "loss_type",
    "epsilon",
    "epsilon_high",
    "temperature",
    "max_grad_norm",
    "weight_decay",
    "num_train_epochs",
    "max_steps",
    "lora_r",
    "lora_alpha",
    "seed",
)
VALUE_WIDTH = 28
#: Runs side by side at most (a 100-run sweep opened from the palette): the rest are named.
MAX_RUNS = 8


def value_text(value: object) -> str:
    """A config value as one short line: numbers as the dashboard writes them, text sanitised."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return numfmt.num(value) if math.isfinite(value) else str(value)
    if isinstance(value, int):
        return str(value)
    return safe(str(value), 80)


def _keys(snaps: Sequence[RunSnapshot]) -> tuple[list[str], list[str]]:
    """(hyperparameters present, every other key), keys that differ between runs first in each."""
    seen: dict[str, None] = {}
    for s in snaps:
        seen.update(dict.fromkeys(k for k in s.info.config if isinstance(k, str)))

    def differs(k: str) -> bool:
        return len({value_text(s.info.config.get(k)) for s in snaps}) > 1

    known = [k for k in HYPERPARAMETERS if k in seen]
    rest = sorted(k for k in seen if k not in HYPERPARAMETERS)
    return sorted(known, key=lambda k: not differs(k)), sorted(rest, key=lambda k: not differs(k))


def _rows(t: Text, keys: list[str], snaps: Sequence[RunSnapshot]) -> None:
    width = min(32, max((len(safe(k, 40)) for k in keys), default=0) + 1)
    several = len(snaps) > 1
    for k in keys:
        values = [value_text(s.info.config.get(k)) for s in snaps]
        differ = several and len(set(values)) > 1
        t.append(f"  {safe(k, 40):<{width}}", style="bold yellow" if differ else "bold")
        for v in values:
            t.append(f" {v[:VALUE_WIDTH]:<{VALUE_WIDTH}}" if several else f" {v}")
        t.append("\n")


def info_text(snaps: Sequence[RunSnapshot | None]) -> Text:
    ready = [s for s in snaps if s is not None]
    t = Text()
    if not ready:
        t.append("loading …", style="dim")
        return t
    if len(ready) > MAX_RUNS:
        left = len(ready) - MAX_RUNS
        t.append(
            f"{left} more run{'s' if left != 1 else ''} not shown: open one from the overview (o, enter) "
            "and press i there\n\n",
            style="yellow",
        )
        ready = ready[:MAX_RUNS]
    names = distinct_names([s.info.name for s in ready])
    several = len(ready) > 1
    for s, name in zip(ready, names, strict=True):
        info = s.info
        t.append(f"{safe(name, 80)}\n", style="bold underline")
        t.append(f"  path       {safe(info.path, 200)}\n")
        t.append(f"  trainer    {safe(info.framework, 20)} {safe(info.trainer, 20)}\n")
        steps = f"{s.step if s.step is not None else '–'}/{info.max_steps or '?'}"
        t.append(f"  step       {steps}, logging every {info.logging_steps or '?'}\n")
        t.append("\n")
    known, rest = _keys(ready)
    if several:
        t.append(f"  {'':<{min(32, max((len(k) for k in known + rest), default=0) + 1)}}", style="bold")
        for name in names:
            t.append(f" {safe(name, VALUE_WIDTH):<{VALUE_WIDTH}}", style="bold")
        t.append("\n")
    t.append("Hyperparameters\n", style="bold underline")
    if known:
        _rows(t, known, ready)
    else:
        t.append(
            "  none logged: TRL writes them to args/text_summary (TensorBoard) and trainer_state.json's "
            "folder has no copy; a tracker run keeps them in its config\n",
            style="dim",
        )
    if rest:
        t.append(f"\nAll other config ({len(rest)} keys", style="bold underline")
        t.append("; yellow: differs between the runs)\n" if several else ")\n", style="bold underline")
        _rows(t, rest, ready)
    if not several and ready[0].sources:
        # Last: what was read is for when the numbers above look wrong, not the first question.
        t.append("\nFiles read\n", style="bold underline")
        for src in ready[0].sources:
            line = f"  {safe(src.kind, 14):<14} {src.points:>8} points  {safe(src.path, 160)}\n"
            t.append(line, style="dim")
    return t


class RunInfoScreen(TextPage):
    HELP_SCOPE = "info"  # which keys ? lists first
    PAGE = "info"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,i", "app.pop_screen", "Back")]

    def __init__(self, host: Host) -> None:
        super().__init__()
        self.host = host

    def text(self) -> Text:
        return info_text(list(self.host.snapshots))

    def on_mount(self) -> None:
        self.watch(self.app, "snapshots", self.redraw, init=False)
