"""Find and read ``rltui.toml``, and decide which of them may change the rules (design.md §8).

Two kinds of file, because a run folder is someone else's data:

* **the user's own config**: ``--config FILE`` (which replaces the lookup), else ``rltui.toml`` in
  the working directory (unless that directory is inside the run), else
  ``$XDG_CONFIG_HOME`` (or ``~/.config``) ``/rltui/rltui.toml``. It applies as written; a bad one
  is a :class:`~rltui.model.config.ConfigError` (``check`` exits 2: its verdict would be wrong).
* **a run's config**: ``rltui.toml`` inside the run folder. It is read and shown, but applied
  only when the user opted in (``[trust] run_configs = true`` in their own file, or naming it with
  ``--config``): otherwise a folder copied from elsewhere could switch every rule off and turn a
  failing run "OK". A bad run config is a problem of that run, never a crash of the others.

What applies is reported (:class:`ResolvedConfig`): the files read, what differs from the
defaults, and what a run's config asked for that was ignored. Every read is bounded and goes
through the file-system seam (a FIFO or a 1 GiB sparse file named ``rltui.toml`` is refused).
"""

from __future__ import annotations

import errno
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rltui.model.config import Config, ConfigError
from rltui.records import Problem
from rltui.sources.fs import LOCAL, FileSystem, describe, within
from rltui.text import sanitize

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

FILENAME = "rltui.toml"
#: No real config is anywhere near this; a bigger file is refused before a byte is read.
MAX_CONFIG_BYTES = 256 * 1024
#: How the user opts in, named in every "ignored" note.
OPT_IN = "[trust] run_configs = true in your own rltui.toml, or --config FILE"


def user_config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "rltui" / FILENAME


def _exists(p: Path | str, fs: FileSystem = LOCAL) -> bool:
    """Whether a config file is there; a location that cannot be looked at is a ConfigError."""
    try:
        info = fs.stat(str(p))
    except OSError as e:
        if e.errno in (errno.ENOENT, errno.ENOTDIR):
            return False
        raise ConfigError(f"{p}: cannot look for a config here ({describe(e)})") from e
    return info.kind != "dir"  # a FIFO or device is found, and refused when read


def candidate_paths(run_dir: str | Path | None = None, cwd: str | Path | None = None) -> list[Path]:
    """Where ``rltui.toml`` is looked for: the run folder, the working directory, the user's."""
    out: list[Path] = []
    if run_dir is not None:
        rd = Path(run_dir)
        out.append((rd if os.path.isdir(rd) else rd.parent) / FILENAME)
    out.append(Path(cwd if cwd is not None else Path.cwd()) / FILENAME)
    out.append(user_config_path())
    return out


def find_config(run_dir: str | Path | None = None, cwd: str | Path | None = None) -> Path | None:
    """The first config file in :func:`candidate_paths` order (what ``explain`` shows)."""
    for p in candidate_paths(run_dir, cwd):
        if _exists(p):
            return p
    return None


