"""The command line as a user meets it: help, version, the default command, bad arguments."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rltui import __version__
from rltui.cli import _normalise_argv, build_parser

ROOT = Path(__file__).resolve().parents[1]


def rltui(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rltui", *args], capture_output=True, text=True, timeout=60, cwd=ROOT
    )


def test_help_names_every_command_and_the_contracts() -> None:
    proc = rltui("--help")
    assert proc.returncode == 0
    for word in ("watch", "replay", "compare", "check", "demo", "explain", "--fail-on", "--tmux"):
        assert word in proc.stdout


def test_version() -> None:
    proc = rltui("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"rltui {__version__}"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], ["watch"]),
        (["runs/dpo"], ["watch", "runs/dpo"]),
        (["--tmux", "train:0.0"], ["watch", "--tmux", "train:0.0"]),
        (["check", "x"], ["check", "x"]),
        (["--help"], ["--help"]),
    ],
)
def test_a_bare_path_means_watch(argv: list[str], expected: list[str]) -> None:
    assert _normalise_argv(argv) == expected
    if expected[0] == "watch":
        ns = build_parser().parse_args(expected)
        assert ns.command == "watch"


@pytest.mark.parametrize(
    "args",
    [
        ("replay", "x", "--speed", "-1"),
        ("replay", "x", "--speed", "nan"),
        ("watch", "--poll-interval", "0"),
        ("check", "x", "--at-step", "many"),
        ("frobnicate-not-a-path-either", "--bogus"),
    ],
)
def test_bad_arguments_are_usage_errors_not_tracebacks(args: tuple[str, ...]) -> None:
    proc = rltui(*args)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "usage:" in proc.stderr


def test_watch_on_a_missing_path_is_a_clear_error() -> None:
    proc = rltui("watch", "/nonexistent/run")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "/nonexistent/run" in proc.stderr


def test_output_cut_short_by_the_reader_is_not_a_traceback() -> None:
    """``rltui check ... --json | head -1``: the pipe closes early; no traceback, no hang.

    All six runs make ~140 KB of JSON, more than a pipe buffer holds, so the writer really does
    hit the closed pipe.
    """
    runs = sorted(str(p) for p in (ROOT / "fixtures" / "runs").iterdir())
    proc = subprocess.Popen(
        [sys.executable, "-m", "rltui", "check", *runs, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline()  # read one line, then hang up like `head -1`
    proc.stdout.close()
    _, err = proc.communicate(timeout=120)
    assert b"Traceback" not in err
    assert b"BrokenPipe" not in err
