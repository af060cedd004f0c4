"""The rows of the sweep overview: one per run, ranked worst first, with what tells them apart.

Pure functions of the snapshots (no Textual), so the ranking, the config columns and the filter
are tested without a terminal. The screen (``screens/sweep.py``) only lays these rows out.

Why these choices:

* **Worst first**: with 100 runs the question is "which ones are in trouble"; the rank is the
  worst active severity, then how many warn/critical alerts are active, then the earliest of
  them (the run that went wrong first), then the name. Runs still loading go last.
* **Config columns**: a sweep varies a few hyperparameters (beta, learning rate, ...); the keys
  whose values differ between the runs are the ones that explain a difference in outcome, so
  those become columns (well-known knobs first) and the rows can be grouped by one of them.
  Keys that differ by construction (output folders, run names, timestamps) are left out.
* **Key instruments**: the instruments that are not OK in the most runs get a sparkline column
  each (at most :data:`MAX_INSTRUMENTS`), so the eye goes down one column to compare runs.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from rltui import numfmt
from rltui.model.snapshot import SEVERITY_RANK, Alert, InstrumentReading, RunSnapshot
from rltui.text import sanitize

#: Config keys shown first when they differ (what people sweep over).
KNOWN_KNOBS = (
    "beta",
    "learning_rate",
    "loss_type",
    "num_generations",
    "temperature",
    "epsilon",
    "max_completion_length",
    "max_length",
    "per_device_train_batch_size",
    "gradient_accumulation_steps",
    "lora_r",
    "lora_alpha",
    "weight_decay",
    "warmup_ratio",
    "seed",
)
#: Keys that differ between runs by construction, never a column.
_NOISE_PARTS = ("dir", "path", "name", "hub_", "token", "time", "date", "report_to", "url", "id")
MAX_CONFIG_COLUMNS = 4
MAX_INSTRUMENTS = 3
#: Instruments tried, in this order, when no instrument is in trouble anywhere.
_DEFAULT_INSTRUMENTS = ("reward", "kl", "preference", "loss", "length", "gradients")
ALERT_SEVERITIES = ("warn", "critical")


@dataclass(frozen=True, slots=True)
class SweepRow:
    """One run of the sweep as the overview shows it."""

    index: int
    name: str
    trainer: str
    step: int | None
    max_steps: int | None
    worst: str
    #: Active warn/critical alerts, most severe (then earliest) first.
    alerts: tuple[Alert, ...]
    #: Differing config key -> value as text.
    config: dict[str, str]
    readings: dict[str, InstrumentReading]
    loading: bool = False

    @property
    def top_alert(self) -> Alert | None:
        return self.alerts[0] if self.alerts else None


def _scalar(value: object) -> str | None:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return numfmt.num(float(value)) if isinstance(value, float) and math.isfinite(value) else str(value)
    if isinstance(value, str) and len(value) <= 40:
        return sanitize(value, single_line=True, max_len=40)
    return None


def _noise(key: str) -> bool:
    low = key.lower()
    return any(part in low for part in _NOISE_PARTS)


def differing_keys(snaps: Sequence[RunSnapshot | None], limit: int = MAX_CONFIG_COLUMNS) -> list[str]:
    """Config keys with scalar values that are not the same in every loaded run."""
    loaded = [s for s in snaps if s is not None]
    if len(loaded) < 2:
        return []
    seen: dict[str, None] = {}  # every key, in first-seen order
    for snap in loaded:
        seen.update(dict.fromkeys(k for k in snap.info.config if isinstance(k, str)))
    values: dict[str, set[str | None]] = {}
    for key in seen:
        if _noise(key):
            continue
        raw = [snap.info.config.get(key) for snap in loaded]
        if all(type(v) is type(raw[0]) and v == raw[0] for v in raw):
            continue  # the same everywhere: no need to format it
        values[key] = {_scalar(v) for v in raw}
    differing = [k for k, v in values.items() if len(v) > 1 and v != {None}]
    known = [k for k in KNOWN_KNOBS if k in differing]
    rest = sorted(k for k in differing if k not in KNOWN_KNOBS)
    return (known + rest)[:limit]


def _alerts(snap: RunSnapshot) -> tuple[Alert, ...]:
    active = [a for a in snap.alerts if a.active and a.severity in ALERT_SEVERITIES]
    active.sort(key=lambda a: (-SEVERITY_RANK[a.severity], a.first_step, a.id))
    return tuple(active)


def rows_of(
    snaps: Sequence[RunSnapshot | None], names: Sequence[str], keys: Sequence[str] | None = None
) -> list[SweepRow]:
    """One row per run (in the runs' order), ``names`` being their display names and ``keys``
    the config columns (by default :func:`differing_keys`)."""
    keys = differing_keys(snaps) if keys is None else keys
    rows = []
    for i, snap in enumerate(snaps):
        if snap is None:
            rows.append(SweepRow(i, names[i], "", None, None, "ok", (), {}, {}, loading=True))
            continue
        config = {k: _scalar(snap.info.config.get(k)) or "–" for k in keys}
        readings = {r.id: r for r in snap.instruments if r.status != "unavailable"}
        rows.append(
            SweepRow(
                i,
                names[i],
                snap.info.trainer,
                snap.step,
                snap.info.max_steps,
                snap.worst,
                _alerts(snap),
                config,
                readings,
            )
        )
    return rows


def rank(rows: Sequence[SweepRow]) -> list[SweepRow]:
    """Worst first (see the module docstring); runs still loading last."""

    def key(r: SweepRow) -> tuple[int, int, int, int, str]:
        first = min((a.first_step for a in r.alerts), default=2**62)
        return (int(r.loading), -SEVERITY_RANK.get(r.worst, 0), -len(r.alerts), first, r.name)

    return sorted(rows, key=key)


def grouped(rows: Sequence[SweepRow], by: str | None) -> list[SweepRow]:
    """Ranked rows, gathered by the value of config key ``by`` (groups in value order)."""
    ranked = rank(rows)
    if by is None:
        return ranked

    def value_key(r: SweepRow) -> tuple[int, float, str]:
        text = r.config.get(by, "–")
        try:
            return (0, float(text), text)
        except ValueError:
            return (1, 0.0, text)

    order = {r.index: n for n, r in enumerate(ranked)}
    return sorted(ranked, key=lambda r: (value_key(r), order[r.index]))


def key_instruments(rows: Sequence[SweepRow], limit: int = MAX_INSTRUMENTS) -> list[str]:
    """The instruments not OK in the most runs; the trainer's usual ones when all are OK."""
    trouble: Counter[str] = Counter()
    present: Counter[str] = Counter()
    for r in rows:
        for iid, reading in r.readings.items():
            present[iid] += 1
            if reading.status in ALERT_SEVERITIES:
                trouble[iid] += 1 + (reading.status == "critical")
    picked = [iid for iid, _ in sorted(trouble.items(), key=lambda kv: (-kv[1], kv[0]))][:limit]
    for iid in _DEFAULT_INSTRUMENTS:
        if len(picked) >= limit:
            break
        if present[iid] and iid not in picked:
            picked.append(iid)
    for iid, _ in present.most_common():
        if len(picked) >= limit:
            break
        if iid not in picked:
            picked.append(iid)
    return picked


def matches(row: SweepRow, query: str) -> bool:
    """The ``/`` filter: every word of ``query`` appears in the run's name, trainer, verdict,
    alert ids or config values (case-insensitive)."""
    words = query.lower().split()
    if not words:
        return True
    hay = " ".join(
        [
            row.name,
            row.trainer,
            row.worst,
            *(a.id for a in row.alerts),
            *(f"{k}={v}" for k, v in row.config.items()),
        ]
    ).lower()
    return all(w in hay for w in words)
