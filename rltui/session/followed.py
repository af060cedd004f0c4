"""Followed files: one per file (or pane) of a run, and its reader's lifecycle.

A reader is created on first read (its class imported only then: readers are optional at import
time), reads bytes at offsets through the run's file-system seam, and is closed when the run is
re-read or starts over. A reader that cannot be imported, cannot start, or fails on a read is a
problem of its source, never a crash of the others (:mod:`rltui.session.problems`).
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from typing import Any

from rltui.records import Problem, ReadResult, SourceKind
from rltui.session import ingest_policy as policy
from rltui.session.problems import SourceProblems
from rltui.sources.base import SourceReader
from rltui.sources.fs import LOCAL, FileSystem, is_dir
from rltui.sources.locations import fs_for, parse_ssh

#: Reader classes, imported when first needed (readers are optional at import time).
READERS: dict[str, tuple[str, str]] = {
    "tfevents": ("rltui.sources.tfevents", "TfEventsReader"),
    "trainer_state": ("rltui.sources.trainer_state", "TrainerStateReader"),
    "console": ("rltui.sources.console", "ConsoleLogReader"),
    "jsonl": ("rltui.sources.jsonl", "JsonlReader"),
    "tmux": ("rltui.sources.tmux", "TmuxPaneReader"),
    "wandb": ("rltui.sources.wandb", "WandbReader"),
    "swanlab": ("rltui.sources.swanlab", "SwanlabReader"),
    "mlflow": ("rltui.sources.mlflow", "open_reader"),
    "trackio": ("rltui.sources.trackio", "TrackioReader"),
}


@dataclass(slots=True)
class Followed:
    """One followed file (or pane): its reader and what it gave so far."""

    kind: SourceKind
    path: str
    order: int
    reader: SourceReader | None = None
    points: int = 0
    book: SourceProblems = field(default_factory=SourceProblems)
    #: The ``logging_steps`` a console reader was created with (None: a guess of 1).
    logging_steps: int | None = None
    bytes_read: int = 0
    #: The run inside a multi-run store (``SourceFile.select``).
    select: str | None = None
    #: Left out of the store: its steps are counted, not logged, and a source with true steps
    #: covers the run (``ingest_policy.guessed_to_exclude``).
    excluded: bool = False

    @property
    def problems(self) -> list[Problem]:
        return self.book.items

    @property
    def steps_guessed(self) -> bool:
        return bool(getattr(self.reader, "steps_guessed", False))

    @property
    def source_id(self) -> str:
        return policy.source_id(self.kind, self.path, self.select)

    def report(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        self.book.report(problems)

    def as_src(self) -> policy.Src:
        """What the ingest policy knows of this source."""
        return policy.Src(self.kind, self.points, self.excluded, self.steps_guessed, bool(self.book))

    def close(self) -> None:
        if self.reader is not None:
            self.reader.close()
            self.reader = None


def load_reader_class(kind: str) -> Any:
    module_name, cls_name = READERS[kind]
    module = importlib.import_module(module_name)
    return getattr(module, cls_name)


def reader_available(kind: str) -> bool:
    try:
        load_reader_class(kind)
    except (ImportError, AttributeError):
        return False
    return True


def tracker_fs(path: str) -> FileSystem:
    """The file system a tracker's reader is confined to: the folder of its log or database, or
    the MLflow run folder itself (``mlruns/<exp>/<run>/``)."""
    return LOCAL.confined(path if is_dir(LOCAL, path) else os.path.dirname(os.path.abspath(path)))


def tmux_runner(target: str) -> Any:
    """How a pane's tmux is run: locally (None: the reader's own subprocess), or on the host
    of an ``ssh://host/SESSION:WIN.PANE`` target, through that host's connection."""
    loc = parse_ssh(target) if target.startswith("ssh://") else None
    if loc is None:
        return None
    return getattr(fs_for(target), "tmux", None)


def make_reader(
    f: Followed, fs: FileSystem, logging_steps: int | None, tmux_socket: str | None
) -> SourceReader:
    """A new reader for ``f`` (raises what the reader class raises: the caller reports it)."""
    cls = load_reader_class(f.kind)
    if f.kind == "console":
        f.logging_steps = logging_steps
        reader: SourceReader = cls(
            f.path, logging_steps=logging_steps or 1, known_scale=logging_steps is not None, fs=fs
        )
    elif f.kind == "tmux":
        reader = cls(f.path, socket=tmux_socket, runner=tmux_runner(f.path))
    elif f.kind in policy.TRACKERS:
        # A tracker's folder is often beside the run's output_dir, not in it: its reader is
        # confined to the tracker's own folder instead.
        extra = {"select": f.select} if f.select is not None else {}
        reader = cls(f.path, fs=tracker_fs(f.path), **extra)
    else:
        reader = cls(f.path, fs=fs)
    return reader


def read(f: Followed) -> ReadResult | None:
    """One read of ``f``'s open reader; a reader bug is a problem of ``f``, not of the run."""
    reader = f.reader
    if reader is None:
        return None
    try:
        res = reader.read()
    except Exception as exc:  # a reader bug must not stop the other sources
        f.report([Problem(f.path, None, f"reader failed: {type(exc).__name__}: {exc}")])
        return None
    if getattr(reader, "healthy", False) and any(p.transient for p in f.problems):
        # Recovered (a torn file now parses, a vanished one is back): its state is news no more.
        f.book.drop(lambda p: p.transient)
    return res
