"""``rltui watch`` started on an empty folder before the training writes anything (the usual order),
in a real terminal: the run created inside the folder must take over the dashboard."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.e2e._tmux import REPO, Tmux, header_step, rltui

pytestmark = [pytest.mark.tmux, pytest.mark.slow]

RUN = REPO / "fixtures" / "runs" / "dpo_healthy"
SPARK = set("▁▂▃▄▅▆▇█")


def test_a_run_created_in_the_watched_empty_folder_shows_up(tmp_path: Path) -> None:
    folder = tmp_path / "e"
    folder.mkdir()
    history = json.loads((RUN / "trainer_state.json").read_text())["log_history"]
    last = max(int(e["step"]) for e in history)
    with Tmux() as term:
        term.start(rltui("watch", str(folder)))
        term.wait_for(lambda s: s.startswith(" e ") or "\n e " in s[:200], "the empty folder's header")
        shutil.copytree(RUN, folder / "run1")
        screen = term.wait_for(
            lambda s: header_step(s) == last and "run1" in s.splitlines()[0],
            f"run1 at step {last} in the header",
        )
        assert "unknown/unknown" not in screen.splitlines()[0]
        assert any(c in screen for c in SPARK)  # the gauges have sparklines ...
        term.send("?")
        help_screen = term.wait_text("Keys on this screen (Dashboard)")
        # ... and none of them shows through the help screen, at any edge. The help's own
        # scrollbar (the two rightmost columns) draws its thumb with the same block glyphs.
        body = "\n".join(line[:-2] for line in help_screen.splitlines())
        assert not any(c in body for c in SPARK), help_screen
        term.send("q")
