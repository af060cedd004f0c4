"""Issue 12's "done when": the README's keys table names every key the footers show.

The footers are built from the screens' and the app's bindings (``show=True``); a key added to a
screen without a README row, or a row left behind for a key that moved, fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

from textual.binding import Binding

from rltui.ui.app import RltuiApp
from rltui.ui.screens.dashboard import DashboardScreen
from rltui.ui.screens.sweep import SweepScreen, SweepTable

README = Path(__file__).resolve().parents[2] / "README.md"
#: How the README writes a key that Textual names otherwise.
SPELLING = {"question_mark": "?", "slash": "/", "escape": "esc", "space": "space", "enter": "enter"}


def _table() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("## The dashboard")
    return text[start : text.index("\n## ", start + 1)]


def _keys_in_table() -> set[str]:
    """Every backquoted key in the first column of the keys table."""
    keys: set[str] = set()
    for line in _table().splitlines():
        if line.startswith("| ") and not line.startswith("| key") and not line.startswith("|---"):
            first = line.split("|")[1]
            keys.update(k for group in re.findall(r"`([^`]+)`", first) for k in group.split())
    return keys


def _shown(bindings: list[Binding]) -> set[str]:
    return {SPELLING.get(b.key.split(",")[0], b.key.split(",")[0]) for b in bindings if b.show}


def test_every_footer_key_has_a_readme_row() -> None:
    table = _keys_in_table()
    footers = {
        "app": _shown([b for b in RltuiApp.BINDINGS if isinstance(b, Binding)]),
        "dashboard": _shown([b for b in DashboardScreen.BINDINGS if isinstance(b, Binding)]),
        "overview": _shown(
            [b for cls in (SweepScreen, SweepTable) for b in cls.BINDINGS if isinstance(b, Binding)]
        ),
    }
    missing = {where: sorted(keys - table) for where, keys in footers.items() if keys - table}
    assert missing == {}, f"keys in a footer but not in README's keys table: {missing}"