def _read_mapping(p: Path | str, fs: FileSystem = LOCAL) -> dict[str, Any]:
    try:
        data = fs.read_small(str(p), MAX_CONFIG_BYTES)
    except OSError as e:
        raise ConfigError(f"{p}: cannot read ({describe(e)})") from e
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{p}: not UTF-8 text") from e
    try:
        return tomllib.loads(text.removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{p}: invalid TOML: {e}") from e
    except RecursionError as e:
        raise ConfigError(f"{p}: invalid TOML: nested too deep") from e


def read_config(path: str | Path, base: Config | None = None, fs: FileSystem = LOCAL) -> Config:
    """Parse one ``rltui.toml`` (over ``base``); every error names the file (and the key).

    ``fs``: where it is read from (a remote run's own file comes through its host's seam, bounded
    as a local one is: a remote run folder is someone else's data too)."""
    p = str(path) if fs is not LOCAL else str(Path(path))
    data = _read_mapping(p, fs)
    try:
        return Config.from_mapping(data, origin=p, base=base)
    except ConfigError as e:
        raise ConfigError(f"{p}: {e}") from e


@dataclass(slots=True)
class ResolvedConfig:
    """The rules' config for one run and what the user should be told about it."""

    config: Config
    #: Every config file read, the user's first.
    files: list[str] = field(default_factory=list)
    #: What differs from the built-in defaults (``rules.kl_level.enabled=false``).
    changed: list[str] = field(default_factory=list)
    #: What a run's own config asked for and was not applied (not opted in).
    ignored: list[str] = field(default_factory=list)
    #: A run config that could not be read or parsed (a problem of that run).
    problems: list[Problem] = field(default_factory=list)
    #: The last file whose settings apply (None: the defaults).
    source: str | None = None


def _run_config_path(run_dir: str | Path | None) -> Path | None:
    if run_dir is None or run_dir == "":
        return None
    rd = Path(run_dir)
    return (rd if os.path.isdir(rd) else rd.parent) / FILENAME


def _inside(path: Path, folder: Path | None) -> bool:
    if folder is None:
        return False
    return within(os.path.realpath(path), os.path.realpath(folder))


def user_config_file(run_dir: str | Path | None = None, cwd: str | Path | None = None) -> Path | None:
    """The user's own config file (see the module docstring), or None."""
    here = Path(cwd if cwd is not None else Path.cwd()) / FILENAME
    run_folder = _run_config_path(run_dir)
    if _exists(here) and not _inside(here, run_folder.parent if run_folder else None):
        return here
    user = user_config_path()
    return user if _exists(user) else None


def ui_table(
    config_path: str | Path | None = None, run_dir: str | Path | None = None, cwd: str | Path | None = None
) -> tuple[dict[str, Any], str | None]:
    """The ``[ui]`` table of the user's own config (``--config FILE``, else the lookup) and the
    file it came from; ``({}, None)`` when there is none. Never a run folder's: a copied run must
    not restyle the dashboard. A bad file raises ConfigError, as for the rules."""
    path = Path(config_path) if config_path is not None else user_config_file(run_dir, cwd)
    if path is None:
        return {}, None
    table = _read_mapping(path).get("ui", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [ui] must be a table")
    return table, str(path)


def resolve_config(
    run_dir: str | Path | None = None,
    cwd: str | Path | None = None,
    config_path: str | Path | None = None,
    run_fs: FileSystem | None = None,
) -> ResolvedConfig:
    """The config that applies to the run at ``run_dir`` (see the module docstring).

    Raises ConfigError for a bad *user* config (or ``--config FILE``); a bad run config is
    returned as a problem and the user's config applies. ``run_fs``: ``run_dir`` is the folder
    of a remote run (``ssh://host/abs``, ``s3://bucket/prefix``), read through that file system.
    """
    if run_fs is not None:
        return _resolve_remote(str(run_dir), run_fs, cwd, config_path)
    if config_path is not None:
        cfg = read_config(config_path)
        return ResolvedConfig(cfg, [str(config_path)], cfg.changes(), source=str(config_path))
    user = user_config_file(run_dir, cwd)
    base = read_config(user) if user is not None else Config.defaults()
    out = ResolvedConfig(base, [str(user)] if user is not None else [], source=str(user) if user else None)
    run_file = _run_config_path(run_dir)
    if run_file is not None and (user is None or not _same(run_file, user)):
        _apply_run_config(out, run_file)
    out.changed = out.config.changes()
    return out


def _resolve_remote(
    run_dir: str, fs: FileSystem, cwd: str | Path | None, config_path: str | Path | None
) -> ResolvedConfig:
    """As :func:`resolve_config` for a remote run: the user's own config is local, the run's
    ``rltui.toml`` is read from the run's host or store (trusted only as a local one would be)."""
    if config_path is not None:
        return resolve_config(config_path=config_path)
    user = user_config_file(None, cwd)
    base = read_config(user) if user is not None else Config.defaults()
    out = ResolvedConfig(base, [str(user)] if user is not None else [], source=str(user) if user else None)
    _apply_run_config(out, run_dir.rstrip("/") + "/" + FILENAME, fs)
    out.changed = out.config.changes()
    return out


def _same(a: Path, b: Path) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


def _apply_run_config(out: ResolvedConfig, path: Path | str, fs: FileSystem = LOCAL) -> None:
    try:
        present = _exists(path, fs)
    except ConfigError as e:
        out.problems.append(Problem(str(path), None, sanitize(str(e), single_line=True)))
        return
    if not present:
        return
    out.files.append(str(path))
    base = out.config
    try:
        mine = read_config(path, base=base, fs=fs)
    except ConfigError as e:
        message = f"{e}; this run uses your own config instead"
        out.problems.append(Problem(str(path), None, sanitize(message, single_line=True)))
        return
    wanted = sorted(set(mine.changes()) - set(base.changes()))
    if mine.trust_run_configs != base.trust_run_configs:
        wanted.append("trust.run_configs (only your own config can set it)")
    if base.trust_run_configs:
        # Opted in: the run's thresholds and switches apply, but not its trust setting.
        mine.trust_run_configs = base.trust_run_configs
        out.config = mine
        out.source = str(path)
        return
    out.ignored = [f"{w} (ignored: config inside the run folder; {OPT_IN})" for w in wanted]


def load_config(
    run_dir: str | Path | None = None, cwd: str | Path | None = None
) -> tuple[Config, Path | None]:
    """The config that applies to a run (defaults when no file exists) and the file it came from
    (the run's own when it was applied, else the user's)."""
    resolved = resolve_config(run_dir, cwd)
    return resolved.config, Path(resolved.source) if resolved.source else None
