"""The dashboard's own settings: theme, smoothing, pinned and hidden gauges.

Two places hold them, because one is the user's text and the other is the app's memory:

* ``[ui]`` in the user's ``rltui.toml`` (never a run folder's: someone else's data does not get to
  restyle your terminal) gives the defaults, as written by hand;
* what is changed in the app (a theme picked in the palette, ``p``/``d`` on a gauge, ``<``/``>``
  on a chart) is remembered in a small state file the app writes itself
  (``$XDG_STATE_HOME/rltui/ui.toml``), which wins over ``[ui]``. Rewriting the user's own
  ``rltui.toml`` would lose its comments and layout; deleting the state file goes back to it.

Everything here is pure (parse, merge, render, order gauges) except :func:`load_state` and
:func:`save_state`, which read and write only that state file (atomically, bounded).
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

#: The chart's smoothing weight when nothing says otherwise (TensorBoard's default is 0.6).
DEFAULT_SMOOTHING = 0.6
#: A state file is a few lines; anything bigger is not ours and is ignored.
MAX_STATE_BYTES = 64 * 1024
#: Gauge ids are short identifiers (``reward``, ``metric:loss``); longer ones are not kept.
MAX_ID = 120
MAX_IDS = 64
KNOWN = ("theme", "smoothing", "pinned", "hidden")


class PrefsError(ValueError):
    """A bad ``[ui]`` value, named (the config's other errors read the same)."""


@dataclass(frozen=True, slots=True)
class UiPrefs:
    """What the user chose for the dashboard. ``theme`` None keeps Textual's default."""

    theme: str | None = None
    smoothing: float = DEFAULT_SMOOTHING
    pinned: tuple[str, ...] = ()
    hidden: tuple[str, ...] = ()

    def toggle_pin(self, gauge: str) -> UiPrefs:
        """Pin a gauge (it leads the grid, in the order pinned), or unpin it; a pinned gauge is shown."""
        if gauge in self.pinned:
            return replace(self, pinned=tuple(g for g in self.pinned if g != gauge))
        return replace(
            self,
            pinned=(*self.pinned, gauge)[-MAX_IDS:],
            hidden=tuple(g for g in self.hidden if g != gauge),
        )

    def hide(self, gauge: str) -> UiPrefs:
        if gauge in self.hidden:
            return self
        return replace(
            self,
            hidden=(*self.hidden, gauge)[-MAX_IDS:],
            pinned=tuple(g for g in self.pinned if g != gauge),
        )

    def show_all(self) -> UiPrefs:
        return replace(self, hidden=())

    def with_theme(self, theme: str) -> UiPrefs:
        return replace(self, theme=theme)

    def with_smoothing(self, weight: float) -> UiPrefs:
        return replace(self, smoothing=_weight(weight, "smoothing"))


def arrange(order: Iterable[str], prefs: UiPrefs) -> tuple[list[str], list[str]]:
    """(shown, hidden) gauge ids: pinned ones first in the order they were pinned, then the rest
    in the given order (trouble first, as the dashboard sorts them); hidden ones left out."""
    ids = list(order)
    hidden = [g for g in ids if g in prefs.hidden]
    rest = [g for g in ids if g not in prefs.hidden]
    pinned = [g for g in prefs.pinned if g in rest]
    return pinned + [g for g in rest if g not in pinned], hidden


def _weight(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(float(value)):
        raise PrefsError(f"{where}: expected a number from 0 to 0.99, got {value!r}")
    w = float(value)
    if not 0.0 <= w <= 0.99:
        raise PrefsError(f"{where}: expected a number from 0 to 0.99, got {value!r}")
    return round(w, 2)


def _ids(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PrefsError(f"{where}: expected a list of gauge ids (strings), got {value!r}")
    out: list[str] = []
    for v in value:
        if len(v) > MAX_ID or not v.isprintable():
            raise PrefsError(f"{where}: {v[:40]!r} is not a gauge id")
        if v not in out:
            out.append(v)
    return tuple(out[:MAX_IDS])


def from_mapping(table: Mapping[str, Any], base: UiPrefs | None = None, origin: str = "[ui]") -> UiPrefs:
    """``base`` with the values of a ``[ui]`` table applied; PrefsError names a bad key."""
    prefs = base or UiPrefs()
    if not isinstance(table, Mapping):
        raise PrefsError(f"{origin}: expected a table")
    for key, value in table.items():
        where = f"{origin} {key}"
        if key == "theme":
            if not isinstance(value, str) or not value or len(value) > 60 or not value.isprintable():
                raise PrefsError(f"{where}: expected a theme name, got {value!r}")
            prefs = replace(prefs, theme=value)
        elif key == "smoothing":
            prefs = replace(prefs, smoothing=_weight(value, where))
        elif key == "pinned":
            prefs = replace(prefs, pinned=_ids(value, where))
        elif key == "hidden":
            prefs = replace(prefs, hidden=_ids(value, where))
        else:
            raise PrefsError(f"{where}: unknown setting (known: {', '.join(KNOWN)})")
    return prefs


def _quote(s: str) -> str:
    """A TOML basic string (only printable text reaches here; quotes and backslashes escaped)."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_toml(prefs: UiPrefs) -> str:
    """The state file's text: ``[ui]`` with every setting, readable and re-readable."""
    lines = ["# Written by rltui: what was last chosen in the app. Delete it to use rltui.toml's [ui]."]
    lines.append("[ui]")
    if prefs.theme is not None:
        lines.append(f"theme = {_quote(prefs.theme)}")
    lines.append(f"smoothing = {prefs.smoothing:.2f}")
    lines.append(f"pinned = [{', '.join(_quote(g) for g in prefs.pinned)}]")
    lines.append(f"hidden = [{', '.join(_quote(g) for g in prefs.hidden)}]")
    return "\n".join(lines) + "\n"


def state_path(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    base = env.get("XDG_STATE_HOME") or str(Path(env.get("HOME") or Path.home()) / ".local" / "state")
    return Path(base) / "rltui" / "ui.toml"


def load_state(path: Path, base: UiPrefs) -> tuple[UiPrefs, str | None]:
    """``base`` with the state file applied, and why it was not (a problem to show), or None.

    A missing file is no problem; a damaged one (torn write, hand edit) is reported and ignored:
    the dashboard must start whatever this file holds.
    """
    try:
        if not path.is_file():
            return base, None
        if path.stat().st_size > MAX_STATE_BYTES:
            return base, f"{path}: larger than {MAX_STATE_BYTES} bytes, ignored"
        data = tomllib.loads(path.read_text(encoding="utf-8").removeprefix("\ufeff"))
        return from_mapping(data.get("ui", {}), base, origin=f"{path} [ui]"), None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, PrefsError, RecursionError) as exc:
        return base, f"{path}: ignored ({type(exc).__name__ if isinstance(exc, RecursionError) else exc})"


def save_state(path: Path, prefs: UiPrefs) -> None:
    """Write the state file atomically (a crash mid-write leaves the old one); OSError to the caller."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".ui-", suffix=".toml", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(to_toml(prefs))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
