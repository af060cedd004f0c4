"""The pump finds a run created in a watched empty folder even when the file events never come.

Found in CI: on a loaded machine the run's files were copied in before watchfiles had set up its
watch, the creation event was never seen, and the dashboard stayed on "no run yet". These tests
run the real pump on a real folder and real sessions, with the watcher replaced by one that hears
nothing (a lost event) or one that fails at once (no inotify): the run must still take over.
"""

from __future__ import annotations

import contextlib
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rltui.session import open_new_sessions, open_sessions
from rltui.ui.pump import PLACEHOLDER_RESCAN_S, SAFETY_READ_S, Batch, Pump, PumpConfig
from rltui.ui.runs import RunSource

RUN = Path(__file__).resolve().parents[2] / "fixtures" / "runs" / "dpo_healthy"


def _pump_on_empty_folder(folder: Path, batches: list[Batch], stop: threading.Event) -> Pump:
    sessions = open_sessions([str(folder)], wait=True)
    runs: list[RunSource] = list(sessions)

    def reopen() -> list[RunSource]:
        fresh = open_new_sessions([str(folder)], sessions)
        sessions.extend(fresh)
        return list(fresh)

    config = PumpConfig(reopen=reopen, watch_roots=(str(folder),))
    return Pump(runs, config, batches.append, stop)


def until(ready: Callable[[], bool], timeout: float) -> None:
    """Wait (polling) until ``ready()`` or the timeout; the caller asserts what it needs."""
    deadline = time.monotonic() + timeout
    while not ready() and time.monotonic() < deadline:
        time.sleep(0.02)


@contextlib.contextmanager
def running(pump: Pump) -> Iterator[None]:
    """The pump's loop in a thread for the block; stopped (and joined) after it."""
    worker = threading.Thread(target=pump.run, daemon=True)
    worker.start()
    try:
        yield
    finally:
        pump.close()
        worker.join(5)
    assert not worker.is_alive()


def _joined(batches: list[Batch], name: str) -> Batch | None:
    return next((b for b in list(batches) if name in b.new_runs), None)


@pytest.mark.parametrize("watcher", ["deaf", "broken"])
def test_a_run_whose_creation_event_is_lost_still_takes_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, watcher: str
) -> None:
    folder = tmp_path / "e"
    folder.mkdir()
    stop = threading.Event()

    def deaf(self: Pump) -> None:
        stop.wait()

    def broken(self: Pump) -> None:
        raise OSError(28, "inotify watch limit reached")

    monkeypatch.setattr(Pump, "_watch_file_events", deaf if watcher == "deaf" else broken)
    batches: list[Batch] = []
    pump = _pump_on_empty_folder(folder, batches, stop)
    with running(pump):
        until(lambda: bool(batches), 5)
        assert batches
        assert batches[0].baseline
        assert not batches[0].new_runs
        shutil.copytree(RUN, folder / "run1")
        until(lambda: _joined(batches, "run1") is not None, PLACEHOLDER_RESCAN_S + 5)
        batch = _joined(batches, "run1")
        assert batch is not None, f"run1 never joined; new_runs seen: {[b.new_runs for b in batches]}"
        (snap,) = batch.snapshots
        assert snap is not None
        assert snap.step == 150  # the whole run was read, not a stand-in
        assert [r.info.name for r in batch.runs] == ["run1"]
        assert pump.watch_failed is (watcher == "broken")


def test_an_append_made_before_the_watcher_was_ready_is_still_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CI failure behind this: the header showed step 5, the NaN step 6 was appended while
    watchfiles was still setting up, no event came, and the nonfinite banner never showed."""
    run = tmp_path / "run"
    run.mkdir()
    log = run / "train.log"
    line = "{{'loss': {loss}, 'grad_norm': 1.0, 'learning_rate': 1e-05, 'epoch': {epoch}}}\n"
    log.write_text("".join(line.format(loss=0.7 - s / 100, epoch=s / 100) for s in range(1, 6)))
    stop = threading.Event()
    monkeypatch.setattr(Pump, "_watch_file_events", lambda self: stop.wait())
    batches: list[Batch] = []
    pump = Pump(list(open_sessions([str(run)])), PumpConfig(), batches.append, stop)
    with running(pump):
        until(lambda: bool(batches), 5)
        (first,) = batches[0].snapshots
        assert first is not None
        assert first.step == 5
        with log.open("a") as fh:
            fh.write(line.format(loss="nan", epoch=0.06))

        def at_six() -> bool:
            snap = batches[-1].snapshots[0]
            return snap is not None and snap.step == 6

        until(at_six, SAFETY_READ_S + 5)
        last = batches[-1].snapshots[0]
        assert last is not None
        assert last.step == 6
        assert any(a.id == "nonfinite" and a.active for a in last.alerts)
