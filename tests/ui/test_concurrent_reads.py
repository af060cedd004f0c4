"""A followed run read from several threads at once: ingest, snapshots and the UI's series reads
while the file grows never fail and never show a series shrinking (the UI reads through
``RunSource.view`` while a worker thread ingests)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np

from rltui import session


def test_reads_and_snapshots_while_appending_never_fail_and_never_shrink(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    log = run / "metrics.jsonl"
    log.write_text("".join(json.dumps({"step": s, "loss": 1.0 / s}) + "\n" for s in range(1, 50)))
    (sess,) = session.open_sessions([str(run)])
    sess.load()
    stop = threading.Event()
    errors: list[BaseException] = []

    def guard(fn: object) -> None:
        try:
            fn()  # type: ignore[operator]
        except BaseException as exc:  # the test reports any failure
            errors.append(exc)
            stop.set()

    def writer() -> None:
        step = 50
        while not stop.is_set() and step < 20_000:
            with log.open("a") as fh:
                fh.write(
                    "".join(json.dumps({"step": s, "loss": 1.0 / s}) + "\n" for s in range(step, step + 20))
                )
            step += 20

    def ingest() -> None:
        while not stop.is_set():
            sess.poll()
            sess.rescan()

    def snapshots() -> None:
        while not stop.is_set():
            sess.snapshot()

    def reader() -> None:
        last = 0
        while not stop.is_set():
            view = sess.view("loss")
            assert view is not None
            n = len(view.steps)
            assert n >= last, f"points went back from {last} to {n}"
            assert len(view.values) == n
            assert np.all(np.diff(view.steps) > 0)
            last = n

    threads = [threading.Thread(target=guard, args=(f,)) for f in (writer, ingest, snapshots, reader)]
    for t in threads:
        t.start()
    time.sleep(2.0)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors[0]
    sess.poll()
    view = sess.view("loss")
    assert view is not None
    with log.open() as fh:
        written = sum(1 for _ in fh)
    assert len(view.steps) == written
