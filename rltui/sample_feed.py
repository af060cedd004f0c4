"""Wiring for completion samples: a run's sample folders, read lazily, into a :class:`SampleBook`.

Why lazy: a GRPO run writes one parquet file per step, and reading hundreds of them (plus
importing pyarrow) would slow every ``rltui check`` that never looks at a sample. So opening a run
only lists file names when asked; a step is read when someone looks at it (the samples screen, the
evidence under an alert, replay), newest first; everything is read only for ``check --json``, the
dashboard's background pass, or when the scalar logs lack what the samples can witness.

Once everything was read (``read_all``) the feed is *active*: each poll reads the new steps and
merges their statistics into the run's metric store as the ``samples`` source (``samples/...``
series, merged by step like a re-stated history, so a late step never rewinds a series).

Which samples: a run's parquet and rollout folders are full records of every completion of a step;
the Rich tables of the console show two or so per step. The console is used for display only, and
only when the run has no folder (its statistics would be of two completions).

Not thread-safe by itself: :class:`rltui.session.RunSession` calls it under its lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rltui.model.aliases import resolve
from rltui.model.samples import SampleBook, pick_evidence, stats_chunks
from rltui.model.snapshot import Alert, RunInfo, SourceInfo
from rltui.model.store import MetricStore
from rltui.records import Problem, Sample
from rltui.sources.completions import InlineSamples, MissingExtra, SampleFolder, find_sample_folders
from rltui.sources.fs import LOCAL, FileSystem, is_dir
from rltui.sources.rich_samples import RichTableLog

#: Trainers whose runs may sample completions (unknown included: verl, custom loops).
SAMPLING_TRAINERS = frozenset({"ppo", "rloo", "grpo", "online_dpo", "unknown"})
#: Roles the samples can stand in for; a run missing any of them reads its samples for the rules.
WITNESS_ROLES = ("length_mean", "truncation", "frac_reward_zero_std")
#: Source id of the statistics in the metric store.
SOURCE_ID = "samples"


@dataclass(slots=True)
class _FolderState:
    folder: SampleFolder
    problems: list[Problem] = field(default_factory=list)
    seen: set[tuple[int | None, str]] = field(default_factory=set)
    read: set[int] = field(default_factory=set)
    #: Steps whose file is broken (reported once, not read again unless the file changes name).
    failed: set[int] = field(default_factory=set)
    completions: int = 0

    def report(self, problems: Sequence[Problem]) -> None:
        for p in problems:
            if (p.offset, p.message) not in self.seen and len(self.problems) < 200:
                self.seen.add((p.offset, p.message))
                self.problems.append(p)


class RunSamples:
    """The samples of one run: listing, on-demand reads, statistics for the store, evidence."""

    def __init__(
        self,
        root: str,
        console_logs: Sequence[str] = (),
        *,
        single_file: bool = False,
        fs: FileSystem = LOCAL,
    ) -> None:
        self.root = root
        #: The run's file-system seam (local, ssh, object store), confined to the run's root.
        self._fs = fs
        self._consoles = list(console_logs)
        self._single = single_file
        self._folders: list[_FolderState] | None = None
        self._has_full = False
        self.book = SampleBook()
        self.active = False
        self._fed: set[int] = set()
        self._missing: str | None = None
        #: Samples that logs hold inline (event-file text summaries), by log path.
        self._inline: dict[str, _FolderState] = {}

    # -- what exists ------------------------------------------------------------------------
    def _states(self) -> list[_FolderState]:
        if self._folders is None or not self._has_full:
            found: list[SampleFolder] = []
            if self.root and not self._single and is_dir(self._fs, self.root):
                found = find_sample_folders(self.root, self._fs)
            if found:
                # Whole steps replace the console's excerpts (a folder that filled up later).
                self._has_full = True
                self._folders = [_FolderState(f) for f in found]
                self.book = SampleBook()
                self._fed.clear()
                for inline in self._inline.values():
                    inline.read.clear()
            elif self._folders is None:
                self._folders = [_FolderState(RichTableLog(p, self._fs)) for p in self._consoles]
        return [*self._folders, *self._inline.values()]

    def offer_consoles(self, console_logs: Sequence[str]) -> None:
        """The run's console logs as now known; used until the folders were first looked at."""
        if self._folders is None:
            self._consoles = list(console_logs)

    def push(self, path: str, samples: Sequence[Sample]) -> None:
        """Samples a log reader found inline (``ReadResult.samples``); shown, not fed to rules."""
        if not samples:
            return
        state = self._inline.get(path)
        if state is None:
            state = self._inline[path] = _FolderState(InlineSamples(path))
        folder = state.folder
        assert isinstance(folder, InlineSamples)
        folder.add(list(samples))
        # A step read before more of its samples arrived is read again when next asked for.
        state.read.difference_update({s.step for s in samples})

    @property
    def full(self) -> bool:
        """Whether the samples are whole steps (parquet, rollouts), not the console's excerpts."""
        return any(s.folder.kind == "completions" for s in self._states())

    def _listing(self) -> dict[int, _FolderState]:
        out: dict[int, _FolderState] = {}
        for state in self._states():
            for step in state.folder.listing():
                out.setdefault(step, state)
        return out

    def steps(self) -> list[int]:
        """Every step that has samples on disk (names only; nothing is read)."""
        return sorted(self._listing())

    @property
    def missing_extra(self) -> str | None:
        """The install hint when a reader needs an extra that is not installed."""
        return self._missing

    # -- reading ----------------------------------------------------------------------------
    def _read(self, step: int, state: _FolderState) -> bool:
        if self._missing is not None and state.folder.kind == "completions":
            return False
        try:
            res = state.folder.read(step)
        except MissingExtra as exc:
            self._missing = str(exc)
            state.report([Problem(state.folder.path, None, str(exc))])
            return False
        except Exception as exc:  # a reader bug must not take the run down
            state.report([Problem(state.folder.path, None, f"reader failed: {type(exc).__name__}: {exc}")])
            state.failed.add(step)
            return False
        state.report(res.problems)
        if res.wait:
            return False
        if res.problems and not res.samples:
            state.failed.add(step)
            return False
        state.read.add(step)
        state.completions += len(res.samples)
        self.book.put(step, res.samples)
        return True

    def ensure(self, step: int | None) -> int | None:
        """Read the newest sample step at or before ``step`` (None: the newest); that step.

        A step still being written, or one that failed to read, falls back to the one before it
        (at most a few tries, so a folder of broken files cannot stall the screen).
        """
        listing = self._listing()
        if not listing:
            return None
        steps = sorted(listing)
        pick = [s for s in steps if step is None or s <= step] or steps[:1]
        for s in list(reversed(pick))[:8]:
            state = listing[s]
            if s in state.read or (s not in state.failed and self._read(s, state)):
                return s
        return self.book.nearest(step)

    def read_all(self) -> int:
        """Read every step not read yet, newest first; from now on polls follow. Steps read."""
        self.active = True
        n = 0
        listing = self._listing()
        for s in sorted(listing, reverse=True):
            state = listing[s]
            if s not in state.read and s not in state.failed and self._read(s, state):
                n += 1
        return n

    def poll(self, store: MetricStore) -> int:
        """While active: read new steps and merge their statistics into ``store``; points added."""
        if not self.active:
            return 0
        self.read_all()
        return self.feed(store)

    def feed(self, store: MetricStore) -> int:
        """Merge the statistics of steps not given to ``store`` yet (whole steps only)."""
        if not self.full:
            return 0
        new = [s for s in self.book.steps() if s not in self._fed]
        if not new:
            return 0
        self._fed.update(new)
        chunks = stats_chunks(self.book.stats(s) for s in new)
        return store.add(SOURCE_ID, chunks, restarted=True, restates=True)

    def forget_store(self) -> None:
        """The session replaced its store: give it every step again."""
        self._fed.clear()

    def needed_as_witness(self, store: MetricStore, info: RunInfo) -> bool:
        """Whether the rules need the samples: a sampling run whose logs lack a witness role."""
        if info.trainer not in SAMPLING_TRAINERS:
            return False
        names = set(store.names())
        for role in WITNESS_ROLES:
            key = resolve(role, names)
            if key is None or key.name.startswith("samples/"):
                return self.full
        return False

    # -- what the UI and check ask --------------------------------------------------------------
    def at(self, step: int | None) -> tuple[int | None, tuple[Sample, ...]]:
        got = self.ensure(step)
        return got, (self.book.get(got) if got is not None else ())

    def evidence(self, alert: Alert, k: int = 3) -> tuple[int | None, list[Sample]]:
        """The samples that explain ``alert`` at its raised step (nearest sample step before it)."""
        at = alert.raised_step if alert.raised_step is not None else alert.last_step
        step, samples = self.at(at)
        return step, pick_evidence(alert.id, samples, k)

    def counts(self) -> tuple[int, int]:
        """(sample steps read, completions read)."""
        return len(self.book), self.book.completions

    def sources(self) -> list[SourceInfo]:
        """One entry per sample folder (points: completions read), for ``sources()``."""
        # What was found so far, without looking again (this runs for every snapshot).
        states = [*(self._folders or ()), *self._inline.values()]
        return [
            SourceInfo("completions", s.folder.path, s.completions, tuple(s.problems))
            for s in states
            if s.read or s.problems
        ]
