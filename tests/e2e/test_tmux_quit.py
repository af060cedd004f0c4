"""``q`` ends rltui at once, whatever a reader is doing (issue 13: the UI never stops answering q).

A reader stuck for minutes (a hung network mount, a huge file on a slow disk) is simulated by a
``RunSession.poll`` that sleeps; the real app runs in a real terminal and must exit within seconds
of ``q``, not when the read returns.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from tests.e2e._tmux import EXIT_MARK, REPO, Tmux

pytestmark = [pytest.mark.tmux, pytest.mark.slow]

RUN = REPO / "fixtures" / "runs" / "dpo_healthy"

WRAPPER = """
import sys, time
from rltui import session
real_poll = session.RunSession.poll
def stuck_poll(self):
    time.sleep(300)  # a read that does not come back for minutes
    return real_poll(self)
session.RunSession.poll = stuck_poll
from rltui.cli import main
sys.exit(main(["watch", "--poll", "--poll-interval", "0.2", sys.argv[1]]))
"""


def test_q_quits_while_a_reader_is_stuck(tmp_path: Path) -> None:
    script = tmp_path / "stuck.py"
    script.write_text(WRAPPER)
    with Tmux() as term:
        term.start([sys.executable, str(script), str(RUN)])
        term.wait_text("dpo_healthy")
        time.sleep(1.0)  # the watcher is now inside the stuck poll
        term.send("q")
        began = time.monotonic()
        screen = term.wait_text(EXIT_MARK, timeout=20)
        assert time.monotonic() - began < 10, "quitting waited for the stuck reader"
        assert f"{EXIT_MARK} rc=0" in screen
