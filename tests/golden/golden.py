"""The exact results a speed-up must keep: points per series and every alert, on every fixture run.

Why: the readers and the pattern engine are rewritten for speed (issue 11), and the promise is
"every point, every NaN and the exact verdicts". This module computes a fingerprint of what rltui
makes of each fixture run (fixtures/runs, fixtures/wild, /work/shared/runs when present) plus
synthetic long runs that exercise the catch-up thinning, live appends one step at a time and
``--at-step``. ``python3 tests/golden/golden.py`` writes ``golden.json`` next to it, stamped
with the commit it was generated at; ``tests/test_golden.py`` recomputes and compares.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import subprocess
import sys
from typing import Any

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from rltui.model.engine import RunModel  # noqa: E402
from rltui.model.snapshot import Alert, RunInfo, RunSnapshot, Trainer  # noqa: E402
from rltui.model.store import MetricStore  # noqa: E402
from rltui.records import PointChunk  # noqa: E402
from rltui.sources.names import canonical_tb_tag  # noqa: E402

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden.json")
SHARED_RUNS = "/work/shared/runs"


def fixture_dirs() -> list[tuple[str, str]]:
    """(label, path) of every fixture run folder; /work/shared/runs only where it exists."""
    out: list[tuple[str, str]] = []
    for label, base in (
        ("runs", os.path.join(ROOT, "fixtures", "runs")),
        ("wild", os.path.join(ROOT, "fixtures", "wild")),
        ("shared", SHARED_RUNS),
    ):
        if not os.path.isdir(base):
            continue
        for name in sorted(os.listdir(base)):
            if os.path.isdir(os.path.join(base, name)):
                out.append((f"{label}/{name}", os.path.join(base, name)))
    return out


def _num(x: object) -> object:
    """Floats as their exact repr (NaN and infinities included), so JSON keeps every bit."""
    if isinstance(x, float):
        return repr(x)
    return x


def _hash(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:20]


def series_print(store: MetricStore) -> dict[str, list[object]]:
    out: dict[str, list[object]] = {}
    for name in sorted(store.names()):
        s = store[name]
        v = s.values
        out[name] = [len(s), int(np.count_nonzero(np.isnan(v))), _hash(s.steps, v), _hash(s.wall_times)]
    return out


def alert_print(alerts: tuple[Alert, ...]) -> list[list[object]]:
    return [
        [
            a.id,
            a.severity,
            a.first_step,
            a.last_step,
            a.raised_step,
            a.active,
            a.metric,
            {k: _num(v) for k, v in a.evidence.items()},
            a.message,
        ]
        for a in alerts
    ]


def snap_print(snap: RunSnapshot) -> dict[str, object]:
    return {
        "step": snap.step,
        "alerts": alert_print(snap.alerts),
        "instruments": [[r.id, r.status, _num(r.value)] for r in snap.instruments],
    }


def fixture_print(path: str) -> list[dict[str, object]]:
    from rltui.session import open_sessions

    out: list[dict[str, object]] = []
    for session in open_sessions([path]):
        session.load()
        snap = session.snapshot()
        out.append(
            {
                "name": session.info.name,
                "trainer": session.info.trainer,
                "series": series_print(session.store),
                "snapshot": snap_print(snap),
            }
        )
        session.close()
    return out


# -- synthetic long runs -----------------------------------------------------------------------
SYNTH_STEPS = 4000
LIVE_TAIL = 120


def _exp(x: np.ndarray) -> np.ndarray:
    """exp element by element through libm: numpy's SIMD exp differs in the last bit between
    numpy versions and CPUs (numpy 2.4 on this VM changed three synthetic inputs), which made the
    golden inputs, not rltui's results, differ."""
    return np.array([math.exp(float(v)) for v in x], dtype=np.float64)


