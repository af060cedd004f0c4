"""Issue 12, point 13: the first frame is not blank while the runs are read — the header says
which run is loading and the grid says the files are being read, until the first snapshot."""

from __future__ import annotations

import threading

from rltui.model.snapshot import RunSnapshot
from rltui.ui.app import RltuiApp, UiOptions
from rltui.ui.widgets.gauge import Gauge
from tests.ui._factory import FactoryRun, make_run
from tests.ui._text import screen_text
from tests.ui.conftest import FROZEN_NOW, settle


class SlowRun(FactoryRun):
    """A run whose first snapshot takes until the test releases it (a big event file)."""

    release: threading.Event

    def snapshot(self, at_step: int | None = None) -> RunSnapshot:
        assert self.release.wait(20)
        return super().snapshot(at_step)


def _slow(name: str) -> SlowRun:
    real = make_run(name)
    run = SlowRun(real.name, real.info, real.store)
    run.release = threading.Event()
    return run


async def test_the_first_frame_says_loading_until_the_first_snapshot() -> None:
    run = _slow("dpo_margin_explosion")
    app = RltuiApp([run], UiOptions(follow=False, frozen_now=FROZEN_NOW))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.pause()
        text = screen_text(app)
        assert "loading dpo_margin_explosion …" in text
        assert "reading the run files …" in text
        assert "q Quit" in text.splitlines()[-1]
        assert not list(app.screen.query(Gauge))
        run.release.set()
        await settle(pilot)
        text = screen_text(app)
        assert "reading the run files" not in text
        assert "loading dpo_margin_explosion" not in text
        assert list(app.screen.query(Gauge))
