"""Wiring: one followed run = its discovered files, their readers, a metric store and the model.

A package split along the file-system seam (issue 9 §4); this module re-exports the public names
so ``from rltui.session import ...`` keeps working. See :mod:`rltui.session.run` for the contract.
"""

from __future__ import annotations

from rltui.session.run import (
    CONFIG_TEXT_TAGS,
    LOOKED_FOR,
    MAX_PROBLEMS_PER_SOURCE,
    READERS,
    NoRunError,
    Progress,
    RunSession,
    find_sweep,
    open_new_sessions,
    open_sessions,
    reader_available,
    resolve_paths,
)

__all__ = [
    "CONFIG_TEXT_TAGS",
    "LOOKED_FOR",
    "MAX_PROBLEMS_PER_SOURCE",
    "READERS",
    "NoRunError",
    "Progress",
    "RunSession",
    "find_sweep",
    "open_new_sessions",
    "open_sessions",
    "reader_available",
    "resolve_paths",
]