def _synthetic(trainer: str, seed: int) -> dict[str, np.ndarray]:
    """Noisy TRL-named series with spikes, NaNs, zero runs and drifts, deterministic per seed."""
    rng = np.random.default_rng(seed)
    n = SYNTH_STEPS
    t = np.arange(n, dtype=np.float64)
    walk = np.cumsum(rng.normal(0, 0.01, n))
    cols: dict[str, np.ndarray] = {
        "train/loss": 2.0 * _exp(-t / 1500) + 0.3 + 0.05 * rng.standard_normal(n) + 0.1 * walk,
        "train/grad_norm": np.abs(1.0 + 0.3 * rng.standard_normal(n)) + 0.0005 * t * (t > 3000),
        "train/learning_rate": np.where(t < 200, t / 200, 1.0 - t / n) * 5e-6,
        "train/entropy": 1.5 - 0.0003 * t + 0.05 * rng.standard_normal(n),
        "train/num_tokens": np.cumsum(rng.integers(900, 1100, n)).astype(np.float64),
        "train/epoch": t / 1000.0,
    }
    if trainer == "grpo":
        cols |= {
            "train/reward": np.clip(0.2 + t / n + 0.1 * rng.standard_normal(n), 0, 1),
            "train/reward_std": np.abs(0.3 - t / (2 * n) + 0.05 * rng.standard_normal(n)),
            "train/frac_reward_zero_std": np.clip(t / n + 0.05 * rng.standard_normal(n), 0, 1),
            "train/kl": np.abs(0.001 * t / 100 + 0.01 * rng.standard_normal(n))
            * (1 + (t > 2500) * (t - 2500) / 50),
            "train/completions/mean_length": 200 + 0.1 * t + 10 * rng.standard_normal(n),
            "train/completions/min_length": 20 + 5 * rng.standard_normal(n),
            "train/completions/max_length": np.minimum(1024, 400 + 0.2 * t + 20 * rng.standard_normal(n)),
            "train/completions/clipped_ratio": np.clip(t / n - 0.3 + 0.05 * rng.standard_normal(n), 0, 1),
            "train/clip_ratio/region_mean": np.abs(0.01 * rng.standard_normal(n)),
        }
        cols["train/loss"] = 0.01 * rng.standard_normal(n)
    elif trainer == "dpo":
        margin = 0.002 * t + 0.5 * rng.standard_normal(n)
        cols |= {
            "train/rewards/chosen": 0.5 * margin + 0.1 * rng.standard_normal(n),
            "train/rewards/rejected": -0.5 * margin + 0.1 * rng.standard_normal(n),
            "train/rewards/margins": margin,
            "train/rewards/accuracies": np.clip(0.5 + t / (1.5 * n) + 0.05 * rng.standard_normal(n), 0, 1),
            "train/logps/chosen": -200 - 0.01 * t + rng.standard_normal(n),
            "train/logps/rejected": -220 - 0.03 * t + rng.standard_normal(n),
        }
        cols["train/loss"] = math.log(2) * _exp(-t / 800) + 0.02 * rng.standard_normal(n)
    else:
        cols["train/mean_token_accuracy"] = np.clip(0.4 + t / (2 * n) + 0.02 * rng.standard_normal(n), 0, 1)
        cols["eval/loss"] = cols["train/loss"] + 0.1 + 0.0001 * np.maximum(0, t - 2000)
    cols = {canonical_tb_tag(k): v for k, v in cols.items()}
    for i, (name, v) in enumerate(sorted(cols.items())):
        v = v.astype(np.float64).copy()
        r = np.random.default_rng(seed * 100 + i)
        spikes = r.integers(50, n, 4)
        v[spikes] = v[spikes] * 8 + 3
        v[r.integers(50, n, 3)] = np.nan
        if i % 3 == 0:
            v[r.integers(50, n, 1)] = np.inf
        z = int(r.integers(100, n - 200))
        if i % 4 == 1:
            v[z : z + 40] = 0.0
        cols[name] = v
    return cols


def _chunks(cols: dict[str, np.ndarray], lo: int, hi: int, skip_eval: bool = True) -> dict[str, PointChunk]:
    out: dict[str, PointChunk] = {}
    for name, v in cols.items():
        idx = np.arange(lo, hi)
        if name.startswith("eval_") and skip_eval:
            idx = idx[idx % 10 == 9]
        steps = (idx + 1).astype(np.int64)
        out[name] = PointChunk(steps, (1.7e9 + steps * 0.5).astype(np.float64, copy=False), v[idx])
    return out


def synthetic_print(trainer: Trainer, seed: int) -> dict[str, object]:
    cols = _synthetic(trainer, seed)
    n = SYNTH_STEPS
    info = RunInfo(name=f"synth-{trainer}", path="/synthetic", framework="trl", trainer=trainer, max_steps=n)
    store = MetricStore()
    store.add("a", _chunks(cols, 0, n))
    cold = RunModel(info, store)
    out: dict[str, object] = {
        "series": series_print(store),
        "cold": snap_print(cold.snapshot()),
        "at_half": snap_print(cold.snapshot(at_step=n // 2)),
    }
    live_store = MetricStore()
    live_store.add("a", _chunks(cols, 0, n - LIVE_TAIL))
    live = RunModel(info, live_store)
    prints = [snap_print(live.snapshot())]
    for i in range(n - LIVE_TAIL, n):
        live_store.add("a", _chunks(cols, i, i + 1))
        snap = live.snapshot()
        if (i + 1) % 40 == 0:
            prints.append(snap_print(snap))
    out["live"] = prints
    return out


SYNTHETIC: tuple[tuple[Trainer, int], ...] = (("grpo", 1), ("dpo", 2), ("sft", 3), ("unknown", 4))


def compute() -> dict[str, Any]:
    runs = {label: fixture_print(path) for label, path in fixture_dirs()}
    synth = {f"{t}-{s}": synthetic_print(t, s) for t, s in SYNTHETIC}
    return {"fixtures": runs, "synthetic": synth}


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "-C", ROOT, "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main() -> None:
    doc = {"generated_at_commit": _commit(), **compute()}
    with open(GOLDEN, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=0, sort_keys=True)
        f.write("\n")
    n_alerts = sum(len(r["snapshot"]["alerts"]) for runs in doc["fixtures"].values() for r in runs)
    print(f"wrote {GOLDEN}: {len(doc['fixtures'])} folders, {n_alerts} alerts, {doc['generated_at_commit']}")


if __name__ == "__main__":
    main()
