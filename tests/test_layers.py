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


SESSION_MODULES = (
    "rltui.session.run",
    "rltui.session.followed",
    "rltui.session.ingest_policy",
    "rltui.session.problems",
    "rltui.session.progress",
    "rltui.session.run_facts",
    "rltui.session.opening",
)


def test_check_command_does_not_import_the_ui() -> None:
    """``rltui check`` runs in CI jobs without a terminal: it must not load Textual."""
    loaded = _imported_after("import rltui.commands.check, rltui.session")
    assert "textual" not in loaded
    assert "plotext" not in loaded


@pytest.mark.parametrize("module", SESSION_MODULES)
def test_each_session_module_imports_alone_without_the_ui(module: str) -> None:
    """Every part of the session package imports on its own (no import cycle hidden by the
    package's ``__init__`` order) and loads no UI library and no ``rltui.ui`` module."""
    code = (
        f"import {module}\n"
        "import sys\n"
        "bad = sorted(m for m in sys.modules if m.startswith('rltui.ui') or m.split('.')[0] in "
        f"{UI_MODULES!r})\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)


def test_session_package_lists_every_module() -> None:
    """SESSION_MODULES above is the whole package: a new module is covered by the test above."""
    import pkgutil

    import rltui.session

    found = {f"rltui.session.{m.name}" for m in pkgutil.iter_modules(rltui.session.__path__)}
    assert found == set(SESSION_MODULES)


def test_ingest_policy_is_pure() -> None:
    """The ingest policy is decisions on plain data: it imports no reader, no file system, no
    session state (tests/test_ingest_policy.py tests it without any file)."""
    import ast
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "rltui" / "session" / "ingest_policy.py"
    imported: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    allowed = {"__future__", "math", "collections.abc", "dataclasses", "rltui.model.snapshot"}
    assert imported <= allowed, sorted(imported - allowed)


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
        "bad = sorted(m for m in sys.modules if m.split('.')[:2] == ['rltui', 'session']\n"
        "             or m.startswith('rltui.sources'))\n"
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
                if name in ("rltui.session", "rltui.sources") or name.startswith(
                    ("rltui.sources.", "rltui.session.")
                ):
                    offenders.append(f"{path.relative_to(ui.parent)}:{node.lineno}: {name}")
    assert offenders == []
