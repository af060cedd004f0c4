"""The view a rule gets of the run at one logged point: prefixes of series, windows, baselines.

Every rule is a pure function of "the series as of step s" (plus, for a few, a little state that
only ever moves forward), so evaluating a run incrementally gives exactly what a fresh pass up to
the same step gives. A :class:`Ctx` is built once per step and shared by every rule evaluated at
that step, so window statistics are computed once and reused.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Any

import numpy as np

from rltui.model import stats
from rltui.model.aliases import Key, kl_key, resolve
from rltui.model.patterns.window_stats import WindowStats
from rltui.model.prefix import PrefixFolds, fold_running
from rltui.model.snapshot import RunInfo
from rltui.model.store import MetricStore
from rltui.records import FloatArray

W = 20  # short window (points)
L = 50  # long window (points)
BASELINE_POINTS = 10
MIN_POINTS = 5

_RUNNING = {"min": fold_running("min"), "max": fold_running("max")}

PREF_TRAINERS = frozenset({"dpo", "kto", "orpo", "cpo", "online_dpo", "reward"})
RL_TRAINERS = frozenset({"ppo", "rloo", "grpo"})


def family_of(trainer: str, names: Collection[str]) -> str:
    """'sft', 'pref' or 'rl': which group of rules applies (by trainer, else by the keys logged)."""
    if trainer in RL_TRAINERS:
        return "rl"
    if trainer in PREF_TRAINERS:
        return "pref"
    if trainer == "sft":
        return "sft"
    if resolve("margin", names) is not None:
        return "pref"
    if any(resolve(r, names) is not None for r in ("reward", "clip_fraction", "length_mean", "ratio")):
        return "rl"
    return "sft"


def resolve_roles(info: RunInfo, names: Collection[str], roles: Collection[str]) -> dict[str, Key]:
    out: dict[str, Key] = {}
    for role in roles:
        key = kl_key(names, info.trainer) if role == "kl" else resolve(role, names)
        if key is not None:
            out[role] = key
    return out


def cfg_number(info: RunInfo, name: str) -> float | None:
    """A numeric value of the run's config (TrainingArguments), or None."""
    v = info.config.get(name)
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    return float(v) if math.isfinite(float(v)) else None


def guard_steps(info: RunInfo) -> float:
    """Steps covered by the warm-up guard t0: max(warmup steps, 5% of max_steps)."""
    guard = 0.0
    ws = cfg_number(info, "warmup_steps")
    wr = cfg_number(info, "warmup_ratio")
    if ws:
        guard = ws
    elif wr and info.max_steps:
        guard = wr * info.max_steps
    if info.max_steps:
        guard = max(guard, 0.05 * info.max_steps)
    return guard


def finite(a: FloatArray) -> FloatArray:
    return a[np.isfinite(a)]


def finite_tail(a: FloatArray, k: int) -> FloatArray:
    """``finite(a)[-k:]`` (k >= 1), found by looking back in growing blocks: O(k), not O(len(a))."""
    end = len(a)
    block = max(4 * k, 64)
    parts: list[FloatArray] = []
    got = 0
    while end > 0 and got < k:
        lo = max(0, end - block)
        f = finite(a[lo:end])
        parts.append(f)
        got += len(f)
        end, block = lo, block * 4
    if not parts:
        return a[:0]
    out = parts[0] if len(parts) == 1 else np.concatenate(parts[::-1])
    return out[-k:]


def med(a: FloatArray) -> float:
    return stats.robust_center_scale(a)[0]


def sig(a: FloatArray) -> float:
    return stats.robust_center_scale(a)[1]


