"""Find and read ``rltui.toml`` (the only file rltui reads that is not a run's log).

Search order, first found wins (no merging, so what applies is always one file you can open):
the run folder, then the working directory, then the user's config folder
(``$XDG_CONFIG_HOME`` or ``~/.config``)``/rltui/rltui.toml``. A syntax error or a bad value is a
:class:`~rltui.model.config.ConfigError` that names the file and the key.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from rltui.model.config import Config, ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

FILENAME = "rltui.toml"


def user_config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "rltui" / FILENAME


def candidate_paths(run_dir: str | Path | None = None, cwd: str | Path | None = None) -> list[Path]:
    """Where ``rltui.toml`` is looked for, in order."""
    out: list[Path] = []
    if run_dir is not None:
        rd = Path(run_dir)
        out.append((rd if rd.is_dir() else rd.parent) / FILENAME)
    out.append(Path(cwd if cwd is not None else Path.cwd()) / FILENAME)
    out.append(user_config_path())
    return out


def find_config(run_dir: str | Path | None = None, cwd: str | Path | None = None) -> Path | None:
    for p in candidate_paths(run_dir, cwd):
        if p.is_file():
            return p
    return None


def read_config(path: str | Path) -> Config:
    """Parse one ``rltui.toml``; every error names the file (and the key when there is one)."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"{p}: cannot read ({e.strerror or e})") from e
    except UnicodeDecodeError as e:
        raise ConfigError(f"{p}: not UTF-8 text") from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{p}: invalid TOML: {e}") from e
    try:
        return Config.from_mapping(data, origin=str(p))
    except ConfigError as e:
        raise ConfigError(f"{p}: {e}") from e


def load_config(
    run_dir: str | Path | None = None, cwd: str | Path | None = None
) -> tuple[Config, Path | None]:
    """The config that applies to a run (defaults when no file exists) and the file it came from."""
    path = find_config(run_dir, cwd)
    if path is None:
        return Config.defaults(), None
    return read_config(path), path
