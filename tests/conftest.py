"""Settings for the whole suite.

The dashboard remembers what a user changes (``rltui.ui.prefs``: pinned and hidden gauges, the
theme) in ``$XDG_STATE_HOME/rltui/ui.toml``. Tests must neither read a developer's real state
(a hidden gauge would fail screen assertions) nor write into it: the whole session, and every
process it starts (tmux panes inherit the environment), gets a throw-away state folder.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session", autouse=True)
def _private_ui_state() -> Iterator[None]:
    folder = tempfile.mkdtemp(prefix="rltui-test-state-")
    old = os.environ.get("XDG_STATE_HOME")
    os.environ["XDG_STATE_HOME"] = folder
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("XDG_STATE_HOME", None)
        else:
            os.environ["XDG_STATE_HOME"] = old
        shutil.rmtree(folder, ignore_errors=True)
