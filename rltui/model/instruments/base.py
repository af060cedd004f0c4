"""What every instrument shares: the evaluation context, cached smoothing and reading builders.

An instrument is a function ``(ctx) -> InstrumentReading``. It finds its inputs by *role*
(:mod:`rltui.model.aliases`), cuts them at ``ctx.at_step`` with :meth:`MetricStore.view` (one
``searchsorted``, no copy) and looks only at the last window of points, so evaluating every gauge
costs O(window) per series. The one whole-history number, TensorBoard's smoothed value, comes from
:class:`SmoothCache`, which extends a :class:`~rltui.model.stats.TbSmoother` with the newly
appended points instead of re-smoothing the series on every refresh.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from rltui.model import stats
from rltui.model.aliases import Key, resolve
from rltui.model.snapshot import InstrumentReading, RunInfo, Status, Trace, Trend
from rltui.model.store import MetricStore, SeriesView
from rltui.records import FloatArray

#: Offline preference trainers: they score fixed pairs and never sample completions.
PREFERENCE_TRAINERS = frozenset({"dpo", "kto", "orpo", "cpo"})
#: Trainers that sample completions and optimise a policy against a reward.
ONLINE_TRAINERS = frozenset({"ppo", "rloo", "grpo", "online_dpo"})

TRAINER_NAMES: dict[str, str] = {
    "sft": "SFT",
    "dpo": "DPO",
    "kto": "KTO",
    "orpo": "ORPO",
    "cpo": "CPO",
    "online_dpo": "Online DPO",
    "reward": "Reward modelling",
    "ppo": "PPO",
    "rloo": "RLOO",
    "grpo": "GRPO",
}

#: Points skipped at the start before a baseline is taken (patterns.md §3, t0).
WARMUP_POINTS = 5
BASELINE_POINTS = 10
SHORT = 20
LONG = 50

# Flat is the normal state: summaries only mention a direction when there is one.
_ARROWS: dict[str, str] = {"rising": "↑", "falling": "↓", "flat": "", "unknown": ""}


def trainer_name(info: RunInfo) -> str:
    return TRAINER_NAMES.get(info.trainer, info.trainer)


# -- config ---------------------------------------------------------------------------------


def config_number(info: RunInfo, key: str) -> float | None:
    """A numeric field of the run's config, or None (absent, bool, text that is not a number).

    The config is parsed JSON from a log file, so nothing is trusted: only real numbers and
    numeric strings pass, through ``float()``.
    """
    raw = info.config.get(key)
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, int | float):
        x = float(raw)
    elif isinstance(raw, str):
        try:
            x = float(raw.strip())
        except ValueError:
            return None
    else:
        return None
    return x if math.isfinite(x) else None


# -- smoothing cache ------------------------------------------------------------------------


#: How many of the newest cached values are re-checked when a series changes (see SmoothCache).
_RECHECK = 1024


@dataclass(slots=True)
class _Smoothed:
    version: object
    n: int
    raw: FloatArray  # capacity >= n
    out: FloatArray  # capacity >= n
    smoother: stats.TbSmoother

    def append(self, values: FloatArray) -> None:
        k = len(values)
        need = self.n + k
        if need > len(self.raw):
            cap = max(need, int(len(self.raw) * 1.5) + 64)
            for attr in ("raw", "out"):
                old = getattr(self, attr)
                new = np.empty(cap, dtype=np.float64)
                new[: self.n] = old[: self.n]
                setattr(self, attr, new)
        self.raw[self.n : need] = values
        self.out[self.n : need] = self.smoother.extend(values)
        revised = self.smoother.revised
        if revised is not None:
            self.out[: len(revised)] = revised
        self.n = need


class SmoothCache:
    """TB-smoothed copies of whole series, extended incrementally as points are appended.

    Keyed by (series key, weight). When the series' version changed and it did not shrink, the
    newest ``_RECHECK`` cached raw values are compared with the series; if they still match (the
    live case: points were appended) only the new tail is smoothed, O(k) amortised. Otherwise (a
    rewind, a restated recent value) the series is smoothed again from scratch. A value restated
    further back than that is not re-checked: its weight in the current smoothed value is below
    ``w**1024`` (zero in float64 at TB's default 0.6), so only a replay at that old step would see
    the stale number.
    """

    def __init__(self) -> None:
        self._entries: dict[tuple[str, float], _Smoothed] = {}

    def smoothed(
        self, key: str, version: object, values: Callable[[], FloatArray], weight: float
    ) -> FloatArray:
        ck = (key, float(weight))
        entry = self._entries.get(ck)
        if entry is not None and entry.version == version:
            return entry.out[: entry.n]
        vals = values()
        if entry is not None and len(vals) >= entry.n:
            lo = max(0, entry.n - _RECHECK)
            if np.array_equal(vals[lo : entry.n], entry.raw[lo : entry.n], equal_nan=True):
                if len(vals) > entry.n:
                    entry.append(vals[entry.n :])
                entry.version = version
                return entry.out[: entry.n]
        entry = _Smoothed(version, 0, np.empty(0), np.empty(0), stats.TbSmoother(weight))
        entry.append(vals)
        self._entries[ck] = entry
        return entry.out[: entry.n]


_CACHES: weakref.WeakKeyDictionary[MetricStore, SmoothCache] = weakref.WeakKeyDictionary()


def cache_for(store: MetricStore) -> SmoothCache:
    cache = _CACHES.get(store)
    if cache is None:
        cache = _CACHES[store] = SmoothCache()
    return cache


# -- context --------------------------------------------------------------------------------


@dataclass(slots=True)
class Ctx:
    """One evaluation: the store, what is known about the run, the step to look at."""

    store: MetricStore
    info: RunInfo
    at_step: int | None
    smoothing: float
    available: frozenset[str] = field(default_factory=frozenset)
    cache: SmoothCache = field(default_factory=SmoothCache)
    #: Thresholds per rule id as configured (``rltui.toml``): gauges draw the lines the rules use.
    rules: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        store: MetricStore,
        info: RunInfo,
        at_step: int | None,
        smoothing: float,
        rules: Mapping[str, Mapping[str, float]] | None = None,
    ) -> Ctx:
        return cls(store, info, at_step, smoothing, frozenset(store.names()), cache_for(store), rules or {})

    def threshold(self, rule_id: str, name: str) -> float:
        """The configured value of a rule's threshold (the catalogue default when not configured).

        One source of truth: a gauge's threshold line is the number the alert fires at, and an
        override in ``rltui.toml`` moves both.
        """
        configured = self.rules.get(rule_id)
        if configured is not None and name in configured:
            return float(configured[name])
        from rltui.model.patterns.catalogue import BY_ID

        return BY_ID[rule_id].thresholds[name].value

    def view(self, name: str | None) -> SeriesView | None:
        if name is None:
            return None
        return self.store.view(name, self.at_step)

    def role(self, role: str) -> tuple[Key, SeriesView] | None:
        """The first spelling of ``role`` that has a point at or before ``at_step``."""
        key = resolve(role, self.available)
        if key is None:
            return None
        v = self.view(key.name)
        return None if v is None else (key, v)

    def role_view(self, role: str) -> SeriesView | None:
        found = self.role(role)
        return None if found is None else found[1]

    def smoothed_last(self, view: SeriesView) -> float | None:
        """TB-smoothed value of ``view``'s newest point, from the cached whole-series smoothing."""
        series = self.store.get(view.name)
        if series is None or len(view) == 0:
            return None
        out = self.cache.smoothed(view.name, series.version, lambda: series.values, self.smoothing)
        idx = len(view) - 1
        return float(out[idx]) if idx < len(out) else None

    def smoothed_derived(
        self, key: str, version: object, steps_values: Callable[[], FloatArray], n: int
    ) -> float | None:
        """Like :meth:`smoothed_last` for a series derived from stored ones (rates, ratios)."""
        if n <= 0:
            return None
        out = self.cache.smoothed(key, version, steps_values, self.smoothing)
        return float(out[n - 1]) if n - 1 < len(out) else None


# -- numbers and words ----------------------------------------------------------------------


def fmt(x: float | None, digits: int = 3) -> str:
    """Compact number for a one-line summary: 3 significant digits, short exponents."""
    if x is None:
        return "–"
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "+Inf" if x > 0 else "-Inf"
    if x == 0:
        return "0"
    a = abs(x)
    if a >= 1e5 or a < 1e-3:
        s = f"{x:.{max(1, digits - 1)}e}"
        mant, exp = s.split("e")
        if "." in mant:
            mant = mant.rstrip("0").rstrip(".")
        return f"{mant}e{int(exp)}"
    if a >= 1e3:
        return f"{x:.0f}"
    return f"{x:.{digits}g}"


def pct(x: float) -> str:
    return f"{100.0 * x:.0f}%"


def arrow(direction: str, accelerating: bool = False) -> str:
    a = _ARROWS.get(direction, "")
    if accelerating and direction == "rising":
        return f"{a} accelerating"
    return a


def finite_tail(values: FloatArray, n: int) -> FloatArray:
    tail = values[-n:]
    return tail[np.isfinite(tail)]


def median_tail(values: FloatArray, n: int = SHORT) -> float | None:
    t = finite_tail(values, n)
    return float(np.median(t)) if len(t) else None


def baseline(values: FloatArray) -> float | None:
    """B(x): median of the first 10 points after the warm-up guard (at least 5), patterns.md §3."""
    if len(values) < WARMUP_POINTS + 5:
        head = values[:BASELINE_POINTS]
    else:
        head = values[WARMUP_POINTS : WARMUP_POINTS + BASELINE_POINTS]
    head = head[np.isfinite(head)]
    return float(np.median(head)) if len(head) else None


def trace(view: SeriesView, name: str | None = None) -> Trace:
    return Trace(name or view.name, view.steps, view.values)


def join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


# -- readings -------------------------------------------------------------------------------


@dataclass(slots=True)
class Gauge:
    """The common numbers of a gauge computed from its primary series."""

    value: float | None
    smoothed: float | None
    trend: Trend
    accelerating: bool
    slope: float
    status: Status


def gauge_trend(values: FloatArray) -> stats.TrendReading:
    """The gauge's arrow: the short-window trend (patterns.md §3), or the long window's when the
    short one is flat.

    Interval-averaged RL metrics are noisy enough (DPO with batch size 1, GRPO KL) that 20 points
    often cannot tell a steady climb from noise; 50 points can. Rules use :func:`stats.trend`
    directly; the arrow only informs.
    """
    tr = stats.trend(values, SHORT, LONG)
    if tr.direction in ("flat", "unknown") and len(values) > SHORT:
        wide = stats.trend(values, LONG, LONG)
        if wide.direction in ("rising", "falling"):
            return stats.TrendReading(wide.direction, wide.slope, tr.accelerating, tr.decelerating)
    return tr


def gauge_numbers(ctx: Ctx, view: SeriesView) -> Gauge:
    values = view.values
    value = float(values[-1]) if len(values) else None
    tr = gauge_trend(values)
    direction: Trend = tr.direction  # type: ignore[assignment]
    status: Status = "critical" if value is not None and not math.isfinite(value) else "ok"
    return Gauge(
        value=value,
        smoothed=ctx.smoothed_last(view),
        trend=direction,
        accelerating=tr.accelerating and direction == "rising",
        slope=tr.slope,
        status=status,
    )


def unavailable(iid: str, title: str, reason: str, unit: str = "") -> InstrumentReading:
    return InstrumentReading(
        id=iid, title=title, status="unavailable", unit=unit, reason=reason, summary=reason
    )


def reading(
    iid: str,
    title: str,
    g: Gauge,
    *,
    primary: str,
    summary: str,
    traces: tuple[Trace, ...],
    unit: str = "",
    thresholds: dict[str, float] | None = None,
    hint: str = "",
    status: Status | None = None,
) -> InstrumentReading:
    return InstrumentReading(
        id=iid,
        title=title,
        status=status if status is not None else g.status,
        value=g.value,
        smoothed=g.smoothed,
        unit=unit,
        trend=g.trend,
        accelerating=g.accelerating,
        summary=summary,
        primary=primary,
        traces=traces,
        thresholds=dict(thresholds or {}),
        hint=hint,
    )


def not_logged_yet(ctx: Ctx, role: str) -> bool:
    """True when the role's key exists in the run but has no point at or before ``at_step``."""
    key = resolve(role, ctx.available)
    return key is not None and ctx.view(key.name) is None


def missing(
    ctx: Ctx, iid: str, title: str, roles: tuple[str, ...], *, yet: str, reason: str
) -> InstrumentReading:
    """The reading of a gauge whose inputs are absent at this step.

    Replaying an early step of a run that logs the input later must not say "this trainer does not
    log it": when any of ``roles`` has a key in the run, the reason is ``yet``; otherwise ``reason``
    (specific to the trainer).
    """
    if any(not_logged_yet(ctx, role) for role in roles):
        return unavailable(iid, title, yet)
    return unavailable(iid, title, reason)


@dataclass(slots=True)
class Draft:
    """A reading being assembled around its primary series.

    Most gauges follow one recipe: the gauge numbers of the primary series, a summary that opens
    with "label value unit arrow", related series added as traces (some also quoted by their newest
    value), then the reading. The draft holds that state, so each instrument says only what is its
    own.
    """

    ctx: Ctx
    key: Key
    view: SeriesView
    g: Gauge
    parts: list[str]
    traces: list[Trace]

    @classmethod
    def of(cls, ctx: Ctx, found: tuple[Key, SeriesView]) -> Draft:
        key, view = found
        return cls(ctx, key, view, gauge_numbers(ctx, view), [], [trace(view)])

    def headline(self, label: str, unit: str = "", *, accelerating: bool = True) -> None:
        """Opens the summary with "label value unit arrow" (the arrow may say "accelerating")."""
        words = (label, fmt(self.g.value), unit, arrow(self.g.trend, accelerating and self.g.accelerating))
        self.parts.append(" ".join(w for w in words if w))

    def show(self, view: SeriesView) -> None:
        self.traces.append(trace(view))

    def add(self, role: str, label: str = "") -> SeriesView | None:
        """Shows the series of ``role`` when it is logged, quoting its newest value as "label value"."""
        view = self.ctx.role_view(role)
        if view is not None:
            self.show(view)
            if label:
                self.parts.append(f"{label} {fmt(view.last)}")
        return view

    def finish(
        self,
        iid: str,
        title: str,
        *,
        unit: str = "",
        thresholds: dict[str, float] | None = None,
        hint: str = "",
    ) -> InstrumentReading:
        return reading(
            iid,
            title,
            self.g,
            primary=self.key.name,
            summary=join(*self.parts),
            traces=tuple(self.traces),
            unit=unit,
            thresholds=thresholds,
            hint=hint,
        )
