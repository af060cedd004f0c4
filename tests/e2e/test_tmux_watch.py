"""``rltui watch`` in a real terminal, following a run that a TRL-shaped writer is still writing.

The run folder has what HF's TensorBoardCallback leaves before the first checkpoint: only
``runs/<stamp>/events.out.tfevents.*`` (no trainer_state.json), the TrainingArguments JSON as an
``args/text_summary`` text event and one flushed batch of ``train/*`` scalars per log step.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e._tmux import EXIT_MARK, Tmux, header_max_steps, header_step, rltui
from tests.e2e._writer import DPO_CONFIG, TrlEventWriter, exploding_dpo, healthy_dpo

pytestmark = [pytest.mark.tmux, pytest.mark.slow]


def _at_step(n: int) -> Callable[[str], bool]:
    return lambda screen: header_step(screen) == n


def _alert_shown(screen: str, alert_id: str) -> bool:
    """The banner names the alert by id ("margin_runaway since step N: ...")."""
    return f"{alert_id} since step" in screen


def test_watch_follows_appended_steps_then_raises_the_banner_and_quits(tmp_path: Path) -> None:
    run = tmp_path / "dpo-beta0.1"
    with TrlEventWriter(run) as writer, Tmux() as term:
        writer.write_args(DPO_CONFIG)
        for step in range(1, 4):
            writer.log(step, healthy_dpo(step))

        term.start(rltui("watch", str(run)))
        screen = term.wait_for(lambda s: header_step(s) == 3, "the header at step 3")
        assert "dpo-beta0.1" in screen  # run name
        assert "trl/dpo" in screen.split("\n", 1)[0]  # framework/trainer, detected from config and tags
        assert header_max_steps(screen) == DPO_CONFIG["max_steps"]  # from args/text_summary

        # Live steps: each append must reach the screen without any key press.
        for step in range(4, 9):
            writer.log(step, healthy_dpo(step))
            term.wait_for(_at_step(step), f"the header at step {step}", timeout=10)
            time.sleep(0.2)
        assert not _alert_shown(term.capture(), "margin_runaway")

        # The run starts memorising the pairs: margins far above 50 with accuracy 1 and loss ~0.
        last = 8 + 30
        for step in range(9, last + 1):
            writer.log(step, exploding_dpo(step, since=9))
            time.sleep(0.05)
        screen = term.wait_for(
            lambda s: _alert_shown(s, "margin_runaway") and header_step(s) == last,
            f"the margin_runaway banner and step {last}",
        )
        first = int(screen.split("margin_runaway since step", 1)[1].split(":", 1)[0].split()[0])
        assert 9 <= first <= last  # the alert starts inside the exploding stretch, not before it

        term.send("q")
        screen = term.wait_text(EXIT_MARK, timeout=10)
        assert f"{EXIT_MARK} rc=0" in screen


def test_watch_nan_loss_raises_nonfinite(tmp_path: Path) -> None:
    run = tmp_path / "dpo-nan"
    with TrlEventWriter(run) as writer, Tmux() as term:
        writer.write_args(DPO_CONFIG)
        for step in range(1, 6):
            writer.log(step, healthy_dpo(step))
        term.start(rltui("watch", str(run)))
        term.wait_for(lambda s: header_step(s) == 5, "the header at step 5")
        assert not _alert_shown(term.capture(), "nonfinite")

        writer.log(6, healthy_dpo(6) | {"loss": float("nan"), "grad_norm": float("nan")})
        screen = term.wait_for(lambda s: _alert_shown(s, "nonfinite"), "the nonfinite banner")
        assert "nonfinite since step 6" in screen
        term.send("q")
        term.wait_text(EXIT_MARK, timeout=10)
