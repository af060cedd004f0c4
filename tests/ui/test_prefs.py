"""Issue 12: ``[ui]`` settings (theme, smoothing, pinned/hidden gauges) that are remembered.

The pure part (parse, merge, order, the state file) is tested directly; the dashboard part through
Pilot on the real explosion fixture: ``p`` pins, ``d`` hides, ``u`` shows again, a chart's ``<``
``>`` and a theme change are remembered, and a new app started with what was saved shows it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rltui.commands.launch import _prefs
from rltui.model.config import Config
from rltui.ui.app import RltuiApp
from rltui.ui.prefs import (
    PrefsError,
    UiPrefs,
    arrange,
    from_mapping,
    load_state,
    save_state,
    state_path,
    to_toml,
)
from rltui.ui.screens.detail import DetailScreen
from rltui.ui.widgets.gauge import Gauge
from tests.ui._text import screen_text
from tests.ui.conftest import dashboard_app, settle

RUN = "dpo_margin_explosion"


def test_from_mapping_applies_and_names_bad_values() -> None:
    p = from_mapping({"theme": "nord", "smoothing": 0.8, "pinned": ["loss"], "hidden": ["throughput"]})
    assert p == UiPrefs(theme="nord", smoothing=0.8, pinned=("loss",), hidden=("throughput",))
    cases: list[tuple[dict[str, object], str]] = [
        ({"smoothing": 1.5}, "smoothing: expected a number from 0 to 0.99"),
        ({"smoothing": True}, "smoothing: expected a number"),
        ({"pinned": "loss"}, "pinned: expected a list"),
        ({"hidden": ["\x1b[31mred"]}, "is not a gauge id"),
        ({"colour": "red"}, "colour: unknown setting (known: theme, smoothing, pinned, hidden)"),
        ({"theme": ""}, "theme: expected a theme name"),
    ]
    for bad, words in cases:
        with pytest.raises(PrefsError, match=words.replace("(", r"\(").replace(")", r"\)")):
            from_mapping(bad)


def test_the_rules_config_accepts_a_ui_section_and_still_rejects_unknown_ones() -> None:
    Config.from_mapping({"ui": {"theme": "nord"}})
    with pytest.raises(ValueError, match="colours: unknown section"):
        Config.from_mapping({"colours": {}})


def test_arrange_puts_pinned_first_in_pin_order_and_leaves_hidden_out() -> None:
    prefs = UiPrefs().toggle_pin("kl").toggle_pin("loss").hide("lora")
    shown, hidden = arrange(["reward", "loss", "kl", "lora", "length"], prefs)
    assert shown == ["kl", "loss", "reward", "length"]
    assert hidden == ["lora"]
    # Pinning a hidden gauge shows it; hiding a pinned one unpins it; unpin is the same key.
    assert UiPrefs(hidden=("kl",)).toggle_pin("kl") == UiPrefs(pinned=("kl",))
    assert UiPrefs(pinned=("kl",)).hide("kl") == UiPrefs(hidden=("kl",))
    assert UiPrefs(pinned=("kl",)).toggle_pin("kl") == UiPrefs()


def test_state_file_round_trips_and_a_damaged_one_is_reported_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "state" / "rltui" / "ui.toml"
    prefs = UiPrefs(theme='we"ird\\', smoothing=0.35, pinned=("metric:loss",), hidden=("kl", "lora"))
    save_state(path, prefs)
    assert load_state(path, UiPrefs()) == (prefs, None)
    assert "[ui]" in to_toml(prefs)
    assert [p.name for p in path.parent.iterdir()] == ["ui.toml"]  # no temporary file left behind
    path.write_text("[ui]\nsmoothing = 'high'\n")
    base = UiPrefs(smoothing=0.7)
    got, problem = load_state(path, base)
    assert got == base
    assert problem is not None
    assert "ignored" in problem
    assert "smoothing" in problem
    path.write_bytes(b"\xff\xfe not toml")
    assert load_state(path, base)[0] == base
    assert load_state(tmp_path / "missing.toml", base) == (base, None)
    path.write_text("[ui]\npinned = " + "[" * 5000 + "]" * 5000 + "\n")  # nested past the parser's depth
    got, problem = load_state(path, base)
    assert got == base
    assert problem is not None


def test_state_path_follows_xdg_state_home(tmp_path: Path) -> None:
    assert state_path({"XDG_STATE_HOME": str(tmp_path)}) == tmp_path / "rltui" / "ui.toml"
    assert state_path({"HOME": "/home/u"}) == Path("/home/u/.local/state/rltui/ui.toml")


def test_launch_reads_ui_from_the_users_config_then_the_remembered_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    config = tmp_path / "rltui.toml"
    config.write_text('[ui]\ntheme = "nord"\nsmoothing = 0.9\n')
    prefs, save, problem = _prefs(str(config), [str(tmp_path)])
    assert (prefs.theme, prefs.smoothing, problem) == ("nord", 0.9, None)
    save(prefs.with_smoothing(0.25))  # what the app calls when < is pressed on a chart
    again, _, _ = _prefs(str(config), [str(tmp_path)])
    assert (again.theme, again.smoothing) == ("nord", 0.25)  # remembered wins over [ui]
    config.write_text("[ui]\nsmoothing = 2\n")
    with pytest.raises(PrefsError, match=r"smoothing: expected a number from 0 to 0\.99"):
        _prefs(str(config), [str(tmp_path)])


def _app(saved: list[UiPrefs], prefs: UiPrefs | None = None) -> RltuiApp:
    return dashboard_app(RUN, prefs=prefs or UiPrefs(), save_prefs=saved.append)


def _titles(app: RltuiApp) -> list[str]:
    return [g.instrument_id for g in app.screen.query(Gauge)]


async def test_pin_hide_and_unhide_gauges_are_remembered() -> None:
    saved: list[UiPrefs] = []
    app = _app(saved)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        before = _titles(app)
        assert len(before) >= 4
        third = before[2]
        await pilot.press("l", "j")  # the second row, second column: gauge 3 (0-based 3)
        focused = app.screen.focused
        assert isinstance(focused, Gauge)
        target = focused.instrument_id
        await pilot.press("p")
        await settle(pilot)
        assert _titles(app)[0] == target
        assert saved[-1].pinned == (target,)
        focused = app.screen.focused
        assert isinstance(focused, Gauge)
        assert focused.instrument_id == target  # focus followed it
        # Hide the third gauge of the original order.
        for g in app.screen.query(Gauge):
            if g.instrument_id == third:
                g.focus()
        await pilot.press("d")
        await settle(pilot)
        assert third not in _titles(app)
        assert saved[-1].hidden == (third,)
        text = screen_text(app)
        assert f"hidden: {third}" in text
        assert "u shows" in text
        assert "u Unhide" in text.splitlines()[-1]
        await pilot.press("u")
        await settle(pilot)
        assert third in _titles(app)
        assert not saved[-1].hidden
        assert "u Unhide" not in screen_text(app).splitlines()[-1]
    # A new session started with what was remembered shows the same layout.
    restarted = _app([], saved[-1])
    async with restarted.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert _titles(restarted)[0] == target


async def test_chart_smoothing_starts_from_the_prefs_and_is_remembered() -> None:
    saved: list[UiPrefs] = []
    app = _app(saved, UiPrefs(smoothing=0.8))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        detail = app.screen
        assert isinstance(detail, DetailScreen)
        assert detail.weight == 0.8
        assert "smoothing 0.80" in screen_text(app)
        await pilot.press("greater_than_sign")
        await settle(pilot)
        assert detail.weight == 0.85
        assert saved[-1].smoothing == 0.85
        assert "smoothing 0.85" in screen_text(app)


async def test_theme_from_prefs_applies_and_a_new_choice_is_remembered() -> None:
    saved: list[UiPrefs] = []
    app = _app(saved, UiPrefs(theme="nord"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.theme == "nord"
        assert saved == []  # starting with a theme is not a change
        app.theme = "gruvbox"  # what the palette's "Change theme" does
        await pilot.pause()
        await pilot.pause()
        assert saved[-1].theme == "gruvbox"


async def test_an_unknown_theme_is_named_and_the_default_kept() -> None:
    app = _app([], UiPrefs(theme="no-such-theme"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.theme != "no-such-theme"
        assert any("unknown theme" in str(n.message) for n in app._notifications)


async def test_a_state_file_that_cannot_be_written_warns_once(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    target = blocker / "ui.toml"  # under a file: cannot be created

    def save(p: UiPrefs) -> None:
        save_state(target, p)

    app = dashboard_app(RUN, save_prefs=save)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("p")
        await pilot.press("p")
        await settle(pilot)
        warnings = [n for n in app._notifications if "settings not remembered" in str(n.message)]
        assert len(warnings) == 1
        assert not os.path.exists(target)
