"""Wiring: one followed run = its discovered files, their readers, a metric store and the model.

Split along the file-system seam (issue 9 §4), one module per concern:

* :mod:`~rltui.session.run` -- :class:`RunSession` itself (its contract and the reading order);
* :mod:`~rltui.session.followed` -- followed files and their readers' lifecycle;
* :mod:`~rltui.session.ingest_policy` -- the ingest policy as pure decisions (precedence, the
  ``logging_steps`` re-read, counted steps beside true ones), tested on plain data;
* :mod:`~rltui.session.problems` -- problem de-duplication;
* :mod:`~rltui.session.progress` -- load progress in bytes;
* :mod:`~rltui.session.run_facts` -- config, length, hints, model card and detection;
* :mod:`~rltui.session.opening` -- from command-line PATHs to sessions with their config.

This module re-exports the public names, so ``from rltui.session import ...`` keeps working.
"""

from __future__ import annotations

from rltui.session.followed import READERS, reader_available
from rltui.session.opening import (
    NoRunError,
    find_sweep,
    open_new_sessions,
    open_sessions,
    resolve_paths,
)
from rltui.session.problems import MAX_PROBLEMS_PER_SOURCE
from rltui.session.progress import Progress
from rltui.session.run import RunSession
from rltui.session.run_facts import CONFIG_TEXT_TAGS
from rltui.sources.discovery import LOOKED_FOR

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
