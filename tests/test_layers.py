"""The layers depend on each other in one direction only (design.md §2).

Checked on what actually gets imported, in a fresh interpreter, not by grepping source: a
transitive import of Textual through some helper module would slip past a grep.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

UI_MODULES = ("textual", "rich", "plotext", "textual_plotext", "watchfiles")


def _imported_after(statement: str) -> set[str]:
    code = (
        "import sys, json\n"
        f"{statement}\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout))


@pytest.mark.parametrize(
    "statement",
    [
        "import rltui.model.engine, rltui.model.store, rltui.model.stats, rltui.model.aliases",
        "import rltui.model.instruments, rltui.model.patterns, rltui.model.config",
    ],
)
def test_model_imports_no_terminal_or_watch_library(statement: str) -> None:
    loaded = _imported_after(statement)
    assert not loaded & set(UI_MODULES), f"model pulled in {sorted(loaded & set(UI_MODULES))}"


def test_check_command_does_not_import_the_ui() -> None:
    """``rltui check`` runs in CI jobs without a terminal: it must not load Textual."""
    loaded = _imported_after("import rltui.commands.check, rltui.session")
    assert "textual" not in loaded
    assert "plotext" not in loaded


def test_sources_do_not_import_the_ui() -> None:
    loaded = _imported_after(
        "import rltui.sources.tfevents, rltui.sources.trainer_state, rltui.sources.console, "
        "rltui.sources.jsonl, rltui.sources.discovery, rltui.sources.detect"
    )
    assert not loaded & {"textual", "rich", "plotext"}
    mods = _imported_after(
        "import rltui.sources.tfevents, rltui.sources.console\n"
        "import sys; assert not any(m.startswith('rltui.ui') for m in sys.modules)"
    )
    assert "rltui" in mods
