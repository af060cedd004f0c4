"""``rltui check``: the headless verdict for scripts, CI jobs and cron.

Same ingest and model path as the dashboard, so "check says critical" and "the banner is red"
can never disagree. Exit codes (design.md §6): 0 nothing at or above ``--fail-on``; 1 something
is; 2 bad usage, or a named path without a readable run (stderr names it, with the files found
there and their problems; the other runs are still reported, and ``--json`` still prints its
object). Output into a closed pipe (``| head -1``) ends quietly with the same exit code.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, TextIO

from rltui import __version__, numfmt
from rltui.model.engine import json_number
from rltui.model.snapshot import SEVERITY_RANK, Alert, RunSnapshot
from rltui.model.verdict import status_of, verdict_of
from rltui.records import Problem, Sample
from rltui.text import sanitize

if TYPE_CHECKING:
    from rltui.commands.check_samples import SampleSession
    from rltui.session import RunSession

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def _clean(text: str) -> str:
    """A path or message for the report: a folder name is run text too (escape sequences, bidi)."""
    return sanitize(text, single_line=True)


def problem_json(p: Problem) -> dict[str, object]:
    return {"path": _clean(p.path), "offset": p.offset, "message": _clean(p.message)}


def snapshot_to_json(snap: RunSnapshot) -> dict[str, object]:
    """One entry of the contract's ``runs`` array (check.schema.json)."""
    info = snap.info
    return {
        "path": _clean(info.path),
        "name": _clean(info.name),
        "framework": info.framework,
        "trainer": info.trainer,
        "last_step": snap.step,
        "max_steps": info.max_steps,
        "status": status_of(snap),
        "verdict": verdict_of(snap),
        "config": {
            "files": list(snap.rule_config.files),
            "changed": list(snap.rule_config.changed),
            "ignored": list(snap.rule_config.ignored),
        },
        "sources": [
            {
                "kind": s.kind,
                "path": _clean(s.path),
                "points": s.points,
                **({"won": s.won} if s.won is not None else {}),
                "problems": [problem_json(p) for p in s.problems],
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
                "summary": _clean(r.summary),
                **({"reason": _clean(r.reason)} if r.status == "unavailable" else {}),
            }
            for r in snap.instruments
        ],
        "alerts": [
            {
                "id": a.id,
                "severity": a.severity,
                "first_step": a.first_step,
                "last_step": a.last_step,
                **({"raised_step": a.raised_step} if a.raised_step is not None else {}),
                "active": a.active,
                "kind": a.kind,
                "message": _clean(a.message),
                "action": _clean(a.action),
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
    return "—" if x is None else numfmt.num(x)


def _words(text: str) -> str:
    """Run or rule text for the report, on one line, its numbers' exponents written short."""
    return numfmt.short_exponent(sanitize(text, single_line=True))


def write_report(
    snaps: list[RunSnapshot], problems: list[str], out: TextIO, *, verbose: bool = False
) -> None:
    """The human-readable report. Per run: the one-line verdict first, then what needs action
    (active warn and critical alerts with evidence and action) and every input problem; with
    ``verbose`` also the sources, the instruments, info and cleared alerts (issue 12, point 9:
    one GRPO run printed ~190 lines, the verdict buried at the top of them)."""
    for snap in snaps:
        _write_run(snap, out, verbose)
    for text in problems:
        out.write(f"problem: {sanitize(text, single_line=True)}\n")


def _write_run(snap: RunSnapshot, out: TextIO, verbose: bool) -> None:
    info = snap.info
    steps = f"step {snap.step}" + (f"/{info.max_steps}" if info.max_steps else "")
    out.write(f"{sanitize(info.name, single_line=True)}: {_words(verdict_of(snap))}\n")
    out.write(f"  ({info.framework} {info.trainer}, {steps})\n")
    out.write(f"  path: {sanitize(info.path, single_line=True)}\n")
    rc = snap.rule_config
    if rc.files:
        out.write(f"  config: {sanitize(', '.join(rc.files), single_line=True)}\n")
    for change in rc.changed:
        out.write(f"    changed: {sanitize(change, single_line=True)}\n")
    for change in rc.ignored:
        out.write(f"    not applied: {sanitize(change, single_line=True)}\n")
    for src in snap.sources:
        # Input problems are always shown (the numbers may be partial); the source list is -v.
        if verbose or src.problems:
            out.write(f"  source {src.kind}: {sanitize(src.path, single_line=True)} ({src.points} points)\n")
        for p in src.problems:
            where = f" at offset {p.offset}" if p.offset is not None else ""
            out.write(f"    problem{where}: {sanitize(p.message, single_line=True)}\n")
    for p in snap.problems:
        where = f" ({sanitize(p.path, single_line=True)})" if p.path else ""
        out.write(f"  problem{where}: {sanitize(p.message, single_line=True)}\n")
    if verbose:
        out.write("  instruments:\n")
        for r in snap.instruments:
            if r.status == "unavailable":
                out.write(f"    {r.id:<14} unavailable  {sanitize(r.reason, single_line=True)}\n")
            else:
                summary = _words(r.summary)
                out.write(f"    {r.id:<14} {r.status.upper():<11}  {_fmt(r.value):>10}  {summary}\n")
    active = [a for a in snap.alerts if a.active]
    cleared = [a for a in snap.alerts if not a.active]
    if not snap.alerts:
        out.write("  alerts: none\n")
    shown = active + cleared if verbose else [a for a in active if a.severity in ("warn", "critical")]
    for a in shown:
        _write_alert(a, out)
    if not verbose:
        held = [a for a in snap.alerts if a not in shown]
        info_n = sum(1 for a in held if a.active)
        parts = [f"{info_n} info" if info_n else "", f"{len(cleared)} cleared" if cleared else ""]
        hidden = " and ".join(p for p in parts if p)
        more = f"{hidden} alert{'s' if len(held) != 1 else ''}, " if hidden else ""
        out.write(f"  (not shown: {more}the instruments and sources; rltui check -v shows all)\n")
    out.write("\n")


def _write_alert(a: Alert, out: TextIO) -> None:
    state = "ACTIVE" if a.active else f"cleared at step {a.last_step}"
    raised = f", raised at step {a.raised_step}" if a.raised_step not in (None, a.first_step) else ""
    out.write(f"  [{a.severity.upper()}] {a.id} since step {a.first_step} ({state}{raised}; {a.kind})\n")
    out.write(f"      {_words(a.message)}\n")
    if a.evidence:
        ev = ", ".join(f"{k}={_fmt(v) if isinstance(v, float) else v}" for k, v in a.evidence.items())
        out.write(f"      evidence: {sanitize(ev, single_line=True)}\n")
    out.write(f"      action: {_words(a.action)}\n")


def _json_doc(snaps: list[RunSnapshot], problems: list[dict[str, object]]) -> dict[str, object]:
    """The whole ``--json`` object (check.schema.json)."""
    return {
        "rltui_version": __version__,
        "runs": [snapshot_to_json(s) for s in snaps],
        "problems": [problem_json(p) for s in snaps for p in s.problems] + problems,
    }


def _emit(write: Callable[[TextIO], None], code: int) -> int:
    """Write the output; a reader that went away (``| head -1``) is not an error: keep ``code``."""
    try:
        write(sys.stdout)
        sys.stdout.flush()
    except BrokenPipeError:
        # Point stdout at /dev/null so that the interpreter's final flush does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return code


def _dump_json(doc: dict[str, object]) -> Callable[[TextIO], None]:
    def write(out: TextIO) -> None:
        json.dump(doc, out, indent=1, allow_nan=False)
        out.write("\n")

    return write


def _under(root: str, path: str) -> bool:
    """Whether a run found at ``root`` came from the named ``path`` (the path itself or below it)."""
    from rltui.sources.locations import absolute

    r, p = absolute(root), absolute(path)
    return r == p or r.startswith(p.rstrip(os.sep) + os.sep)


def _unreadable_paths(paths: list[str], snaps: list[RunSnapshot]) -> list[tuple[str, list[RunSnapshot]]]:
    """Named paths with no run that has readable metrics, with the (empty) runs found there."""
    out = []
    for path in paths:
        mine = [s for s in snaps if s.info.path and _under(s.info.path, path)]
        if not any(s.metrics for s in mine):
            out.append((path, mine))
    return out


def _explain_unreadable(path: str, runs: list[RunSnapshot]) -> list[str]:
    """Lines for stderr: why ``path`` gave nothing, naming the files and their problems."""
    lines = [f"no readable run in {path}"]
    for snap in runs:
        for src in snap.sources:
            for p in src.problems:
                lines.append(f"  {src.path}: {p.message}")
            if not src.problems:
                lines.append(f"  {src.path}: no metrics in it (yet)")
        if not snap.sources:
            lines.append(f"  {snap.info.path}: no metric files in it")
    return lines


def _discovery_lines(path: str, discovery: list[Problem]) -> list[str]:
    """Run-level problems (unreadable folders, missing paths) about ``path``."""
    return [f"  {p.path}: {p.message}" for p in discovery if _under(p.path, path) or _under(path, p.path)]


#: A sweep is checked in worker processes (one run each) when its runs' files hold at least this
#: many bytes in all: below it, starting the workers costs more than the second core gives.
PARALLEL_MIN_BYTES = 4 << 20

_FORKED: list[RunSession] = []  # the sessions, as a forked worker inherits them
_FORKED_ARGS: list[tuple[int | None, bool]] = [(None, False)]  # (at_step, with_samples)


_Evidence = tuple[int | None, list[Sample]]


class _SampleAnswers:
    """What ``check`` asks of a run's samples, answered in the worker that read them (a session
    does not cross processes; its answers do): the counts and each alert's evidence, in the
    order of the snapshot's alerts."""

    def __init__(
        self, counts: tuple[int, int], steps: list[int], evidence: list[tuple[int | None, list[Sample]]]
    ):
        self.counts = counts
        self.steps = steps
        self.evidence = evidence
        self._by_alert: dict[int, _Evidence] = {}

    def bind(self, snap: RunSnapshot) -> _SampleAnswers:
        self._by_alert = {id(a): ev for a, ev in zip(snap.alerts, self.evidence, strict=True)}
        return self

    def read_samples(self) -> int:
        return 0

    def sample_steps(self) -> list[int]:
        return self.steps

    def alert_evidence(self, alert: Alert, k: int = 3) -> tuple[int | None, list[Sample]]:
        return self._by_alert.get(id(alert), (None, []))

    def sample_counts(self, at_step: int | None = None) -> tuple[int, int]:
        return self.counts


def _check_one(i: int) -> tuple[RunSnapshot, _SampleAnswers | None]:
    """In a worker: read run ``i``, take its snapshot and answer the samples questions. The
    instruments' chart traces, which ``check`` never prints, stay behind instead of being copied."""
    at_step, with_samples = _FORKED_ARGS[0]
    session = _FORKED[i]
    session.track_sources()  # sources' `won`: which source's value each stored point holds
    session.load()
    answers = None
    if with_samples:
        session.read_samples()
    snap = session.snapshot(at_step=at_step)
    if with_samples:
        evidence = [session.alert_evidence(a) for a in snap.alerts]
        answers = _SampleAnswers(session.sample_counts(snap.step), session.sample_steps(), evidence)
    light = replace(snap, instruments=tuple(replace(r, traces=()) for r in snap.instruments))
    return light, answers


def _workers(sessions: list[RunSession]) -> int:
    """How many processes pay for this check: 1 (no pool) for one run, tiny runs, one core, or
    a platform without ``fork``; else one per usable core, at most one per run."""
    if len(sessions) < 2:
        return 1
    import multiprocessing  # here: a single-run check does not pay for its import

    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    if cores < 2:
        return 1
    if sum(s.unread_bytes() for s in sessions) < PARALLEL_MIN_BYTES:
        return 1
    return min(cores, len(sessions))


def _snapshots(
    sessions: list[RunSession], at_step: int | None, with_samples: bool
) -> tuple[list[RunSnapshot], list[SampleSession]]:
    """Each run's snapshot and what answers its samples questions, in order. Runs are
    independent, so a large sweep is read and judged by one forked worker per core (each run in
    one worker, start to finish); a single run and tiny runs stay in this process."""
    workers = _workers(sessions)
    if workers > 1:
        import multiprocessing

        _FORKED[:] = sessions
        _FORKED_ARGS[0] = (at_step, with_samples)
        try:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                done = pool.map(_check_one, range(len(sessions)), chunksize=1)
        finally:
            _FORKED.clear()
        snaps = [snap for snap, _ in done]
        answers: list[SampleSession] = [
            a.bind(snap) if a is not None else session
            for (snap, a), session in zip(done, sessions, strict=True)
        ]
        return snaps, answers
    snaps = []
    for session in sessions:
        session.track_sources()  # sources' `won`: which source's value each stored point holds
        session.load()
        if with_samples:
            session.read_samples()
        snaps.append(session.snapshot(at_step=at_step))
    return snaps, list(sessions)


def run_check(args: argparse.Namespace) -> int:
    from rltui.commands import check_samples
    from rltui.model.config import ConfigError
    from rltui.session import NoRunError, open_sessions, resolve_paths

    as_json = bool(args.json)

    def usage_error(message: str) -> int:
        message = sanitize(message, single_line=True)  # it can name run files and folders
        print(f"rltui check: {message}", file=sys.stderr)
        if as_json:
            return _emit(_dump_json(_json_doc([], [{"message": message}])), EXIT_USAGE)
        return EXIT_USAGE

    if args.at_step is not None and args.at_step < 0:
        return usage_error("--at-step must be >= 0")
    paths = list(args.paths) or ["."]
    follow = bool(getattr(args, "follow", False))
    if follow and args.at_step is not None:
        return usage_error("--at-step and --follow do not go together")
    if getattr(args, "on_alert", None) and not follow:
        return usage_error("--on-alert needs --follow")
    try:
        paths = resolve_paths(paths)  # host:rel -> ssh://host/abs (may connect: errors say why)
        # Following, a folder the training has not written into yet is waited on.
        sessions = open_sessions(paths, config_path=getattr(args, "config", None), wait=follow)
    except NoRunError as exc:
        return usage_error(str(exc))
    except ConfigError as exc:
        return usage_error(f"bad configuration: {exc}")
    if follow:
        from rltui.commands.follow import Follower

        return Follower(
            sessions,
            paths=paths,
            as_json=as_json,
            fail_on=args.fail_on,
            on_alert=getattr(args, "on_alert", None),
            config_path=getattr(args, "config", None),
        ).run()
    with_samples = check_samples.wanted(args)
    snaps, samples = _snapshots(sessions, args.at_step, with_samples)
    run_problems = [p for s in snaps for p in s.problems]
    extra: list[dict[str, object]] = []
    unreadable = _unreadable_paths(paths, snaps)
    for path, runs in unreadable:
        lines = _explain_unreadable(path, runs)
        for line in lines + _discovery_lines(path, run_problems):
            print(f"rltui check: {sanitize(line, single_line=True)}", file=sys.stderr)
        # Run-level problems are in the JSON's problems already; the files' problems are not.
        extra.append({"path": _clean(path), "message": _clean("; ".join(x.strip() for x in lines))})
    if unreadable:
        code = EXIT_USAGE
    else:
        code = EXIT_FAIL if worst_severity(snaps) >= SEVERITY_RANK[args.fail_on] else EXIT_OK
    if as_json:
        doc = _json_doc(snaps, extra)
        if with_samples:
            for entry, answers, snap in zip(doc["runs"], samples, snaps, strict=True):  # type: ignore[call-overload]
                check_samples.attach(entry, answers, snap)
        return _emit(_dump_json(doc), code)

    def report(out: TextIO) -> None:
        write_report(
            snaps, [str(e["message"]) for e in extra], out, verbose=bool(getattr(args, "verbose", False))
        )
        for answers, snap in zip(samples, snaps, strict=True) if with_samples else ():
            check_samples.write_samples(answers, snap, out)

    return _emit(report, code)
