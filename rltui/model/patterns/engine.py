"""Runs the catalogue over a run's store, incrementally, with sustained evidence and hysteresis.

Evaluation unit: one rule on one subject series (usually the series its primary role resolves
to; ``nonfinite`` has one unit per metric). At every logged point of its subject a unit asks its
rule for a level (0 clean, 1 info, 2 warn, 3 critical) and feeds a small state machine:

* **fire**: a level fires when it holds at >= 3 of the last 4 points (patterns.md §3), or at a
  single point for the severities the rule lists as ``instant`` (non-finite values, |rz| > 6).
  ``first_step`` is the earliest flagged point of that window, i.e. the onset.
* **escalate**: while active, a higher sustained level raises the alert's severity (it never
  lowers it); evidence and numbers always follow the newest flagged point.
* **clear**: 5 consecutive clean points clear the alert. It stays in :meth:`alerts` with
  ``active=False`` and its ``last_step``. If the rule fires again later, that is a **new** entry
  (new ``first_step``), so the history reads as separate episodes.

Work per :meth:`PatternEngine.advance` is O(k * window) for k new points: each unit remembers how
many of its points it has seen, and a rule only looks at trailing windows (<= 100 points).
A store that rewinds (a resumed run), or a request for an earlier step, rebuilds from scratch.

**Catching up** on a long backlog (opening a 20k-step run, ``check`` on it) would evaluate every
rule at every historical point: about a minute for 20k steps. When a unit has more than
``CATCH_UP_LIMIT`` new points at once, it evaluates its newest ``CATCH_UP_TAIL`` points one by
one (so the current verdict is exact) and only every k-th point before them (at most
``CATCH_UP_HEAD`` of them). Historical episodes are then located to within k points. Live
watching and replay advance a few points at a time and are never thinned.
"""

from __future__ import annotations

import math
import re
import weakref
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rltui import numfmt
from rltui.arrays import union
from rltui.model.aliases import ALIASES
from rltui.model.config import Config
from rltui.model.patterns.catalogue import CATALOGUE, INSTRUMENT_OF_ROLE
from rltui.model.patterns.context import Ctx, W, family_of, guard_steps, resolve_roles
from rltui.model.patterns.spec import CLEAN, LEVEL_NAME, NAME_LEVEL, NO_GAUGE, Evidence, Finding, RuleSpec
from rltui.model.patterns.window_stats import MIN_BATCH, WindowStats
from rltui.model.prefix import PrefixFolds
from rltui.model.snapshot import Alert, RunInfo, Severity
from rltui.model.store import MetricStore

SUSTAIN_NEED, SUSTAIN_OF = 3, 4
CLEAR_AFTER = 5
CATCH_UP_LIMIT, CATCH_UP_TAIL, CATCH_UP_HEAD = 1000, 100, 150

_LEVELS_DOWN = tuple(sorted(LEVEL_NAME, reverse=True))
_COMPONENT_STD = re.compile(r"^rewards/[^/]+/std$")
_ALL_ROLES = tuple(ALIASES)


@dataclass(slots=True)
class _Episode:
    severity: int
    first_step: int
    last_step: int
    finding: Finding
    active: bool = True
    raised_step: int | None = None
    #: The subject's own value at ``last_step``: rules read window medians, a gauge the value now.
    now: float = math.nan


@dataclass(slots=True)
class _Unit:
    spec: RuleSpec
    key: str
    done: int = 0
    last_step: int | None = None
    levels: deque[tuple[int, int]] = field(default_factory=lambda: deque(maxlen=SUSTAIN_OF))
    clean: int = 0
    #: Points evaluated so far (for ``from_first``: every point of a short run).
    seen: int = 0
    episodes: list[_Episode] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    #: The subject's value at the newest point that gave a finding (copied to its episode).
    now: float = math.nan

    @property
    def open(self) -> _Episode | None:
        return self.episodes[-1] if self.episodes and self.episodes[-1].active else None


def _fmt(v: float | int | str) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, int):
        return str(v)
    if v == 0 or 1e-3 <= abs(v) < 1e5:
        return f"{v:.3g}"
    return f"{v:.2e}"


