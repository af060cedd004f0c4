"""CSV and screenshot files: where they go and what the CSV holds.

Files are written to the current directory, never into a run directory (rltui must not touch a
run's files): if the current directory is inside a run, the home directory is used instead.
"""

from __future__ import annotations

import csv
import re
import time
from collections.abc import Iterable
from pathlib import Path

from rltui.model.store import SeriesView


def output_dir(run_paths: Iterable[str]) -> Path:
    cwd = Path.cwd().resolve()
    for p in run_paths:
        run = Path(p).resolve()
        run_dir = run if run.is_dir() else run.parent
        if cwd == run_dir or run_dir in cwd.parents:
            return Path.home()
    return cwd


def output_name(stem: str, suffix: str, now: float | None = None) -> str:
    clean = re.sub(r"[^A-Za-z0-9_.-]+", "_", stem).strip("_.")[:60] or "run"
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now if now is not None else time.time()))
    return f"rltui-{clean}-{stamp}.{suffix}"


#: Cells starting with these are formulas to spreadsheet tools (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def csv_text(text: str) -> str:
    """A run's text (run name, metric name) made inert in a CSV cell: a leading ``'`` before
    anything a spreadsheet would evaluate (``=HYPERLINK(...)``, ``+cmd``, ``@SUM``)."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def write_csv(path: Path, series: Iterable[tuple[str, SeriesView]]) -> int:
    """Long format: run, metric, step, wall_time, value. Returns the number of rows written."""
    rows = 0
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["run", "metric", "step", "wall_time", "value"])
        for run_name, view in series:
            for s, t, v in zip(
                view.steps.tolist(), view.wall_times.tolist(), view.values.tolist(), strict=True
            ):
                w.writerow([csv_text(run_name), csv_text(view.name), s, "" if t != t else repr(t), repr(v)])
                rows += 1
    return rows
