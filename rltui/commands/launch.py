"""Entry point for the interactive commands (watch, replay, compare, demo), called by cli.py.

Wiring, not UI: it opens sessions (``rltui.session``) and hands them to the Textual app, so it
lives beside the other commands and ``rltui.ui`` never imports ``session`` or ``sources``
(tests/test_layers.py).

Everything that can fail before the first frame (no run at the path, unreadable files, a bad
config) is turned into one clear line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from rltui.ui import ascii_mode
from rltui.ui.glyphs import safe
from rltui.ui.prefs import UiPrefs
from rltui.ui.runs import RunSource

#: (prefs, the saver that remembers them, a problem with the state file)
UiOptionsPrefs = tuple[UiPrefs, Callable[[UiPrefs], None], str | None]

DEMO_RUN = "dpo_margin_explosion"


def demo_path() -> Path | None:
    """The bundled demo run: package data first, the repository's fixture as a fallback."""
    here = Path(__file__).resolve()
    for candidate in (
        here.parents[1] / "demo" / DEMO_RUN,
        here.parents[2] / "fixtures" / "runs" / DEMO_RUN,
    ):
        if candidate.is_dir():
            return candidate
    return None


def _fail(message: str) -> int:
    print(f"rltui: {safe(message, 1000)}", file=sys.stderr)  # messages name run files: sanitise
    return 2


def tmux_pane_missing(target: str) -> str | None:
    """Why the tmux pane ``target`` cannot be read, or None when it can.

    Checked before the first frame when the pane is the only source: a dashboard that says OK
    over nothing, with the reason only on the help screen, looks like a healthy run.
    """
    cmd = ["tmux", "display-message", "-p", "-t", target, "#{pane_id}"]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=5, check=False, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        return "tmux is not installed"
    except (OSError, subprocess.SubprocessError) as exc:
        return f"tmux failed: {type(exc).__name__}"
    if proc.returncode != 0 or not proc.stdout.strip():
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        return safe(lines[0], 200) if lines else f"tmux exited with {proc.returncode}"
    return None


def _prefs(config: str | None, paths: list[str]) -> UiOptionsPrefs:
    """The dashboard's settings: ``[ui]`` of the user's rltui.toml, then the state file of what
    was last changed in the app (``rltui.ui.prefs``); the saver that remembers changes."""
    from rltui import settings
    from rltui.ui import prefs as ui_prefs

    local = [p for p in paths if "://" not in p]
    table, origin = settings.ui_table(config, local[0] if local else None)
    base = ui_prefs.from_mapping(table, origin=f"{origin} [ui]" if origin else "[ui]")
    state = ui_prefs.state_path()
    prefs, problem = ui_prefs.load_state(state, base)

    def save(changed: ui_prefs.UiPrefs) -> None:
        ui_prefs.save_state(state, changed)

    return prefs, save, problem


def _open(paths: list[str], tmux: str | None, config: str | None, wait: bool) -> list[RunSource]:
    from rltui.session import open_sessions

    return list(open_sessions(paths, tmux=tmux, config_path=config, wait=wait))


def launch(args: argparse.Namespace) -> int:
    """Open the runs named on the command line and run the dashboard; return the exit code."""
    command = args.command or "watch"
    try:
        from rltui import session
    except Exception as exc:
        return _fail(f"cannot load the run reader: {exc}")
    if not hasattr(session, "open_sessions"):
        return _fail("this build cannot open runs yet (rltui.session.open_sessions is missing)")
    no_run = getattr(session, "NoRunError", None)

    paths: list[str]
    tmux = getattr(args, "tmux", None)
    if command == "demo":
        found = demo_path()
        if found is None:
            return _fail("the bundled demo run is missing from this installation")
        paths = [str(found)]
    else:
        # `--tmux TARGET` alone follows only the pane: the working directory is not a run.
        paths = list(getattr(args, "paths", None) or ([] if tmux else ["."]))
    config = getattr(args, "config", None)
    try:
        paths = session.resolve_paths(paths)  # host:rel -> ssh://host/abs (may connect)
    except Exception as exc:
        return _fail(str(exc))
    if tmux and not paths and not tmux.startswith("ssh://"):
        why = tmux_pane_missing(tmux)
        if why is not None:
            return _fail(f"cannot follow tmux pane {tmux!r}: {why}")
    try:
        # A live dashboard may start before the training wrote anything: wait for it then.
        runs = _open(paths, tmux, config, wait=command == "watch")
    except Exception as exc:
        if no_run is not None and isinstance(exc, no_run):
            return _fail(str(exc))
        return _fail(f"cannot open {' '.join(paths)}: {exc}")
    if not runs:
        return _fail(f"no run found at {' '.join(paths)}")
    try:
        prefs, save_prefs, prefs_problem = _prefs(config, paths)
    except Exception as exc:  # a bad [ui] value: named, like a bad rule setting
        return _fail(str(exc))

    from rltui.ui.app import RltuiApp, UiOptions

    mode = "replay" if command in ("replay", "demo") else "compare" if command == "compare" else "watch"
    reopen = None
    open_new = getattr(session, "open_new_sessions", None)
    local = not any("://" in p for p in paths)
    if (
        mode != "replay"
        and not tmux
        and open_new is not None
        and local
        and all(Path(p).is_dir() for p in paths)
    ):
        known = runs

        def reopen() -> list[RunSource]:
            """Runs that appeared in a sweep folder since the dashboard started."""
            fresh = list(open_new(paths, known, config_path=config))
            known.extend(fresh)
            return fresh

    options = UiOptions(
        mode=mode,  # type: ignore[arg-type]
        ascii_only=ascii_mode.wants_ascii(bool(getattr(args, "ascii", False)), sys.stdout.encoding),
        bell=not getattr(args, "no_bell", False),
        notify=not getattr(args, "no_notify", False),
        on_alert=getattr(args, "on_alert", None),
        poll=bool(getattr(args, "poll", False)),
        poll_interval=float(getattr(args, "poll_interval", 1.0) or 1.0),
        speed=float(getattr(args, "speed", 10.0) or 10.0),
        reopen=reopen,
        watch_roots=tuple(paths) if reopen is not None else (),
        prefs=prefs,
        save_prefs=save_prefs,
        prefs_problem=prefs_problem,
    )
    app = RltuiApp(runs, options)
    try:
        result = app.run()
    finally:
        app.end_children()  # however the app ended, no --on-alert command outlives it
    return int(result or 0)