class _Fill(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "?"


def _clean_evidence(ev: Evidence) -> Evidence:
    """JSON-safe evidence: finite plain floats; a non-finite number becomes its name."""
    out: Evidence = {}
    for k, v in ev.items():
        if isinstance(v, (bool, int | np.integer)):
            out[k] = int(v)
        elif isinstance(v, float | np.floating):
            f = float(v)
            out[k] = (
                f
                if math.isfinite(f)
                else ("NaN" if math.isnan(f) else ("Infinity" if f > 0 else "-Infinity"))
            )
        else:
            out[k] = str(v)
    return out


class PatternEngine:
    """``PatternEngine(info, config).advance(store, upto_step)`` then ``alerts()``."""

    def __init__(self, info: RunInfo, config: Config | None = None) -> None:
        self.info = info
        self.config = config if config is not None else Config.defaults()
        self._units: dict[tuple[str, str], _Unit] = {}
        self._step: int | None = None
        self._guard = guard_steps(info)
        self._thresholds = {s.id: self.config.thresholds(s.id) for s in CATALOGUE}
        self._folds = PrefixFolds()
        #: (store, store.version, upto_step) of the last advance: the same again is a no-op. A weak
        #: reference: a replay checkpoint (a deep copy of the engine) must not copy the store.
        self._seen: tuple[weakref.ref[MetricStore], int, int | None] | None = None

    @property
    def step(self) -> int | None:
        return self._step

    def reset(self) -> None:
        self._units.clear()
        self._step = None
        self._seen = None

    # -- which units exist ------------------------------------------------------------------
    def _subjects(self, spec: RuleSpec, names: list[str], keys: dict[str, Any]) -> list[str]:
        if spec.primary == "*":
            return names
        if spec.primary == "~component_std":
            return [n for n in names if _COMPONENT_STD.match(n)]
        if spec.primary == "~roles":
            return sorted({keys[r].name for r in spec.roles if r in keys})
        if "|" in spec.primary:  # alternatives: the first role the run logs
            found = next((keys[r] for r in spec.primary.split("|") if r in keys), None)
            return [found.name] if found is not None else []
        k = keys.get(spec.primary)
        return [k.name] if k is not None else []

    def _applies(self, spec: RuleSpec, family: str) -> bool:
        if not self.config.enabled(spec.id) or family not in spec.families:
            return False
        return spec.trainers is None or self.info.trainer in spec.trainers

    # -- the work ---------------------------------------------------------------------------
    def advance(self, store: MetricStore, upto_step: int | None = None) -> None:
        """Evaluate every new logged point up to ``upto_step`` (inclusive; None = all).

        An unchanged store asked for the same step again (a refresh with nothing new) costs nothing.
        """
        prev = self._seen
        if prev is not None and prev[0]() is store and prev[1:] == (store.version, upto_step):
            return
        seen = (weakref.ref(store), store.version, upto_step)
        if upto_step is not None and self._step is not None and upto_step < self._step:
            self.reset()
        names = store.names()
        keys = resolve_roles(self.info, names, _ALL_ROLES)
        family = family_of(self.info.trainer, names)
        for spec in CATALOGUE:
            if not self._applies(spec, family):
                continue
            for subject in self._subjects(spec, names, keys):
                if (spec.id, subject) not in self._units:
                    self._units[(spec.id, subject)] = _Unit(spec, subject)
        # A rewind in the store (resumed run) invalidates what was evaluated: rebuild.
        for u in self._units.values():
            s = store.get(u.key)
            if u.done and (s is None or u.last_step is None or s.count_upto(u.last_step) != u.done):
                self.reset()
                self.advance(store, upto_step)
                return
        ev_steps: list[np.ndarray] = []
        ev_units: list[np.ndarray] = []
        ev_index: list[np.ndarray] = []
        ev_quiet: list[np.ndarray] = []
        units = list(self._units.values())
        for i, u in enumerate(units):
            s = store.get(u.key)
            if s is None:
                continue
            end = s.count_upto(upto_step)
            if end > u.done:
                picked = _catch_up_points(s.values, u.done, end)
                ev_steps.append(s.steps[picked])
                ev_units.append(np.full(len(picked), i, dtype=np.int64))
                ev_index.append(picked)
                quiet = u.spec.quiet
                ev_quiet.append(quiet(s.values[picked]) if quiet is not None else np.zeros(len(picked), bool))
        if ev_steps:
            self._run(store, keys, family, units, ev_steps, ev_units, ev_index, ev_quiet)
        last = store.last_step if upto_step is None else upto_step
        if last is not None:
            self._step = last if self._step is None else max(self._step, last)
        self._seen = seen

    def _run(
        self,
        store: MetricStore,
        keys: dict[str, Any],
        family: str,
        units: list[_Unit],
        *columns: list[np.ndarray],
    ) -> None:
        """Evaluate the picked points step by step (one shared :class:`Ctx` per step), each unit's
        points in order. A point its rule's ``quiet`` test clears is recorded as clean without
        running the rule (the rule would return None there), and a step with only such points
        builds no context at all."""
        steps, uids, index, quiet = (np.concatenate(c) for c in columns)
        order = np.lexsort((uids, steps))
        steps, uids, index, quiet = steps[order], uids[order], index[order], quiet[order]
        bounds = np.flatnonzero(np.diff(steps)) + 1
        # Rolling window statistics of every step to come, in one pass per series (exact). A live
        # refresh (a step or a few) computes each on its own, without the tables' bookkeeping.
        unique_steps = np.unique(steps)
        window = WindowStats(store, unique_steps) if len(unique_steps) >= MIN_BATCH else None
        step_list, uid_list, done_list, quiet_list = (
            steps.tolist(),
            uids.tolist(),
            (index + 1).tolist(),
            quiet.tolist(),
        )
        for lo, hi in zip(np.r_[0, bounds].tolist(), np.r_[bounds, len(steps)].tolist(), strict=True):
            step = step_list[lo]
            ctx: Ctx | None = None
            for j in range(lo, hi):
                u = units[uid_list[j]]
                if quiet_list[j]:
                    u.done = done_list[j]
                    u.last_step = step
                    self._update(u, step, None)
                    continue
                if ctx is None:
                    ctx = Ctx(store, step, self.info, keys, family, self._guard, self._folds, window)
                self._evaluate(u, ctx, done_list[j])

    def _evaluate(self, u: _Unit, ctx: Ctx, done: int) -> None:
        """Run the unit's rule at ``ctx.step``, the unit's ``done``-th point (1-based)."""
        ctx.key = u.key
        ctx.state = u.state
        finding: Finding | None
        try:
            finding = u.spec.check(ctx, self._thresholds[u.spec.id])
        except (ValueError, FloatingPointError, ZeroDivisionError, IndexError):
            finding = None  # a rule never takes the engine down; the point counts as clean
        u.done = done
        u.last_step = ctx.step
        if finding is not None:
            u.now = _value_now(ctx)
        self._update(u, ctx.step, finding)

    def _update(self, u: _Unit, step: int, finding: Finding | None) -> None:
        if finding is None:
            # Clean point: nothing can fire (firing needs a finding); an open episode counts it.
            u.levels.append((step, CLEAN))
            u.seen += 1
            ep = u.open
            if ep is not None:
                u.clean += 1
                if u.clean >= CLEAR_AFTER:
                    ep.active = False
            return
        level = finding.level
        u.levels.append((step, level))
        u.seen += 1
        fired = CLEAN
        onset = step
        for lv in _LEVELS_DOWN:
            if LEVEL_NAME[lv] in u.spec.instant:
                if level >= lv:
                    fired, onset = lv, step
                    break
                continue
            flagged = [s for s, x in u.levels if x >= lv]
            if len(flagged) >= SUSTAIN_NEED:
                fired, onset = lv, flagged[0]
                break
            if LEVEL_NAME[lv] in u.spec.from_first and u.seen < SUSTAIN_NEED and len(flagged) == u.seen:
                fired, onset = lv, flagged[0]
                break
        ep = u.open
        if ep is not None:
            if level > CLEAN and finding is not None:
                u.clean = 0
                ep.last_step = step
                ep.finding = finding
                ep.now = u.now
                ep.severity = max(ep.severity, fired)
            else:
                u.clean += 1
                if u.clean >= CLEAR_AFTER:
                    ep.active = False
            return
        if fired > CLEAN and finding is not None:
            u.clean = 0
            u.episodes.append(_Episode(fired, onset, step, finding, raised_step=step, now=u.now))

    # -- results ----------------------------------------------------------------------------
    def current_levels(self) -> dict[str, Severity]:
        """Per gauge, the worst level a *level* rule gives its subject's newest point (sustained or not)."""
        out: dict[str, Severity] = {}
        for u in self._units.values():
            if not u.spec.gauge or not u.levels:
                continue
            level = u.levels[-1][1]
            instrument = u.spec.instrument
            if level <= CLEAN or instrument == NO_GAUGE:
                continue
            name = LEVEL_NAME[level]
            if instrument not in out or NAME_LEVEL[out[instrument]] < level:
                out[instrument] = name
        return out

    def alerts(self) -> tuple[Alert, ...]:
        out = [self._alert(u, ep) for u in self._units.values() for ep in u.episodes]
        out.sort(key=lambda a: (a.first_step, -NAME_LEVEL[a.severity], a.id, a.metric or ""))
        return tuple(out)

    def _alert(self, u: _Unit, ep: _Episode) -> Alert:
        spec = u.spec
        raw = _clean_evidence(ep.finding.evidence)
        fill = _Fill({k: _fmt(v) for k, v in raw.items()})
        fill.setdefault("key", u.key)
        fill.setdefault("step", str(ep.last_step))
        fill.setdefault("first_step", str(ep.first_step))
        action = (ep.finding.action or spec.action).format_map(fill)
        advice = raw.get("advice")
        if isinstance(advice, str) and advice and advice not in action:
            action = f"{action} {advice}"
        cause = (ep.finding.cause or spec.cause).format_map(fill)
        ev: Evidence = {k: v for k, v in raw.items() if k not in _PROSE_KEYS}
        message = _message(spec.title, u.key, raw, ev)
        instrument: str | None = spec.instrument
        if spec.primary in ("*", "~roles"):
            instrument = _instrument_of_key(u.key) or instrument
        if instrument == NO_GAUGE:
            instrument = None
        return Alert(
            id=spec.id,
            severity=LEVEL_NAME[ep.severity],
            first_step=ep.first_step,
            last_step=ep.last_step,
            active=ep.active,
            message=message,
            cause=cause,
            action=action,
            evidence=ev,
            metric=u.key,
            instrument=instrument,
            raised_step=ep.raised_step,
            kind=spec.kind,
            title=spec.title,
            condition=_condition(raw),
            basis=_basis(spec, ep.now, ev),
        )


#: Evidence entries that are words, not numbers: said in the message or the action, not listed.
_PROSE_KEYS = frozenset({"what", "advice", "condition", "hint", "cap_words"})
#: How evidence names read in a sentence.
_LABELS = {"rz": "robust z", "g": "grad-norm", "frac": "share", "pct": "percent", "n": "points"}


def _value_now(ctx: Ctx) -> float:
    """The subject's value at the context's step (NaN where it has none)."""
    try:
        return float(ctx.last())
    except (ValueError, IndexError):
        return math.nan


def _condition(raw: Evidence) -> str:
    """Which of the rule's conditions fired, in its own words (empty where it gives none)."""
    words = raw.get("condition")
    return words.rstrip(".") if isinstance(words, str) else ""


def _basis(spec: RuleSpec, now: float, ev: Evidence) -> str:
    """What the alert's numbers are, so a banner and the gauge beside it cannot seem to disagree:
    the rules read window medians (``med_W`` in the logic) while a gauge shows the value now.
    No "now" where the evidence is the value itself or holds no number (a missing instrument)."""
    numeric = [k for k, v in ev.items() if isinstance(v, int | float)]
    said = math.isfinite(now) and numeric and "value" not in ev
    parts = [f"now {numfmt.num(now)}"] if said else []
    if "med_W" in spec.logic:
        parts.append(f"rule: {W}-point medians")
    return "; ".join(parts)


def _message(title: str, key: str, raw: Evidence, numbers: Evidence) -> str:
    """One sentence: what fired on which metric, the condition that fired, the numbers behind it.

    A number that is not finite (a z-score with no spread) is left out rather than shown as NaN,
    except for the metric itself, where a NaN is the finding.
    """
    words = [str(raw[k]) for k in ("condition", "what") if isinstance(raw.get(k), str) and raw[k]]
    shown: list[str] = []
    for k, v in numbers.items():
        if isinstance(v, str) and v in ("NaN", "Infinity", "-Infinity") and k not in (key, "value", "loss"):
            continue
        if isinstance(v, str) and not v.strip():  # an empty hint or label is no number to show
            continue
        shown.append(f"{_LABELS.get(k, k)} {_fmt(v)}")
    head = f"{title} on {key}"
    if words:
        head += ": " + "; ".join(w.rstrip(".") for w in words)
    if shown:
        head += (" (" + ", ".join(shown[:4]) + ")") if words else ": " + ", ".join(shown[:4])
    return head


def _catch_up_points(values: np.ndarray, done: int, end: int) -> np.ndarray:
    """Indices of a unit's pending points to evaluate: all of them, or a thinned backlog.

    Non-finite points are always kept: a NaN loss at step 1234 of 20k must not be thinned away.
    """
    if end - done <= CATCH_UP_LIMIT:
        return np.arange(done, end)
    tail_start = end - CATCH_UP_TAIL
    stride = max(1, math.ceil((tail_start - done) / CATCH_UP_HEAD))
    bad = np.flatnonzero(~np.isfinite(values[done:tail_start])) + done
    head = union(np.arange(done, tail_start, stride), bad)
    return np.concatenate([head, np.arange(tail_start, end)])


def _instrument_of_key(key: str) -> str | None:
    for role, spellings in ALIASES.items():
        if any(k.name == key for k in spellings):
            return INSTRUMENT_OF_ROLE.get(role)
    return None
