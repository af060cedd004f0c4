"""Opening runs: from the PATHs of a command line to :class:`RunSession`\\s with their config.

``open_sessions(paths, tmux=None)`` finds the runs (files, run folders, sweep folders; local,
``ssh://``/``HOST:PATH`` or an object store), resolves the thresholds that apply to each (the
user's ``rltui.toml``, the run folder's, ``--config``) and raises :class:`NoRunError` with a
message meant for the user when nothing readable is there.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Sequence
from typing import Any

from rltui.model.snapshot import RuleConfig
from rltui.records import Problem
from rltui.session.run import RunSession
from rltui.settings import ResolvedConfig, resolve_config
from rltui.sources.discovery import LOOKED_FOR, DiscoveredRun, Discovery, discover, find_runs
from rltui.sources.locations import BadLocation, canonical, fs_for, is_remote
from rltui.text import sanitize


class NoRunError(Exception):
    """Nothing readable under the given paths; the message is meant for the user as is."""


def resolve_paths(paths: Sequence[str]) -> list[str]:
    """The PATHs of a command line as rltui writes them inside (``rltui.sources.locations``):
    ``host:rel`` and ``~`` become ``ssh://host/abs``. A host that refuses or cannot be reached
    raises :class:`NoRunError` with the reason and the fix."""
    out = []
    for p in paths:
        try:
            path = canonical(p)
            if is_remote(path):
                fs_for(path)  # a store whose backend is not installed: the install command, now
            out.append(path)
        except BadLocation as exc:
            raise NoRunError(str(exc)) from None
        except OSError as exc:
            raise NoRunError(f"cannot read {p}: {exc.strerror or exc}") from None
    return out


def load_model_config(config_path: str | None, run_root: str) -> ResolvedConfig:
    """The thresholds for the rules: ``--config FILE``, else the user's ``rltui.toml`` with the
    run folder's one shown but applied only when the user opted in (``rltui.settings``).

    ``ConfigError`` from a bad *user* config propagates: ``check`` turns it into exit code 2. A bad
    config inside the run is a problem of that run (``ResolvedConfig.problems``).
    """
    if run_root and is_remote(run_root):
        # The run's own rltui.toml comes through its host's (or store's) seam, confined to the
        # run folder and bounded like a local one (settings.MAX_CONFIG_BYTES).
        fs = fs_for(run_root)
        try:
            is_dir = fs.stat(run_root).kind == "dir"
        except OSError:
            is_dir = True  # unreachable now: the config read says so as a problem of the run
        folder = run_root if is_dir else posixpath.dirname(run_root)
        return resolve_config(run_dir=folder, config_path=config_path, run_fs=fs.confined(folder))
    run_dir = None
    if run_root:
        run_dir = run_root if os.path.isdir(run_root) else os.path.dirname(os.path.abspath(run_root))
    return resolve_config(run_dir=run_dir, config_path=config_path)


def new_session(run: DiscoveredRun, config_path: str | None, **kwargs: Any) -> RunSession:
    """A session for ``run`` with the config that applies to it (its problems included)."""
    resolved = load_model_config(config_path, run.root)
    problems = [*kwargs.pop("problems", ()), *resolved.problems]
    return RunSession(
        run,
        model_config=resolved.config,
        problems=problems,
        rule_config=RuleConfig(tuple(resolved.files), tuple(resolved.changed), tuple(resolved.ignored)),
        **kwargs,
    )


def open_sessions(
    paths: Sequence[str],
    tmux: str | None = None,
    *,
    config_path: str | None = None,
    tmux_socket: str | None = None,
    wait: bool = False,
) -> list[RunSession]:
    """One session per run found under ``paths`` (files, run folders, sweep folders).

    ``tmux`` follows a pane: as an extra console source of the run when ``paths`` name exactly one
    run, otherwise as a run of its own. ``wait`` (the dashboard started before the training wrote
    anything) returns an empty session for a folder with no run yet instead of raising.
    Raises :class:`NoRunError` when nothing readable was found.
    """
    if not paths and tmux is not None:
        paths, found = [], Discovery()  # only the pane: do not go looking in the working directory
    else:
        paths = list(paths) or ["."]
        found = find_runs(paths)
    runs = found.runs
    waiting = False
    if not runs and wait and tmux is None:
        folders = [p for p in paths if os.path.isdir(p)]
        if folders:
            runs = [DiscoveredRun(folders[0], os.path.basename(os.path.abspath(folders[0])))]
            waiting = True
    if not runs and tmux is None:
        where = ", ".join(paths)
        detail = "; ".join(f"{p.path}: {p.message}" for p in found.problems[:3])
        msg = f"no run found under {where}: looked for {LOOKED_FOR}"
        raise NoRunError(msg + (f" ({detail})" if detail else ""))
    sessions: list[RunSession] = []
    attach = tmux if (tmux is not None and len(runs) == 1) else None
    for run in runs:
        problems = [p for p in found.problems if p.path == run.root or p.path.startswith(run.root + os.sep)]
        sessions.append(
            new_session(run, config_path, tmux=attach, tmux_socket=tmux_socket, problems=problems)
        )
    if waiting:
        sessions[0].placeholder = True
    if tmux is not None and attach is None:
        pane_run = DiscoveredRun("", f"tmux:{tmux}", single_file=True)
        sessions.append(new_session(pane_run, config_path, tmux=tmux, tmux_socket=tmux_socket))
    if sessions and found.problems:
        owned = {id(p) for s in sessions for p in s.problems}
        leftover = [p for p in found.problems if id(p) not in owned]
        sessions[0].add_problems(leftover)
    return sessions


def find_sweep(path: str) -> list[str]:
    """The run folders (or files) under ``path``, sorted; [] when there is none."""
    return sorted({r.root for r in discover(path).runs})


def open_new_sessions(
    paths: Sequence[str], known: Sequence[RunSession], *, config_path: str | None = None
) -> list[RunSession]:
    """Sessions for runs that appeared under ``paths`` after ``known`` were opened (a sweep grows)."""
    have = {s.run.key for s in known if s.run.root}
    out: list[RunSession] = []
    for run in find_runs(list(paths) or ["."]).runs:
        if run.key in have:
            continue
        try:
            out.append(new_session(run, config_path))
        except Exception as exc:  # a sweep gaining a run must never end the dashboard
            msg = sanitize(f"cannot open this run: {type(exc).__name__}: {exc}", single_line=True)
            out.append(RunSession(run, problems=[Problem(run.root, None, msg)]))
    return out
