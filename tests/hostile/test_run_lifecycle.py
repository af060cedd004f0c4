"""A run folder's life while it is watched: deleted, created again by a rerun."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from rltui.session import RunSession, open_sessions


def test_run_folder_deleted_then_recreated_starts_over(tmp_path: Path) -> None:
    """Deleted while watched: said so; created again (a rerun): its own length and points only."""
    run = tmp_path / "out"
    run.mkdir()

    def state(max_steps: int, last: int) -> str:
        rows = [{"step": s, "loss": 1.0 / s} for s in range(10, last + 1, 10)]
        return json.dumps({"global_step": last, "max_steps": max_steps, "log_history": rows})

    (run / "trainer_state.json").write_text(state(400, 400))
    (s,) = open_sessions([str(run)])
    s.load()
    assert (s.info.max_steps, s.store.last_step) == (400, 400)
    shutil.rmtree(run)
    assert s.poll() == 0
    assert any(p.message == RunSession.GONE for p in s.problems)
    run.mkdir()
    (run / "trainer_state.json").write_text(state(150, 50))
    s.poll()
    assert not any(p.message == RunSession.GONE for p in s.problems)
    assert (s.info.max_steps, s.store.last_step) == (150, 50)
    loss = s.store.get("loss")
    assert loss is not None
    assert loss.steps.tolist() == [10, 20, 30, 40, 50]
