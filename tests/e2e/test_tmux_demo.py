"""``rltui demo`` on a fresh install: the bundled real run fails on screen, with no training."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e._tmux import EXIT_MARK, Tmux, header_step, rltui

pytestmark = [pytest.mark.tmux, pytest.mark.slow]


def test_demo_shows_the_margin_runaway_banner(tmp_path: Path) -> None:
    # Run from an empty folder: the demo must not depend on the working directory.
    with Tmux() as term:
        term.start(rltui("demo"), cwd=tmp_path)
        screen = term.wait_for(lambda s: "margin_runaway since step" in s, "the margin_runaway banner")
        assert "dpo_margin_explosion" in screen
        assert "REPLAY" in screen  # the demo is a replay: the header says so instead of "live"
        step = header_step(screen)
        first = int(screen.split("margin_runaway since step", 1)[1].split(":", 1)[0].split()[0])
        assert step is not None
        assert first <= step  # a replay never shows an alert from the future
        term.send("q")
        assert f"{EXIT_MARK} rc=0" in term.wait_text(EXIT_MARK, timeout=10)
