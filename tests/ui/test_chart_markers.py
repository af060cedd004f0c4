"""Issue 12, point 11: overlaid series were told apart by colour alone. Each series now has its
own marker on the chart and before its name in the legend, so a monochrome reading still works."""

from __future__ import annotations

from rltui.ui.screens.detail import LEGEND_GLYPH, MARKERS, DetailScreen
from tests.ui._text import screen_text
from tests.ui.conftest import settle
from tests.ui.test_snapshots import session_app


async def test_compare_chart_gives_each_run_its_own_marker() -> None:
    app = session_app("dpo_healthy", "dpo_margin_explosion")
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.pause(0.2)
        await pilot.press("down", "enter")
        for _ in range(40):
            await pilot.pause(0.05)
            if isinstance(app.screen, DetailScreen):
                break
        await pilot.pause(0.5)
        text = screen_text(app)
        lines = text.splitlines()
        legend = next(line for line in lines if "healthy" in line and "margin_explosion" in line)
        first, second = LEGEND_GLYPH.get(MARKERS[0], MARKERS[0]), MARKERS[1]
        assert f"{first} healthy" in legend
        assert f"{second} margin_explosion" in legend
        plot = "\n".join(lines[1 : lines.index(legend)])
        assert second in plot  # the second run is drawn with its marker ...
        assert any("\u2800" <= ch <= "\u28ff" for ch in plot)  # ... the first as a braille line
