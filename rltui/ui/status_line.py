"""The header's words: progress, pace, ETA and freshness, as a pure function of a snapshot and
the current time (the clock is passed in so tests and screenshots are deterministic)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text

from rltui import numfmt
from rltui.model.snapshot import RunSnapshot
from rltui.records import NO_RUN_YET, Problem
from rltui.ui.glyphs import STATUS_LABEL, STATUS_STYLE, fmt_duration, safe

#: A run is "live" while its newest point is younger than this many typical log intervals.
STALE_INTERVALS = 5.0
#: ... and never called stale sooner than this (slow first steps, evaluation pauses).
STALE_MIN_S = 60.0


@dataclass(frozen=True, slots=True)
class Pace:
    elapsed: float | None
    steps_per_min: float | None
    eta: float | None


def first_step(snap: RunSnapshot) -> int | None:
    firsts = [m.first_step for m in snap.metrics.values()]
    return min(firsts) if firsts else None


def pace(snap: RunSnapshot) -> Pace:
    if snap.first_wall_time is None or snap.last_wall_time is None or snap.step is None:
        return Pace(None, None, None)
    elapsed = max(0.0, snap.last_wall_time - snap.first_wall_time)
    done = snap.step - (first_step(snap) or 0)
    if elapsed <= 0 or done <= 0:
        return Pace(elapsed, None, None)
    rate = done / elapsed * 60.0
    eta = None
    if snap.info.max_steps:
        eta = max(0, snap.info.max_steps - snap.step) / rate * 60.0
    return Pace(elapsed, rate, eta)


def freshness(snap: RunSnapshot, now: float) -> tuple[str, str]:
    """(label, style): ``finished``, ``live`` or ``stale for 3m10s``."""
    if snap.info.max_steps and snap.step is not None and snap.step >= snap.info.max_steps:
        return "finished", "green"
    if snap.last_wall_time is None:
        return "no clock", "dim"
    p = pace(snap)
    interval = 60.0 / p.steps_per_min * (snap.info.logging_steps or 1) if p.steps_per_min else 0.0
    age = max(0.0, now - snap.last_wall_time)
    if age <= max(STALE_MIN_S, STALE_INTERVALS * interval):
        return "live", "bold green"
    return f"stale for {fmt_duration(age)}", "bold yellow"


def header_text(
    snap: RunSnapshot, now: float, *, mode_label: str | None = None, width: int | None = None
) -> Text:
    """Two lines: who/what/where, then pace and health. ``mode_label`` replaces freshness
    (replay shows its own state). Given the ``width``, the info note shortens rather than wrap."""
    info = snap.info
    t = Text()
    t.append(safe(info.name, 60), style="bold")
    t.append(f"  {info.framework}/{info.trainer}", style="dim")
    step = "–" if snap.step is None else str(snap.step)
    t.append(f"  step {step}")
    if info.max_steps:
        t.append(f"/{info.max_steps}")
        if snap.step is not None:
            t.append(f" ({100 * snap.step / info.max_steps:.0f}%)", style="dim")
    rules = snap.rule_config.summary()
    if rules:  # rules switched off or tuned by a config: never silently (design.md §8)
        t.append(f"  {rules}", style="bold yellow")
    t.append("\n")
    p = pace(snap)
    t.append(f"elapsed {fmt_duration(p.elapsed)}")
    rate = numfmt.num(p.steps_per_min)  # "2763", as the throughput gauge writes it
    t.append(f"  {rate} steps/min")
    t.append(f"  ETA {fmt_duration(p.eta)}")
    t.append("  ")
    # A run-level state that stops the data (a remote host unreachable): instead of "stale".
    link = next((p for p in snap.problems if p.transient), None)
    if mode_label is not None:
        t.append(mode_label, style="bold cyan")
    elif link is not None and link.message.startswith(NO_RUN_YET):
        # An empty watched folder: a state to wait out; the body says what it waits for.
        t.append(NO_RUN_YET, style="bold yellow")
    elif link is not None:
        t.append(safe(link.message, 100), style="bold red")
    else:
        label, style = freshness(snap, now)
        t.append(label, style=style)
    worst = snap.worst
    t.append("  ")
    if not snap.metrics and worst == "ok":
        # No metric at all is not a healthy run (issue 12: an empty folder said OK).
        t.append(" WAITING ", style="reverse yellow")
    else:
        t.append(f" {STATUS_LABEL[worst]} ", style=f"reverse {STATUS_STYLE[worst]}")
    banners = sum(1 for a in snap.alerts if a.active and a.severity != "info")
    if banners:
        t.append(f" {banners} alert{'s' if banners != 1 else ''}", style=STATUS_STYLE[worst])
    note = info_note(snap)
    if note:
        line = len(t.plain.rsplit("\n", 1)[-1])
        if width is not None and line + 2 + len(note) > width:
            note = info_note(snap, newest=False)
        t.append("  ")
        t.append(note, style=STATUS_STYLE["info"])
    return t


def info_note(snap: RunSnapshot, *, newest: bool = True) -> str:
    """``3 info (newest anomaly_marker)``: info alerts get no banner, only this count (a lists them)."""
    infos = [a for a in snap.alerts if a.active and a.severity == "info"]
    if not infos:
        return ""
    if not newest:
        return f"{len(infos)} info"
    newest_alert = max(infos, key=lambda a: (a.first_step, a.id))
    return f"{len(infos)} info (newest {safe(newest_alert.id, 30)})"


def input_problems(snap: RunSnapshot) -> list[Problem]:
    """Every problem reading the run's input: run-level ones, then each source's."""
    return list(snap.problems) + [p for s in snap.sources for p in s.problems]
