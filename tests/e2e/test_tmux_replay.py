"""``rltui replay`` of the real TRL margin-explosion run: playback, pause, jump to the end."""

from __future__ import annotations

import json
import time

import pytest

from tests.e2e._tmux import EXIT_MARK, REPO, Tmux, header_max_steps, header_step, rltui

pytestmark = [pytest.mark.tmux, pytest.mark.slow]

RUN = REPO / "fixtures" / "runs" / "dpo_margin_explosion"


def _last_logged_step() -> int:
    """The run's last step, from trainer_state.json read with the stdlib (not rltui)."""
    text = (RUN / "trainer_state.json").read_text()
    state = json.loads(text)  # Python's json accepts the NaN/Infinity literals HF writes
    return max(int(e["step"]) for e in state["log_history"] if "step" in e)


def _settled_step(term: Tmux, hold: float = 0.5, timeout: float = 10.0) -> int:
    """The header step once it has not changed for ``hold`` seconds."""
    deadline = time.monotonic() + timeout
    step = header_step(term.capture())
    since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = header_step(term.capture())
        if now != step:
            step, since = now, time.monotonic()
        elif step is not None and time.monotonic() - since >= hold:
            return step
    pytest.fail(f"the header step never settled after the pause (last seen {step})")


def test_replay_advances_pauses_and_jumps_to_the_end() -> None:
    last = _last_logged_step()
    with Tmux() as term:
        term.start(rltui("replay", str(RUN), "--speed", "200"))
        screen = term.wait_for(lambda s: (header_step(s) or 0) > 0, "the replay to start")
        first = header_step(screen)
        assert first is not None
        assert header_max_steps(screen) == last
        screen = term.wait_for(lambda s: (header_step(s) or 0) > first, "the step to advance")
        assert "REPLAY playing" in screen

        term.send("Space")
        term.wait_text("REPLAY paused", timeout=10)
        # The header's step comes from a snapshot computed off the UI loop, so it may still catch
        # up to the cursor for a moment after the pause: wait until it holds still.
        paused_at = _settled_step(term)
        assert paused_at < last, "the replay reached the end before the pause key arrived"
        time.sleep(1.0)  # at 200 steps/s, a second of playing would move it by ~200 steps
        screen = term.capture()
        assert header_step(screen) == paused_at
        assert "REPLAY paused" in screen

        term.send("G")
        screen = term.wait_for(lambda s: header_step(s) == last, f"step {last} after G")
        assert f"step {last}/{last}" in screen
        term.send("q")
        assert f"{EXIT_MARK} rc=0" in term.wait_text(EXIT_MARK, timeout=10)
