"""Issue 12: ``?`` is help for the current screen: its keys come first, then the keys that work
everywhere, then the other screens'."""

from __future__ import annotations

from rltui.ui.app import RltuiApp
from rltui.ui.screens.help import KEYS, SCOPE_TITLE, HelpScreen, help_text
from rltui.ui.screens.run_info import RunInfoScreen
from tests.ui._text import screen_text
from tests.ui.conftest import dashboard_app, settle


def _headings(app: RltuiApp) -> list[str]:
    text = screen_text(app)
    return [line.strip() for line in text.splitlines() if line.strip().startswith("Keys")]


async def test_help_starts_with_the_keys_of_the_screen_it_was_opened_on() -> None:
    app = dashboard_app("dpo_margin_explosion")
    async with app.run_test(size=(110, 60)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert _headings(app)[:2] == ["Keys on this screen (Dashboard)", "Keys everywhere"]
        await pilot.press("escape", "a")
        await pilot.press("question_mark")
        assert _headings(app)[:2] == ["Keys on this screen (Alerts)", "Keys everywhere"]
        assert "show all → active → active warn/critical" in screen_text(app)
        await pilot.press("escape", "escape", "enter")  # the focused gauge's chart
        await pilot.press("question_mark")
        assert _headings(app)[0] == "Keys on this screen (Detail chart)"
        await pilot.press("escape", "escape", "i")
        assert isinstance(app.screen, RunInfoScreen)
        await pilot.press("question_mark")
        assert _headings(app)[0] == "Keys on this screen (Run info)"


async def test_replay_help_lists_replay_then_dashboard_keys() -> None:
    app = dashboard_app("dpo_margin_explosion", mode="replay", autoplay=False)
    async with app.run_test(size=(110, 60)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        assert _headings(app)[:3] == [
            "Keys on this screen (Replay)",
            "Keys on this screen (Dashboard)",
            "Keys everywhere",
        ]


def test_every_screen_scope_has_keys_and_every_key_a_known_scope() -> None:
    scopes = {scope for scope, _, _ in KEYS}
    assert scopes == set(SCOPE_TITLE)
    plain = help_text(dashboard_app("dpo_healthy")).plain  # no origin: every block, none first
    assert "Keys on this screen" not in plain
    assert all(f"Keys: {SCOPE_TITLE[s]}" in plain for s in scopes if s != "everywhere")
