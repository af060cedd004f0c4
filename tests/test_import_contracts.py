"""The import-linter contracts in pyproject.toml (layers, ui's forbidden imports, no terminal
libraries in model/sources) hold for the code as it is.

Why run it from the suite: a contract nobody runs is a comment. import-linter reads every module's
imports statically, including imports inside functions, so a lazy import that would cross a layer
only when some rarely used path runs is caught here too (tests/test_layers.py checks what a fresh
interpreter actually loads, which also sees third-party modules importing the UI libraries).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _lint_imports() -> list[str]:
    """The ``lint-imports`` command of the interpreter running the tests."""
    beside = Path(sys.executable).parent / "lint-imports"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("lint-imports")
    if found:
        return [found]
    # importlinter.cli has no ``__main__``: call its click command the way the entry point does.
    return [sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()"]


def test_import_contracts_are_kept() -> None:
    if importlib.util.find_spec("importlinter") is None:
        pytest.skip("import-linter is not installed (pip install -e '.[test]')")
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run(
        [*_lint_imports(), "--no-cache"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, f"lint-imports exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    assert "0 broken" in proc.stdout, proc.stdout
