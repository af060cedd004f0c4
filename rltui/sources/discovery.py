"""Which runs live under a path, and which files make up each run.

Why a module of its own: users point rltui at whatever they have at hand (an ``output_dir``, a
sweep folder holding a dozen of them, verl's ``tensorboard_log/``, a single ``console.log``), and
the same run must come out the same way for ``check``, the dashboard and ``compare``. Discovery
only looks at names, sizes and (for ``*.txt``/``*.out``) the first few KiB; the readers do the
parsing.

Rules (design.md §3, metrics.md §1 point 4):

* A file given directly is a run made of that one file.
* A folder is a run when it holds sources itself. An HF ``output_dir`` (``trainer_state.json``,
  ``checkpoint-N/trainer_state.json`` or ``runs/<stamp>/events.out.tfevents.*``) is ONE run that
  owns every event file below it; any other folder holding event files directly (verl's
  ``tensorboard_log/<project>/<experiment>/``, OpenRLHF's ``<dir>/<run_name>/``) is a run.
* A folder whose only sources are loose ``*.log``/``*.txt``/``*.jsonl`` files is a run, unless it
  also holds runs deeper down (then the loose files belong to a sweep driver, not to a training).
  A folder holding *only* several ``*.jsonl`` files (verl's ``<project>/<experiment>.jsonl``
  file logger) gives one run per JSONL file.
* A run's files: event files anywhere below it but not inside a nested run; ``trainer_state.json``
  at the top and in ``checkpoint-*/``; logs and JSONL at the top only.

The walk is bounded (depth, number of folders, entries per folder), skips trees that never hold
runs (``.git``, ``node_modules``, virtualenvs, tool caches, ``build``/``dist`` and
``*.egg-info`` build outputs, ...) below the path given (trackers' folders, ``wandb``, ``mlruns``,
``swanlog``, are read by ``logger_discovery`` instead), follows symlinks at most once per
real folder (no loops), and reports unreadable folders as problems instead of raising.
"""

from __future__ import annotations

import heapq
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from rltui.records import Problem, SourceKind
from rltui.sources import logger_discovery
from rltui.sources.fs import LOCAL, Entry, FileSystem, describe, is_file, read_head, within
from rltui.sources.locations import absolute, fs_for, real

#: What rltui looks for in a run folder (said where a folder has none of it).
LOOKED_FOR = (
    "events.out.tfevents.*, trainer_state.json, *.log, *.jsonl, wandb/, mlruns/, mlflow.db, swanlog/, "
    "trackio/"
)

#: How deep below the given path runs are looked for (sweep/output_dir/runs/<stamp>/events = 4).
MAX_DEPTH = 6
#: Stop walking after this many folders: a home directory is not a run folder.
MAX_DIRS = 5000
#: Folders with more entries than this are not listed (datasets, caches).
MAX_ENTRIES = 20000
#: How much of a ``*.txt``/``*.out`` file is sniffed to decide whether it is a training log.
SNIFF_BYTES = 64 * 1024

SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "__pycache__",
        ".venv",
        "venv",
        "env",
        "site-packages",
        "wandb",
        "mlruns",
        ".cache",
        ".ipynb_checkpoints",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".hypothesis",
        ".tox",
        ".nox",
        "swanlog",
        # Build outputs: a wheel's copy of packaged runs (``build/lib/<pkg>/demo``) is not a run.
        "build",
        "dist",
    }
)
#: Folder-name suffixes skipped like ``SKIP_DIRS`` (packaging metadata).
SKIP_SUFFIXES = (".egg-info", ".dist-info")


def skipped_dir(name: str) -> bool:
    """Whether a folder met while walking is never searched for runs (the path given is)."""
    return name in SKIP_DIRS or name.endswith(SKIP_SUFFIXES)


