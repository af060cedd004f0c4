"""A sweep checked by forked workers (one run each) reports exactly what one process reports."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from rltui import cli
from rltui.commands import check
from rltui.session import RunSession

ROOT = Path(__file__).resolve().parent.parent
SWEEP = ROOT / "fixtures" / "runs"  # six real TRL runs side by side: a sweep folder


def _check_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, object]]:
    code = cli.main(["check", "--json", *argv])
    return code, json.loads(capsys.readouterr().out)


def test_forked_workers_give_the_same_report(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("one core: the check never forks")
    serial = _check_json(capsys, str(SWEEP))
    monkeypatch.setattr(check, "PARALLEL_MIN_BYTES", 0)
    chosen: list[int] = []
    real_workers = check._workers

    def workers(sessions: list[RunSession]) -> int:
        chosen.append(real_workers(sessions))
        return chosen[-1]

    monkeypatch.setattr(check, "_workers", workers)
    forked = _check_json(capsys, str(SWEEP))
    assert chosen == [min(6, len(os.sched_getaffinity(0)))]  # a pool of workers did the runs
    assert forked == serial
    runs = forked[1]["runs"]
    assert isinstance(runs, list)
    assert len(runs) == 6
    assert any(r["alerts"] for r in runs)


def test_one_run_or_tiny_runs_stay_in_process() -> None:
    assert check._workers([]) == 1
    assert check._workers([object()]) == 1  # type: ignore[list-item]
