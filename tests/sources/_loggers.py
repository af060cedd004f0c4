"""Shared helpers of the tracker reader tests: the real-writer fixtures and their ground truth.

The fixtures in ``fixtures/loggers/`` were written by the trackers' own libraries replaying a
real TRL run's ``log_history`` (``fixtures/make_logger_fixtures.py``). That ``log_history`` is
the ground truth: every logged number must come back exactly once, at its step, under its
``trainer_state.json`` name (design.md §4), whatever the tracker renamed it to.
"""

from __future__ import annotations

import json
import math
import shutil
from collections import Counter
from pathlib import Path

from rltui.records import ReadResult
from rltui.sources.base import SourceReader

REPO = Path(__file__).resolve().parents[2]
RUNS = REPO / "fixtures" / "runs"
LOGGERS = REPO / "fixtures" / "loggers"

Point = tuple[str, int, float | str]


def _key(value: float) -> float | str:
    """NaN never equals itself: compare it as a word."""
    return "nan" if math.isnan(value) else value


def expected_points(run: str, *, finite_only: bool = False, first_per_step: bool = False) -> Counter[Point]:
    """Every number of ``run``'s ``log_history`` as (trainer_state name, step, value), counted:
    a key logged twice at one step (``epoch`` of the last train row and of the summary row) is
    two log calls, so two points. ``first_per_step``: a tracker that keeps one value per key and
    step (SwanLab refuses the second at log time) holds only the first."""
    state = json.loads((RUNS / run / "trainer_state.json").read_text())
    out: Counter[Point] = Counter()
    for row in state["log_history"]:
        step = int(row["step"])
        for key, value in row.items():
            if key == "step" or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            if finite_only and not math.isfinite(value):
                continue
            if first_per_step and any(k[0] == key and k[1] == step for k in out):
                continue
            out[(key, step, _key(float(value)))] += 1
    return out


def points_of(results: list[ReadResult]) -> list[Point]:
    """Every point the results gave, in order, with duplicates kept (the tests count them)."""
    out: list[Point] = []
    for r in results:
        for name, chunk in r.chunks.items():
            assert len(chunk.steps) == len(chunk.values) == len(chunk.wall_times)
            out.extend((name, int(s), _key(float(v))) for s, v in zip(chunk.steps, chunk.values, strict=True))
    return out


def read_all(reader: SourceReader, polls: int = 3) -> list[ReadResult]:
    """Poll a reader a few times (the later polls must add nothing to a finished file)."""
    return [reader.read() for _ in range(polls)]


def copy_fixture(name: str, dst: Path) -> Path:
    """A private copy of a fixture folder (readers are checked never to write to it)."""
    target = dst / name
    shutil.copytree(LOGGERS / name, target, symlinks=True)
    return target


def snapshot_tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` and its bytes: a reader that writes anything changes this."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
