"""``rltui check``: the headless verdict for scripts, CI jobs and cron.

Same ingest and model path as the dashboard, so "check says critical" and "the banner is red"
can never disagree. Exit codes (design.md §6): 0 nothing at or above ``--fail-on``; 1 something
is; 2 bad usage or no readable run.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from rltui import __version__
from rltui.model.engine import json_number
from rltui.model.snapshot import SEVERITY_RANK, RunSnapshot
from rltui.text import sanitize

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def snapshot_to_json(snap: RunSnapshot) -> dict[str, object]:
    """One entry of the contract's ``runs`` array (check.schema.json)."""
    info = snap.info
    return {
        "path": info.path,
        "name": info.name,
        "framework": info.framework,
        "trainer": info.trainer,
        "last_step": snap.step,
        "max_steps": info.max_steps,
        "sources": [
            {
                "kind": s.kind,
                "path": s.path,
                "points": s.points,
                "problems": [p.to_json() for p in s.problems],
            }
            for s in snap.sources
        ],
        "metrics": {
            name: {
                "points": m.points,
                "first_step": m.first_step,
                "last_step": m.last_step,
                "last": json_number(m.last),
                "min": m.min,
                "max": m.max,
                "nonfinite": m.nonfinite,
            }
            for name, m in snap.metrics.items()
        },
        "instruments": [
            {
                "id": r.id,
                "status": r.status,
                "value": r.value if r.value is not None and _finite(r.value) else None,
                "summary": r.summary,
                **({"reason": r.reason} if r.status == "unavailable" else {}),
            }
            for r in snap.instruments
        ],
        "alerts": [
            {
                "id": a.id,
                "severity": a.severity,
                "first_step": a.first_step,
                "last_step": a.last_step,
                "active": a.active,
                "message": a.message,
                "action": a.action,
                "evidence": {k: _evidence_value(v) for k, v in a.evidence.items()},
            }
            for a in snap.alerts
        ],
    }


def _finite(x: float) -> bool:
    return x == x and x not in (float("inf"), float("-inf"))


def _evidence_value(v: float | int | str) -> float | int | str | None:
    return json_number(v) if isinstance(v, float) else v


def worst_severity(snaps: list[RunSnapshot]) -> int:
    """Rank of the worst active alert over all runs (0 when none)."""
    ranks = [SEVERITY_RANK[a.severity] for s in snaps for a in s.alerts if a.active]
    return max(ranks, default=0)


def _fmt(x: float | None) -> str:
    if x is None:
        return "—"
    if not _finite(x):
        return str(x)
    if x != 0 and (abs(x) >= 1e5 or abs(x) < 1e-3):
        return f"{x:.3g}"
    return f"{x:.4g}"


def write_report(snaps: list[RunSnapshot], problems: list[str], out: TextIO) -> None:
    """The human-readable report: per run, trainer, instruments, alerts with their actions."""
    for snap in snaps:
        info = snap.info
        steps = f"step {snap.step}" + (f"/{info.max_steps}" if info.max_steps else "")
        out.write(f"{sanitize(info.name, single_line=True)}  ({info.framework} {info.trainer}, {steps})\n")
        out.write(f"  path: {sanitize(info.path, single_line=True)}\n")
        for src in snap.sources:
            out.write(f"  source {src.kind}: {sanitize(src.path, single_line=True)} ({src.points} points)\n")
            for p in src.problems:
                where = f" at offset {p.offset}" if p.offset is not None else ""
                out.write(f"    problem{where}: {sanitize(p.message, single_line=True)}\n")
        for p in snap.problems:
            where = f" ({sanitize(p.path, single_line=True)})" if p.path else ""
            out.write(f"  problem{where}: {sanitize(p.message, single_line=True)}\n")
        out.write("  instruments:\n")
        for r in snap.instruments:
            if r.status == "unavailable":
                out.write(f"    {r.id:<14} unavailable  {sanitize(r.reason, single_line=True)}\n")
            else:
                summary = sanitize(r.summary, single_line=True)
                out.write(f"    {r.id:<14} {r.status.upper():<11}  {_fmt(r.value):>10}  {summary}\n")
        active = [a for a in snap.alerts if a.active]
        cleared = [a for a in snap.alerts if not a.active]
        if not snap.alerts:
            out.write("  alerts: none\n")
        for a in active + cleared:
            state = "ACTIVE" if a.active else f"cleared at step {a.last_step}"
            out.write(f"  [{a.severity.upper()}] {a.id} since step {a.first_step} ({state})\n")
            out.write(f"      {sanitize(a.message, single_line=True)}\n")
            if a.evidence:
                ev = ", ".join(f"{k}={_fmt(v) if isinstance(v, float) else v}" for k, v in a.evidence.items())
                out.write(f"      evidence: {sanitize(ev, single_line=True)}\n")
            out.write(f"      action: {sanitize(a.action, single_line=True)}\n")
        out.write("\n")
    for text in problems:
        out.write(f"problem: {sanitize(text, single_line=True)}\n")


def run_check(args: argparse.Namespace) -> int:
    from rltui.model.config import ConfigError
    from rltui.session import NoRunError, open_sessions

    problems: list[str] = []
    try:
        sessions = open_sessions(args.paths, config_path=getattr(args, "config", None))
    except NoRunError as exc:
        print(f"rltui check: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ConfigError as exc:
        print(f"rltui check: bad configuration: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.at_step is not None and args.at_step < 0:
        print("rltui check: --at-step must be >= 0", file=sys.stderr)
        return EXIT_USAGE
    snaps: list[RunSnapshot] = []
    for session in sessions:
        session.load()
        snaps.append(session.snapshot(at_step=args.at_step))
    readable = [s for s in snaps if s.metrics]
    if not readable:
        names = ", ".join(s.info.path for s in snaps)
        print(f"rltui check: no readable metrics in {names}", file=sys.stderr)
        if args.json:
            json.dump(
                {"rltui_version": __version__, "runs": [], "problems": [{"message": "no readable run"}]},
                sys.stdout,
            )
            sys.stdout.write("\n")
        return EXIT_USAGE
    if args.json:
        doc = {
            "rltui_version": __version__,
            "runs": [snapshot_to_json(s) for s in snaps],
            "problems": [p.to_json() for s in snaps for p in s.problems]
            + [{"message": text} for text in problems],
        }
        json.dump(doc, sys.stdout, indent=1, allow_nan=False)
        sys.stdout.write("\n")
    else:
        write_report(snaps, problems, sys.stdout)
    threshold = SEVERITY_RANK[args.fail_on]
    return EXIT_FAIL if worst_severity(snaps) >= threshold else EXIT_OK
