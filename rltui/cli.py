"""Command line: parse arguments and hand over to the command that does the work.

Each command lives in its own module and is imported lazily, so ``rltui check`` in a CI job never
imports Textual, and ``rltui --help`` is instant.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence

from rltui import __version__

COMMANDS = ("watch", "replay", "compare", "check", "demo", "explain")

DESCRIPTION = """\
rltui watches RL post-training runs (TRL DPO/PPO/GRPO/RLOO/KTO/ORPO/SFT, verl, OpenRLHF) in the
terminal and tells you what is going wrong: reward margin explosions, KL runaways, clipping,
length hacking, non-finite losses, with the cause and what to change.

It reads TensorBoard event files, trainer_state.json, console logs, JSONL, the local files of
W&B, MLflow, Trackio and SwanLab, completion samples and tmux panes, here, on other hosts
(host:path, ssh://[user@]host[:port]/path, through your own ssh) or in object storage (s3://,
gs://, az://, hf://), never writes into a run directory, and connects only to the hosts named on
the command line, only to read."""

EPILOG = """\
commands:
  rltui [watch] [PATH ...]        live dashboard (the default; PATH defaults to .)
  rltui replay PATH [--speed X]   play a finished run back with alerts firing as they would have
  rltui compare PATH PATH ...     runs side by side, charts overlaid
  rltui check PATH ... [--json]   headless verdict for scripts and CI (exit 1 at --fail-on)
  rltui check --follow PATH ...   headless following: one line per new alert until the runs end
  rltui demo                      replay a bundled real run that fails (offline)
  rltui explain ID                a failure pattern's logic, thresholds, cause, action, source

examples:
  rltui ~/runs/dpo-beta0.1
  rltui watch --tmux train:0.0
  rltui check out/ --json --fail-on warn
  rltui check out/ --at-step 200      # when would rltui have warned?
  rltui check --follow out/ --on-alert 'notify-send "$RLTUI_RUN: $RLTUI_ALERT_ID"'

settings:
  rltui.toml (./rltui.toml, else ~/.config/rltui/rltui.toml, or --config FILE): [rules.ID]
  thresholds and enabled, [trust] run_configs, [ui] theme, smoothing, pinned, hidden.
  What you change in the dashboard (theme, p/d/u on gauges, < > on charts) is remembered
  in $XDG_STATE_HOME/rltui/ui.toml (~/.local/state/rltui/ui.toml); delete it to go back.
"""


def _positive_float(text: str) -> float:
    """argparse type: a finite number > 0 (speeds and intervals)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (value > 0 and value < float("inf")):
        raise argparse.ArgumentTypeError(f"must be a positive number: {text!r}")
    return value


def _add_poll_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--poll", action="store_true", help="poll instead of OS file events (NFS, sshfs)")
    p.add_argument(
        "--poll-interval",
        type=_positive_float,
        default=1.0,
        metavar="S",
        help="seconds between polls with --poll (default 1)",
    )


def _add_display_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ascii", action="store_true", help="draw with ASCII only (no Unicode block glyphs)")
    p.add_argument(
        "--no-bell", action="store_true", help="do not ring the terminal bell on a new critical alert"
    )
    p.add_argument(
        "--no-notify",
        action="store_true",
        help="do not send OSC 9 desktop notifications on a new critical alert",
    )
    p.add_argument(
        "--on-alert",
        metavar="CMD",
        help="run CMD (through the shell) for each new warn or critical alert: the alert in RLTUI_* "
        "environment variables (RLTUI_ALERT_ID, RLTUI_RUN, ...), its JSON on stdin",
    )
    p.add_argument(
        "--config", metavar="FILE", help="rltui.toml to use instead of the usual lookup (rules and [ui])"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rltui",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"rltui {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    watch = sub.add_parser("watch", help="live dashboard (default)", description="Watch runs live.")
    watch.add_argument(
        "paths", nargs="*", metavar="PATH", help="run folder, sweep folder or log file (default .)"
    )
    watch.add_argument("--tmux", metavar="TARGET", help="follow a tmux pane, e.g. SESSION:WIN.PANE")
    _add_tracker_options(watch)
    _add_poll_options(watch)
    _add_display_options(watch)

    replay = sub.add_parser("replay", help="play a finished run back", description="Replay a finished run.")
    replay.add_argument("paths", nargs=1, metavar="PATH")
    replay.add_argument(
        "--speed",
        type=_positive_float,
        default=10.0,
        metavar="X",
        help="logged steps per second (default 10)",
    )
    _add_display_options(replay)

    compare = sub.add_parser("compare", help="runs side by side", description="Compare runs side by side.")
    compare.add_argument("paths", nargs="*", metavar="PATH", help="runs, or one sweep folder")
    _add_tracker_options(compare)
    _add_poll_options(compare)
    _add_display_options(compare)

    check = sub.add_parser(
        "check",
        help="headless verdict for scripts and CI",
        description="Evaluate runs without a terminal UI. Exit 0: nothing at or above --fail-on; "
        "1: something is; 2: bad usage or no readable run.",
    )
    check.add_argument("paths", nargs="*", metavar="PATH")
    _add_tracker_options(check)
    check.add_argument("--json", action="store_true", help="print the JSON contract (design.md §6)")
    check.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="the whole report: sources, every instrument, info and cleared alerts (by default: the "
        "verdict, the active warn/critical alerts with their actions, and input problems)",
    )
    check.add_argument("--fail-on", choices=("warn", "critical"), default="critical")
    check.add_argument(
        "--at-step", type=int, metavar="N", help="evaluate as if the run had only reached step N"
    )
    check.add_argument("--config", metavar="FILE", help="rltui.toml to use instead of the usual lookup")
    check.add_argument(
        "--follow",
        action="store_true",
        help="keep reading until the runs reach max_steps or Ctrl+C; print each new warn/critical "
        "alert as one line (one JSON object per line with --json)",
    )
    check.add_argument(
        "--on-alert",
        metavar="CMD",
        help="with --follow: run CMD (through the shell) for each new warn or critical alert; the "
        "alert is in RLTUI_ALERT_ID, RLTUI_ALERT_SEVERITY, RLTUI_RUN, RLTUI_STEP, ... and its JSON "
        "on stdin",
    )
    check.add_argument(
        "--samples",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=(
            "read the completion samples (TRL completions/*.parquet, verl rollout dumps): their count "
            "and up to three evidence samples per alert; on by default with --json, off otherwise "
            "(they are read anyway when the logs lack what they witness)"
        ),
    )

    demo = sub.add_parser("demo", help="replay a bundled real run that fails", description="Demo.")
    demo.add_argument(
        "--speed", type=_positive_float, default=40.0, metavar="X", help="logged steps per second"
    )
    _add_display_options(demo)

    explain = sub.add_parser("explain", help="explain a failure pattern", description="Explain a rule.")
    explain.add_argument("rule", nargs="?", metavar="ID", help="alert id, e.g. margin_runaway (omit to list)")
    explain.add_argument(
        "--markdown", action="store_true", help="print the whole catalogue as Markdown (docs/patterns.md)"
    )
    return parser


def _add_tracker_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--trackio",
        metavar="PROJECT",
        action="append",
        nargs="?",
        const="",
        help="a Trackio project from TRACKIO_DIR or ~/.cache/huggingface/trackio (every project there "
        "without PROJECT; or a path to its .db)",
    )


def _tracker_paths(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """Turn ``--trackio PROJECT`` into the project's database path, added to the PATHs; a
    command that needs a PATH and got neither is a usage error (exit 2), as before."""
    projects = getattr(args, "trackio", None) or []
    if projects:
        from rltui.sources.trackio import project_dbs

        args.paths = [*(args.paths or []), *(db for p in projects for db in project_dbs(p))]
    if args.command in ("check", "compare") and not args.paths:
        parser.error(f"{args.command}: give a PATH or --trackio PROJECT")


def _normalise_argv(argv: list[str]) -> list[str]:
    """``rltui RUN`` means ``rltui watch RUN``: insert the default command when none is given."""
    if not argv:
        return ["watch"]
    first = argv[0]
    if first in COMMANDS or first in ("-h", "--help", "--version"):
        return argv
    return ["watch", *argv]


def main(argv: Sequence[str] | None = None) -> int:
    args_list = _normalise_argv(list(sys.argv[1:] if argv is None else argv))
    parser = build_parser()
    args = parser.parse_args(args_list)
    try:
        _tracker_paths(args, parser)
    except LookupError as exc:  # --trackio PROJECT that does not exist
        return _usage_error(str(exc))
    try:
        if args.command == "check":
            from rltui.commands.check import run_check

            return run_check(args)
        if args.command == "explain":
            from rltui.commands.explain import run_explain

            return run_explain(args)
        from rltui.commands.launch import launch

        return launch(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `rltui explain | head`: the reader went away; say nothing more, like other CLI tools.
        _silence_stdout()
        return 0
    except Exception as exc:
        # Exit 1 means "an alert at or above --fail-on": a crash must never read as one in CI.
        return _unexpected(exc)


def _usage_error(message: str) -> int:
    """One sanitised line on stderr for a PATH or project that does not exist; exit code 2."""
    from rltui.text import sanitize

    print(f"rltui: error: {sanitize(message, single_line=True, max_len=500)}", file=sys.stderr)
    return 2


def _unexpected(exc: BaseException) -> int:
    """One sanitised line on stderr for an error nothing else handled; exit code 2."""
    from rltui.text import sanitize

    if isinstance(exc, OSError) and exc.filename is not None:
        text = f"{exc.filename}: {exc.strerror or exc}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    with contextlib.suppress(Exception):  # stderr itself is gone: the exit code still says it
        print(f"rltui: error: {sanitize(text, single_line=True, max_len=500)}", file=sys.stderr)
    return 2


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot raise again."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
