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


def test_ui_never_imports_the_session_or_the_sources() -> None:
    """``ui/`` renders snapshots and turns keys into intents; opening runs is wiring
    (``rltui.commands.launch``), so no UI module may pull in ``rltui.session`` or ``rltui.sources``."""
    code = (
        "import pkgutil, importlib, rltui.ui\n"
        "for m in pkgutil.walk_packages(rltui.ui.__path__, 'rltui.ui.'):\n"
        "    importlib.import_module(m.name)\n"
        "import sys\n"
        "bad = sorted(m for m in sys.modules if m == 'rltui.session' or m.startswith('rltui.sources'))\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)


def test_no_ui_module_imports_the_session_or_the_sources_even_lazily() -> None:
    """The same rule on the source: an import inside a function (loaded only when called) counts."""
    import ast
    from pathlib import Path

    ui = Path(__file__).resolve().parents[1] / "rltui" / "ui"
    offenders = []
    for path in sorted(ui.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue
            for name in names:
                if name in ("rltui.session", "rltui.sources") or name.startswith("rltui.sources."):
                    offenders.append(f"{path.relative_to(ui.parent)}:{node.lineno}: {name}")
    assert offenders == []