#: ``*.txt`` files that ship with models, tokenizers and code, never training logs.
NOT_LOG_TXT = re.compile(
    r"^(merges|vocab|requirements.*|constraints.*|special_tokens.*|added_tokens.*|license.*|licence.*"
    r"|readme.*|notice.*|copying.*|authors.*|cmakelists|dict|spiece|sentencepiece.*|tokenizer.*"
    r"|top_level|sources|dependency_links|entry_points|labels|classes|stopwords.*|robots)\.txt$",
    re.IGNORECASE,
)
#: What a training log's first KiB contain: a printed log dict, a tqdm bar, step/loss words.
LOG_SNIFF = re.compile(
    rb"\{'|\{\"|\bloss\b|\breward|\bstep[\s:=]|it/s|s/it|\bepoch\b|global_step|\[versions\]",
    re.IGNORECASE,
)
_CHECKPOINT = re.compile(r"^checkpoint-\d+$")
_EVENT_PREFIX = "events.out.tfevents."


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One file to follow, and the reader kind that understands it."""

    kind: SourceKind
    path: str
    #: Which run of a multi-run store (MLflow run uuid, Trackio run name); None for a plain file.
    select: str | None = None


@dataclass(slots=True)
class DiscoveredRun:
    """A run found on disk: its folder (or single file), a display name and its files."""

    root: str
    name: str
    files: list[SourceFile] = field(default_factory=list)
    #: True when the user gave one file: rescans then never add other files.
    single_file: bool = False
    #: ``output_dir/README.md`` (TRL's model card), where detection looks first.
    model_card: str | None = None
    #: Only this JSONL file of its folder belongs to the run (verl's one-file-per-experiment).
    jsonl_only: str | None = None
    #: The run of a multi-run tracker store this run is (``SourceFile.select``).
    select: str | None = None

    @property
    def key(self) -> tuple[str, str | None, str | None]:
        """What makes two discovered runs the same run."""
        return (real(self.root), self.jsonl_only, self.select)


@dataclass(slots=True)
class Discovery:
    runs: list[DiscoveredRun] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


# -- classifying names ------------------------------------------------------------------------


def is_event_file(name: str) -> bool:
    return name.startswith(_EVENT_PREFIX) and not name.endswith((".tmp", ".part"))


def _sniff_log(path: str, fs: FileSystem = LOCAL) -> bool:
    head = read_head(fs, path, SNIFF_BYTES)  # through the seam: a FIFO here is "not a log"
    return head is not None and bool(LOG_SNIFF.search(head))


def classify(path: str, *, explicit: bool = False, fs: FileSystem = LOCAL) -> SourceKind | None:
    """The reader kind for a file name, or None when it is not a source.

    ``explicit`` (the user named the file) accepts any ``*.txt``/``*.out`` without sniffing.
    A ``*.txt``/``*.out`` found in a folder must not be a known non-log name and must look like
    a log; an empty one is not accepted yet (a later rescan looks again).
    """
    name = os.path.basename(path)
    lower = name.lower()
    if is_event_file(name):
        return "tfevents"
    if lower == "trainer_state.json":
        return "trainer_state"
    if lower.endswith(".jsonl"):
        return "jsonl"
    if lower.endswith(".log"):
        return "console"
    if lower.endswith((".txt", ".out")):
        if explicit:
            return "console"
        if NOT_LOG_TXT.match(lower):
            return None
        return "console" if _sniff_log(path, fs) else None
    return None


# -- walking ----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Dir:
    path: str
    depth: int
    files: list[str] = field(default_factory=list)  # file names directly inside
    subdirs: list[str] = field(default_factory=list)  # child folder paths that were walked


class _Walker:
    """Bounded, loop-safe listing of a tree, through the file-system seam.

    Breadth-first by what can hold logs: ordinary folders (``runs/``, ``tensorboard_log/``...)
    level by level first, ``checkpoint-N`` folders (which only ever add a ``trainer_state.json``)
    after them, so a budget spent on ten thousand empty checkpoints cannot hide ``runs/``.
    A symlink is followed only when its real target lies inside the folder holding it: one that
    leaves it (another run's ``runs/``, a tree elsewhere) would merge someone else's files into
    this run, so it is skipped and reported (name the target on the command line to read it).
    """

    def __init__(self, max_depth: int, problems: list[Problem], fs: FileSystem = LOCAL) -> None:
        self.max_depth = max_depth
        self.problems = problems
        self.fs = fs
        self.dirs: dict[str, _Dir] = {}
        self._seen: set[tuple[int, int]] = set()
        self._budget = MAX_DIRS
        self._stopped = False

    def walk(self, root: str) -> None:
        queue: list[tuple[int, int, int, str]] = [(0, 0, 0, root)]
        seq = 0
        while queue:
            _rank, depth, _seq, path = heapq.heappop(queue)
            node = self._list(path, depth)
            if node is None:
                continue
            for sub in node.subdirs:
                seq += 1
                rank = 1 if _CHECKPOINT.match(os.path.basename(sub)) else 0
                heapq.heappush(queue, (rank, depth + 1, seq, sub))

    def _list(self, path: str, depth: int) -> _Dir | None:
        try:
            info = self.fs.stat(path)
        except OSError as exc:
            self.problems.append(Problem(path, None, f"cannot read folder: {describe(exc)}"))
            return None
        if info.identity in self._seen:
            return None  # a symlink back into a folder already walked: no loops
        self._seen.add(info.identity)
        if self._budget <= 0:
            if not self._stopped:
                self._stopped = True
                self.problems.append(
                    Problem(path, None, f"stopped looking for runs after {MAX_DIRS} folders")
                )
            return None
        self._budget -= 1
        node = _Dir(path, depth)
        real_path = _real_in(self.fs, path)
        try:
            for count, entry in enumerate(self.fs.scandir(path)):
                if count >= MAX_ENTRIES:
                    self.problems.append(
                        Problem(path, None, f"more than {MAX_ENTRIES} entries: the rest was not looked at")
                    )
                    break
                self._entry(node, entry, depth, real_path)
        except OSError as exc:
            self.problems.append(Problem(path, None, f"cannot list folder: {describe(exc)}"))
            return None
        node.files.sort()
        node.subdirs.sort()
        self.dirs[path] = node
        return node

    def _entry(self, node: _Dir, entry: Entry, depth: int, real: str) -> None:
        if entry.target and not within(entry.target, real) and _may_hold_runs(entry):
            self.problems.append(
                Problem(
                    entry.path,
                    None,
                    f"symlink leaves its folder (to {entry.target}), not followed; "
                    "name the target to read it",
                )
            )
            return
        if entry.kind == "dir":
            if depth < self.max_depth and not skipped_dir(entry.name):
                node.subdirs.append(entry.path)
        elif entry.kind == "file":
            node.files.append(entry.name)


def _may_hold_runs(entry: Entry) -> bool:
    """Whether a skipped symlink is worth a problem (a folder, or a file rltui would read)."""
    if entry.kind == "dir":
        return not skipped_dir(entry.name)
    if entry.kind == "file":
        lower = entry.name.lower()
        known = lower == "trainer_state.json" or lower.endswith((".log", ".jsonl"))
        return is_event_file(entry.name) or known
    return False


# -- deciding runs ----------------------------------------------------------------------------


def _has_events_below(walker: _Walker, path: str) -> bool:
    node = walker.dirs.get(path)
    if node is None:
        return False
    if any(is_event_file(f) for f in node.files):
        return True
    return any(_has_events_below(walker, s) for s in node.subdirs)


def _is_hf_output_dir(walker: _Walker, node: _Dir, top: str) -> bool:
    # checkpoint-N/ belongs to its output_dir, unless the user pointed at it
    is_checkpoint = bool(_CHECKPOINT.match(os.path.basename(node.path)))
    if "trainer_state.json" in node.files and (node.path == top or not is_checkpoint):
        return True
    for sub in node.subdirs:
        base = os.path.basename(sub)
        child = walker.dirs.get(sub)
        if child is None:
            continue
        if _CHECKPOINT.match(base) and "trainer_state.json" in child.files:
            return True
        if base == "runs" and _has_events_below(walker, sub):
            return True
    return False


def _loose_sources(node: _Dir, fs: FileSystem = LOCAL) -> list[SourceFile]:
    out: list[SourceFile] = []
    for name in node.files:
        full = os.path.join(node.path, name)
        kind = classify(full, fs=fs)
        if kind in ("console", "jsonl"):
            out.append(SourceFile(kind, full))
    return out


def _real_in(fs: FileSystem, path: str) -> str:
    """The real path of a folder being listed, as its file system writes entries' targets."""
    get = getattr(fs, "realpath", None)
    if get is None:
        return os.path.realpath(path)
    try:
        return str(get(path))
    except OSError:
        return path


def _is_under(path: str, root: str) -> bool:
    return path != root and path.startswith(root.rstrip(os.sep) + os.sep)


def run_files(
    root: str,
    *,
    nested_roots: Iterable[str] = (),
    jsonl_only: str | None = None,
    problems: list[Problem] | None = None,
) -> list[SourceFile]:
    """The files of the run at ``root`` (used for the first scan and every rescan).

    Order: console logs, JSONL, checkpoint ``trainer_state.json`` (by step), the top one, then
    event files by their creation stamp. The session reads them in this order, so on conflicting
    steps the more precise source (event files last) wins.
    """
    probs: list[Problem] = problems if problems is not None else []
    walker = _Walker(MAX_DEPTH, probs, fs_for(root))
    walker.walk(root)
    nested = [n for n in nested_roots if n != root]
    if not nested:
        nested = [r.root for r in _decide_runs(walker, root) if r.root != root and not r.single_file]
    return _files_of(walker, root, nested, jsonl_only)


def _files_of(walker: _Walker, root: str, nested: list[str], jsonl_only: str | None) -> list[SourceFile]:
    top = walker.dirs.get(root)
    if top is None:
        return []
    logs: list[SourceFile] = []
    jsonls: list[SourceFile] = []
    for sf in _loose_sources(top, walker.fs):
        if sf.kind == "jsonl":
            if jsonl_only is None or sf.path == jsonl_only:
                jsonls.append(sf)
        elif jsonl_only is None:
            logs.append(sf)
    if jsonl_only is not None:
        return jsonls
    checkpoints: list[tuple[int, SourceFile]] = []
    for sub in top.subdirs:
        base = os.path.basename(sub)
        child = walker.dirs.get(sub)
        if child is not None and _CHECKPOINT.match(base) and "trainer_state.json" in child.files:
            path = os.path.join(sub, "trainer_state.json")
            checkpoints.append((int(base.split("-", 1)[1]), SourceFile("trainer_state", path)))
    checkpoints.sort(key=lambda t: t[0])
    states = [sf for _, sf in checkpoints]
    if "trainer_state.json" in top.files:
        states.append(SourceFile("trainer_state", os.path.join(root, "trainer_state.json")))
    events: list[str] = []
    for path, node in walker.dirs.items():
        if path != root and not _is_under(path, root):
            continue
        if any(path == n or _is_under(path, n) for n in nested):
            continue
        events.extend(os.path.join(path, f) for f in node.files if is_event_file(f))
    events.sort(key=event_file_order)
    return logs + jsonls + states + [SourceFile("tfevents", p) for p in events]


def event_file_order(path: str) -> tuple[int, str]:
    """Event files in the order they were created: ``events.out.tfevents.<unix time>.<host>...``."""
    name = os.path.basename(path)
    rest = name[len(_EVENT_PREFIX) :]
    stamp = rest.split(".", 1)[0]
    return (int(stamp) if stamp.isdigit() else 0, path)


def _decide_runs(walker: _Walker, top: str) -> list[DiscoveredRun]:
    hf = [p for p, n in walker.dirs.items() if _is_hf_output_dir(walker, n, top)]
    event_dirs = [
        p
        for p, n in walker.dirs.items()
        if any(is_event_file(f) for f in n.files) and not any(_is_under(p, h) for h in hf)
    ]
    roots = set(hf) | set(event_dirs)
    runs: list[DiscoveredRun] = [DiscoveredRun(r, _dir_name(r, top)) for r in sorted(roots)]
    for path, node in sorted(walker.dirs.items()):
        if path in roots or any(_is_under(path, r) for r in roots):
            continue
        loose = _loose_sources(node, walker.fs)
        if not loose:
            continue
        if any(_is_under(r, path) for r in roots):
            continue  # a sweep driver's own logs, not a training
        if len(loose) > 1 and all(sf.kind == "jsonl" for sf in loose):
            for sf in loose:
                stem = os.path.splitext(os.path.basename(sf.path))[0]
                runs.append(DiscoveredRun(path, f"{_dir_name(path, top)}/{stem}", jsonl_only=sf.path))
        else:
            runs.append(DiscoveredRun(path, _dir_name(path, top)))
    return runs


def _dir_name(path: str, top: str) -> str:
    """A short display name: the folder's name (``.`` resolved), relative to the sweep if nested."""
    base = os.path.basename(absolute(path).rstrip(os.sep)) or path
    if path != top and _is_under(path, top):
        rel = os.path.relpath(path, top)
        if rel.count(os.sep) >= 1:
            return rel
    return base


_GENERIC_STEMS = frozenset(
    {"console", "train", "training", "log", "logs", "output", "stdout", "nohup", "metrics"}
)


def _file_run_name(path: str, kind: SourceKind) -> str:
    parent = os.path.dirname(absolute(path))
    stem = os.path.splitext(os.path.basename(path))[0]
    if kind in ("tfevents", "trainer_state") or stem.lower() in _GENERIC_STEMS:
        for _ in range(3):
            base = os.path.basename(parent)
            # runs/<stamp>/events..., checkpoint-N/trainer_state.json: name the output_dir
            if (
                base == "runs"
                or _CHECKPOINT.match(base)
                or (kind == "tfevents" and "_" in base and _stampish(base))
            ):
                parent = os.path.dirname(parent)
                continue
            break
        return os.path.basename(parent) or stem
    return stem


def _stampish(name: str) -> bool:
    return bool(re.match(r"^[A-Z][a-z]{2}\d{2}_\d{2}-\d{2}-\d{2}", name))


def _card_near(path: str, fs: FileSystem = LOCAL) -> str | None:
    """``README.md`` of the output_dir a single file belongs to (detection's first evidence)."""
    parent = os.path.dirname(absolute(path))
    for _ in range(3):
        card = os.path.join(parent, "README.md")
        if is_file(fs, card):
            return card
        base = os.path.basename(parent)
        if base == "runs" or _CHECKPOINT.match(base) or _stampish(base):
            parent = os.path.dirname(parent)
            continue
        break
    return None


def discover(path: str, *, max_depth: int = MAX_DEPTH) -> Discovery:
    """The runs under ``path`` (a file, a run folder or a sweep folder). Never raises."""
    result = Discovery()
    try:
        fs = fs_for(path)
        info = fs.stat(path)
    except OSError as exc:
        result.problems.append(Problem(path, None, f"cannot read: {describe(exc)}"))
        return result
    if info.kind == "other":
        result.problems.append(Problem(path, None, "not a regular file or folder (a FIFO or device?)"))
        return result
    if info.kind == "file":
        trackers = logger_discovery.file_runs(path)
        if trackers is not None:
            result.runs.extend(_standalone(t, set()) for t in trackers)
            return result
        kind = classify(path, explicit=True, fs=fs)
        if kind is None:
            result.problems.append(
                Problem(
                    path,
                    None,
                    "not a file rltui reads (events.out.tfevents.*, trainer_state.json, "
                    "*.log, *.txt, *.out, *.jsonl, *.wandb, *.swanlab, an MLflow or Trackio *.db)",
                )
            )
            return result
        run = DiscoveredRun(path, _file_run_name(path, kind), [SourceFile(kind, path)], single_file=True)
        run.model_card = _card_near(path, fs)
        result.runs.append(run)
        return result
    walker = _Walker(max_depth, result.problems, fs)
    walker.walk(path)
    runs = _decide_runs(walker, path)
    roots = [r.root for r in runs]
    for run in runs:
        nested = [r for r in roots if _is_under(r, run.root)]
        run.files = _files_of(walker, run.root, nested, run.jsonl_only)
        card = os.path.join(run.root, "README.md")
        node = walker.dirs.get(run.root)
        if node is not None and "README.md" in node.files:
            run.model_card = card
    runs = _with_trackers(walker, path, runs)
    result.runs = [r for r in runs if r.files]
    return result


def _standalone(t: logger_discovery.TrackerRun, names: set[str]) -> DiscoveredRun:
    name = t.name if t.name not in names else f"{t.name} ({t.select or os.path.basename(t.path)})"
    names.add(name)
    files = [SourceFile(t.kind, t.path, t.select)] + [SourceFile(k, p) for k, p in t.extras]
    return DiscoveredRun(t.path, name, files, single_file=True, select=t.select)


def _with_trackers(walker: _Walker, top: str, runs: list[DiscoveredRun]) -> list[DiscoveredRun]:
    """Add the tracker runs (``logger_discovery``): merged into the run of their ``output_dir``,
    else runs of their own; generic runs inside a tracker's folders are dropped."""
    found: list[logger_discovery.TrackerRun] = []
    seen: set[tuple[str, str | None]] = set()

    def add(trackers: list[logger_discovery.TrackerRun], into: list[logger_discovery.TrackerRun]) -> None:
        for t in trackers:
            key = (os.path.realpath(t.path), t.select)
            if key not in seen and len(seen) < logger_discovery.MAX_TRACKER_RUNS:
                seen.add(key)
                into.append(t)

    for folder, node in sorted(walker.dirs.items()):
        add(logger_discovery.runs_in(folder, node.files), found)
    # `rltui out/`: trackers beside the run folder given, for runs whose output_dir it is.
    neighbours: list[logger_discovery.TrackerRun] = []
    if any(r.root == top for r in runs):
        parent = os.path.dirname(os.path.abspath(top))
        add(logger_discovery.runs_in(parent, _file_names(parent)), neighbours)
    claimed = [c for c in map(logger_discovery.claimed_folder, found) if c is not None]
    kept = [
        r
        for r in runs
        if not any(os.path.abspath(r.root) == c or _is_under(os.path.abspath(r.root), c) for c in claimed)
    ]
    by_root = {os.path.realpath(r.root): r for r in kept if not r.single_file}
    names = {r.name for r in kept}
    out = list(kept)
    found_ids = {id(t) for t in found}
    for t in found + neighbours:
        target = by_root.get(logger_discovery.resolved_output_dir(t) or "")
        if target is not None:
            target.files.append(SourceFile(t.kind, t.path, t.select))
        elif id(t) in found_ids:
            out.append(_standalone(t, names))
    return out


def _file_names(folder: str) -> list[str]:
    try:
        entries = LOCAL.scandir(folder)
        return [e.name for _, e in zip(range(MAX_ENTRIES), entries, strict=False) if e.kind == "file"]
    except (OSError, ValueError):
        return []


def find_runs(paths: Iterable[str]) -> Discovery:
    """:func:`discover` over several paths; a run reached twice is kept once."""
    out = Discovery()
    seen: set[tuple[str, str | None, str | None]] = set()
    for p in paths:
        d = discover(p)
        out.problems.extend(d.problems)
        for run in d.runs:
            key = run.key
            if key not in seen:
                seen.add(key)
                out.runs.append(run)
    return out
