"""The dashboard in a real terminal on runs of another host (a real sshd on 127.0.0.1): a live
run written while rltui watches it, the connection dropped and resumed, and a remote tmux pane.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.e2e._tmux import EXIT_MARK, Tmux, at_step, header_step, rltui
from tests.e2e._writer import DPO_CONFIG, TrlEventWriter, healthy_dpo
from tests.e2e.test_tmux_pane import log_dict
from tests.remote._sshd import ALIAS, Sshd, training_pane

pytestmark = [pytest.mark.tmux, pytest.mark.slow]


def test_watch_a_remote_run_live_through_a_dropped_connection(remote: Sshd, tmp_path: Path) -> None:
    run = tmp_path / "dpo-far"
    with TrlEventWriter(run) as writer, Tmux() as term:
        writer.write_args(DPO_CONFIG | {"max_steps": 100})
        for step in range(1, 4):
            writer.log(step, healthy_dpo(step))
        term.start(["env", f"RLTUI_SSH_COMMAND={remote.ssh_command}", *rltui("watch", f"{ALIAS}:{run}")])
        screen = term.wait_for(lambda s: header_step(s) == 3, "the remote run at step 3")
        assert "dpo-far" in screen
        for step in range(4, 8):
            writer.log(step, healthy_dpo(step))
            term.wait_for(at_step(step), f"the header at step {step}", timeout=10)

        remote.kill_connections()
        writer.log(8, healthy_dpo(8))
        # Either the loss is seen (and shown) first, or the reconnect is fast enough to only show
        # step 8; both must end at step 8 with the connection back.
        term.wait_for(lambda s: header_step(s) == 8, "step 8 after the connection was dropped", timeout=20)
        for step in range(9, 12):
            writer.log(step, healthy_dpo(step))
        screen = term.wait_for(lambda s: header_step(s) == 11, "step 11 after the reconnect", timeout=20)
        assert "lost since" not in screen
        term.send("q")
        assert f"{EXIT_MARK} rc=0" in term.wait_text(EXIT_MARK, timeout=10)


def test_lost_connection_is_shown_with_host_and_time(remote: Sshd, tmp_path: Path) -> None:
    """sshd itself stops (a rebooting box): the header names the host and since when."""
    run = tmp_path / "dpo-far"
    with TrlEventWriter(run) as writer, Tmux() as term:
        writer.write_args(DPO_CONFIG | {"max_steps": 100})
        for step in range(1, 4):
            writer.log(step, healthy_dpo(step))
        term.start(["env", f"RLTUI_SSH_COMMAND={remote.ssh_command}", *rltui("watch", f"ssh://{ALIAS}{run}")])
        term.wait_for(lambda s: header_step(s) == 3, "the remote run at step 3")
        remote.pause()
        try:
            screen = term.wait_text(f"ssh connection to {ALIAS} lost since", timeout=20)
            assert "UTC" in screen
        finally:
            remote.resume()
        writer.log(4, healthy_dpo(4))
        term.wait_for(lambda s: header_step(s) == 4, "step 4 once sshd is back", timeout=45)
        term.send("q")
        term.wait_text(EXIT_MARK, timeout=10)


def test_watch_a_remote_tmux_pane(remote: Sshd, tmp_path: Path) -> None:
    out = tmp_path / "train.out"
    out.write_text("".join(log_dict(s) for s in range(1, 4)))
    with training_pane(remote, out), Tmux() as term:
        argv = rltui("watch", "--tmux", f"ssh://{ALIAS}/train:0.0")
        term.start(["env", f"RLTUI_SSH_COMMAND={remote.ssh_command}", *argv])
        screen = term.wait_for(lambda s: header_step(s) == 3, "the remote pane's scrollback (step 3)")
        assert f"ssh://{ALIAS}/train:0.0" in screen
        for step in range(4, 7):
            with out.open("a") as f:
                f.write(log_dict(step))
            term.wait_for(at_step(step), f"the header at step {step}", timeout=10)
        term.send("q")
        assert f"{EXIT_MARK} rc=0" in term.wait_text(EXIT_MARK, timeout=10)


def test_replay_and_compare_remote_runs_mixed_with_local(remote: Sshd) -> None:
    from tests.e2e._tmux import REPO

    runs = REPO / "fixtures" / "runs"
    ssh_env = f"RLTUI_SSH_COMMAND={remote.ssh_command}"
    with Tmux() as term:
        term.start(
            ["env", ssh_env, *rltui("replay", f"{ALIAS}:{runs / 'dpo_margin_explosion'}", "--speed", "1000")]
        )
        screen = term.wait_for(
            lambda s: "REPLAY" in s and (header_step(s) or 0) > 0, "the remote replay playing"
        )
        assert "dpo_margin_explosion" in screen
        term.send("q")
        term.wait_text(EXIT_MARK, timeout=10)
    with Tmux() as term:
        argv = rltui("compare", f"ssh://{ALIAS}{runs / 'dpo_healthy'}", str(runs / "dpo_margin_explosion"))
        term.start(["env", ssh_env, *argv])
        # The compare header names runs by what tells them apart (the shared "dpo_" prefix is
        # dropped), so each run is recognised by its name and its own final step.
        term.wait_for(
            lambda s: (
                re.search(r"^\s*healthy\s+step 150/150", s, re.M) is not None
                and re.search(r"^\s*margin_explosion\s+step 800/800", s, re.M) is not None
            ),
            "both runs, remote and local, read to their last step",
        )
        term.send("q")
        assert f"{EXIT_MARK} rc=0" in term.wait_text(EXIT_MARK, timeout=10)
