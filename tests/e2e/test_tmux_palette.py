"""Issue 12 in a real terminal: ctrl+p opens the command palette with rltui's own commands, ``i``
shows the run's hyperparameters, ``t`` the console tail, and a gauge pinned with ``p`` is written
to the state file (that a new app starts with it is tests/ui/test_prefs.py's)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e._tmux import REPO, Tmux, rltui

pytestmark = [pytest.mark.tmux, pytest.mark.slow]

RUN = REPO / "fixtures" / "runs" / "dpo_margin_explosion"


def test_palette_info_console_and_a_remembered_pin() -> None:
    state = Path(os.environ["XDG_STATE_HOME"]) / "rltui" / "ui.toml"
    state.unlink(missing_ok=True)
    with Tmux() as term:
        term.start(rltui("watch", str(RUN)))
        term.wait_text("margin_runaway")
        term.send("C-p")
        term.wait_text("Jump to alert")
        term.send("-l", "Run info")
        term.wait_text("Run info: hyperparameters")
        term.send("Enter")
        screen = term.wait_text("Hyperparameters")
        assert "beta" in screen
        term.send("Escape")
        term.wait_text("margin_runaway")
        term.send("t")
        screen = term.wait_text("train_runtime")  # the log's last dict, the view at its end
        assert "console.log" in screen.splitlines()[0]
        term.send("Escape")
        term.wait_text("margin_runaway")
        term.send("l")  # the second gauge
        term.send("p")
        term.wait_for(lambda s: state.exists(), "the state file")
        pinned = state.read_text()
        assert "pinned = [" in pinned
        term.send("q")
    gauge_id = pinned.split("pinned = [", 1)[1].split("]", 1)[0].strip('"')
    assert gauge_id
    assert "," not in gauge_id  # exactly one gauge pinned
