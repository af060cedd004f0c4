"""A console log read in slices (bounded memory) gives exactly what one pass over it gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rltui.sources import console
from rltui.sources.console import ConsoleLogReader


def _log(path: Path) -> None:
    lines = []
    for step in range(1, 400):
        lines.append(f"\r{step // 4:3d}%|██ | {step}/400 [00:01<00:02, 9.1it/s]")
        row = {"loss": 1 / step, "grad_norm": step * 0.5, "learning_rate": 1e-05, "epoch": step / 400}
        lines.append("\r" + repr(row) + "\n")
        if step % 50 == 0:
            lines.append("{'loss': 1, 'grad_norm'}\n")  # malformed: a problem at its offset
            lines.append(repr({"eval_loss": 2 / step, "epoch": step / 400}) + "\n")
    path.write_text("".join(lines), encoding="utf-8")


def _read(
    path: Path,
) -> tuple[dict[str, tuple[list[int], list[float], list[int]]], list[tuple[int | None, str]]]:
    r = ConsoleLogReader(str(path)).read()
    chunks = {
        k: (c.steps.tolist(), c.values.tolist(), c.offsets.tolist() if c.offsets is not None else [])
        for k, c in r.chunks.items()
    }
    return chunks, [(p.offset, p.message) for p in r.problems]


def test_slices_give_the_same_points_and_problems(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "console.log"
    _log(path)
    whole = _read(path)
    assert len(whole[0]["loss"][0]) == 399
    assert whole[1]
    monkeypatch.setattr(console, "SLICE_BYTES", 997)  # cuts lines, dicts and UTF-8 bars anywhere
    sliced = _read(path)
    assert sliced == whole
    assert np.all(np.diff(sliced[0]["loss"][0]) > 0)