class Ctx:
    """One step of one run, as the rules see it. ``key`` is the subject series of the rule."""

    def __init__(
        self,
        store: MetricStore,
        step: int,
        info: RunInfo,
        keys: dict[str, Key],
        family: str,
        guard: float,
        folds: PrefixFolds | None = None,
        window: WindowStats | None = None,
    ) -> None:
        self.store = store
        #: A catch-up's batched window statistics (None: each computed on its own, as live).
        self.window = window
        self.folds = folds if folds is not None else PrefixFolds()
        self.step = step
        self.info = info
        self.keys = keys
        self.family = family
        self.guard = guard
        self.key = ""
        self.state: dict[str, Any] = {}
        self._prefix: dict[str, FloatArray] = {}
        self._cache: dict[tuple[str, str, int], Any] = {}

    # -- where we are ---------------------------------------------------------------------
    @property
    def max_steps(self) -> int | None:
        return self.info.max_steps

    @property
    def frac(self) -> float | None:
        return self.step / self.info.max_steps if self.info.max_steps else None

    def past(self, fraction: float, points: int) -> bool:
        """At least ``fraction`` of the run done (or ``points`` points when max_steps is unknown)."""
        f = self.frac
        return f >= fraction if f is not None else self.n() >= points

    def before(self, fraction: float) -> bool:
        f = self.frac
        return f < fraction if f is not None else True

    def config(self, name: str) -> float | None:
        return cfg_number(self.info, name)

    # -- series access ----------------------------------------------------------------------
    def name(self, role: str) -> str | None:
        k = self.keys.get(role)
        return k.name if k else None

    def has(self, role: str) -> bool:
        return role in self.keys

    def raw(self, key: str) -> FloatArray:
        """All values of metric ``key`` logged at or before this step (empty if none)."""
        a = self._prefix.get(key)
        if a is None:
            s = self.store.get(key)
            a = s.values[: s.count_upto(self.step)] if s is not None else np.empty(0)
            self._prefix[key] = a
        return a

    def steps_of(self, key: str) -> np.ndarray:
        s = self.store.get(key)
        return s.steps[: s.count_upto(self.step)] if s is not None else np.empty(0, dtype=np.int64)

    def walls_of(self, key: str) -> FloatArray:
        s = self.store.get(key)
        return s.wall_times[: s.count_upto(self.step)] if s is not None else np.empty(0)

    def v(self, role: str) -> FloatArray:
        """Values of a role (or of the subject when role is ``"@"``)."""
        name = self.key if role == "@" else self.name(role)
        return self.raw(name) if name else np.empty(0)

    def n(self, role: str = "@") -> int:
        return len(self.v(role))

    def at_step(self, role: str) -> bool:
        """Whether ``role`` has a point exactly at this step."""
        name = self.key if role == "@" else self.name(role)
        if not name:
            return False
        st = self.steps_of(name)
        return len(st) > 0 and int(st[-1]) == self.step

    def running(self, kind: str, role: str = "@", upto: int | None = None) -> float:
        """The finite min or max (``kind``) of the role's first ``upto`` points as of this step (all
        of them when None); +-inf when none is finite. One read of a running array kept per series
        (extended as points are appended), never a scan of the history."""
        name = self.key if role == "@" else self.name(role)
        n = self.n(role) if upto is None else min(upto, self.n(role))
        neutral = math.inf if kind == "min" else -math.inf
        s = self.store.get(name) if name else None
        if s is None or n <= 0:
            return neutral
        run = self.folds.get(f"{kind}:{name}", s, _RUNNING[kind])
        return run.at(n - 1)

    def finite_range(self, role: str) -> tuple[float, float]:
        """(min, max) of the role's finite values so far; ValueError when there are none, as
        ``np.min`` of the empty ``finite(v)`` raises (a rule's finding is then clean)."""
        lo, hi = self.running("min", role), self.running("max", role)
        if not math.isfinite(lo):
            raise ValueError("zero-size array to reduction operation minimum which has no identity")
        return lo, hi

    def _memo(self, what: str, role: str, n: int, fn: Any) -> Any:
        key = (what, self.key if role == "@" else role, n)
        if key not in self._cache:
            self._cache[key] = fn()
        return self._cache[key]

    def _batched(self, what: str, role: str, n: int, long: int, one: Any) -> Any:
        """``one()``, or the same number from the catch-up's batched table (window_stats)."""
        ws = self.window
        name = self.key if role == "@" else self.name(role)
        if ws is None or not name:
            return one()
        return ws.get(what, name, n, long, self.n(role), one)

    def last(self, role: str = "@") -> float:
        a = self.v(role)
        return float(a[-1]) if len(a) else math.nan

    def win(self, role: str = "@", n: int = W) -> FloatArray:
        """The finite values among the last ``n`` points."""
        return finite(self.v(role)[-n:])

    def med(self, role: str = "@", n: int = W) -> float:
        """Rolling median over the last ``n`` points (NaN with fewer than 5)."""

        def f() -> float:
            w = self.win(role, n)
            return med(w) if len(w) >= MIN_POINTS else math.nan

        return float(self._memo("med", role, n, lambda: self._batched("med", role, n, 0, f)))

    def lvl(self, role: str = "@", n: int = W) -> float:
        """The level now: median of the finite values among the last ``n`` points, from the first point.

        For *level* rules (a threshold on the value, not a change against a baseline): a short run
        or the first points of a long one are judged on what they show, where :meth:`med` waits
        for 5 points.
        """

        def f() -> float:
            w = self.win(role, n)
            return stats.median(w) if len(w) else math.nan

        return float(self._memo("lvl", role, n, lambda: self._batched("lvl", role, n, 0, f)))

    def sig(self, role: str = "@", n: int = W) -> float:
        def f() -> float:
            w = self.win(role, n)
            return sig(w) if len(w) >= MIN_POINTS else math.nan

        return float(self._memo("sig", role, n, lambda: self._batched("sig", role, n, 0, f)))

    def t0(self, role: str = "@") -> int:
        """Index of the first point after the warm-up guard: max(5 points, guard steps)."""
        name = self.key if role == "@" else self.name(role)
        if not name:
            return MIN_POINTS
        s = self.store.get(name)
        if s is None:
            return MIN_POINTS
        return max(MIN_POINTS, s.count_upto(int(self.guard)) if self.guard >= 1 else 0)

    def after_t0(self, role: str = "@") -> bool:
        return self.n(role) > self.t0(role)

    def base(self, role: str = "@") -> float:
        """B: median of the first 10 points after t0 (needs at least 5), NaN before."""

        def f() -> float:
            a = self.v(role)
            t0 = self.t0(role)
            seg = finite(a[t0 : t0 + BASELINE_POINTS])
            return med(seg) if len(seg) >= MIN_POINTS else math.nan

        return float(self._memo("base", role, 0, f))

    def growth(self, role: str = "@") -> float:
        """med_W / B: how far the series has moved from its baseline (NaN while B is not positive)."""
        b = self.base(role)
        return self.med(role) / b if b > 0 else math.nan

    def trend(self, role: str = "@", short: int = W, long: int = L) -> stats.TrendReading:
        def f() -> stats.TrendReading:
            return stats.trend(self.v(role)[-max(short, long) :], short, long)

        reading: stats.TrendReading = self._memo(
            f"trend{short}", role, long, lambda: self._batched("trend", role, short, long, f)
        )
        return reading

    def direction(self, role: str = "@", n: int = W) -> str:
        return self.trend(role, n, L).direction

    def rz(self, role: str = "@", n: int = W) -> float:
        """Robust z of the newest point against the ``n`` points before it."""
        def f() -> float:
            return stats.robust_z_last(self.v(role)[-(n + 1) :], n)

        return float(self._memo("rz", role, n, lambda: self._batched("rz", role, n, 0, f)))

    def flat(self, role: str, n: int = L) -> bool:
        return self.direction(role, n) == "flat"
