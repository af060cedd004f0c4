"""Cold load of a 600k-point W&B run and MLflow store: rltui's readers against the trackers' own.

The runs are written by the real libraries (30 TRL keys x 20k steps, ``benchmarks/data/loggers/``,
gitignored), in the interpreter that has them (``--tracker-python``, default
``$RLTUI_TRACKER_PYTHON``, which ``.ci/run`` sets; else this one). In the same run it times:

* rltui's ``WandbReader``, ``MlflowRunReader`` (file store) and ``MlflowDbReader`` (SQLite), first
  call and best of 3, and ``TfEventsReader`` on the 600k event file of ``bench_load.py`` when
  ``gen_tfevents.py`` has written it (the reference the issue asks to be comparable to);
* the trackers' own reading code, in a fresh process of the tracker interpreter: for W&B (0.31
  has no Python reader of its transaction log: the Go core and ``wandb leet`` read it), its own
  protobuf ``Record`` classes over the same framing; for MLflow, ``MlflowClient.get_metric_history``
  of every key, on the file store and on the SQLite store;
* what depending on each library would cost: its import time and the installed size of it and
  its dependencies (from the tracker interpreter's ``importlib.metadata``).

Usage: ``python3 benchmarks/bench_loggers.py [--steps 20000] [--tracker-python PY]``
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DATA = os.path.join(HERE, "data", "loggers")
KEYS = [
    "loss", "grad_norm", "learning_rate", "entropy", "num_tokens", "mean_token_accuracy",
    "rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins", "logps/chosen",
    "logps/rejected", "logits/chosen", "logits/rejected", "epoch", "kl", "reward", "reward_std",
    "frac_reward_zero_std", "completions/mean_length", "completions/min_length",
    "completions/max_length", "completions/clipped_ratio", "clip_ratio/low_mean",
    "clip_ratio/high_mean", "clip_ratio/region_mean", "step_time", "eval_loss",
    "eval_rewards/margins", "eval_runtime",
]  # fmt: skip
assert len(KEYS) == 30


def value(step: int, i: int) -> float:
    return ((step * 7919 + i * 104729) % 100003) / 1000.0 - 50.0


# -- in the tracker interpreter ----------------------------------------------------------------------


def write(kind: str, dest: str, steps: int) -> None:
    """Write the run as transformers' callbacks would (W&B: rewrite_logs names)."""
    os.makedirs(dest, exist_ok=True)
    os.chdir(dest)
    if kind == "wandb":
        import wandb

        os.environ["WANDB_SILENT"] = "true"
        run = wandb.init(project="bench", name="bench", mode="offline", dir=dest, config={"max_steps": steps})
        names = [("eval/" + k[5:]) if k.startswith("eval_") else "train/" + k for k in KEYS]
        for step in range(1, steps + 1):
            row = {n: value(step, i) for i, n in enumerate(names)}
            row["train/global_step"] = step
            run.log(row)
        run.finish()
        return
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    uri = "file://" + os.path.join(dest, "mlruns") if kind == "mlflow-file" else f"sqlite:///{dest}/mlflow.db"
    client = MlflowClient(uri)
    exp = client.create_experiment("bench")
    run_id = client.create_run(exp, run_name="bench").info.run_id
    batch: list[Any] = []
    for step in range(1, steps + 1):
        stamp = 1_733_000_000_000 + step
        batch.extend(Metric(k, value(step, i), stamp, step) for i, k in enumerate(KEYS))
        if len(batch) >= 990 or step == steps:  # log_batch takes at most 1000 metrics
            client.log_batch(run_id, metrics=batch)
            batch = []
    client.set_terminated(run_id)


def own_read(kind: str, path: str) -> dict[str, float]:
    """The library's own reading code: seconds and points."""
    t0 = time.perf_counter()
    points = 0
    if kind == "wandb":
        sys.path.insert(0, ROOT)  # rltui's framing (pure Python, no dependencies): same for both
        from wandb.proto import wandb_internal_pb2 as pb

        from rltui.sources import _leveldb_log

        t0 = time.perf_counter()
        with open(path, "rb") as fh:
            data = fh.read()
        rec = pb.Record()
        for _off, payload in _leveldb_log.frame(data[_leveldb_log.HEADER :], _leveldb_log.HEADER).records:
            rec.ParseFromString(payload)
            if rec.WhichOneof("record_type") == "history":
                for item in rec.history.item:
                    key = item.key or "/".join(item.nested_key)
                    if not key.startswith("_") and key != "train/global_step":
                        json.loads(item.value_json)
                        points += 1
    else:
        os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"  # MLflow 3 refuses file stores without it
        from mlflow.tracking import MlflowClient

        t0 = time.perf_counter()
        uri = "file://" + path if kind == "mlflow-file" else f"sqlite:///{path}"
        client = MlflowClient(uri)
        (exp,) = [e for e in client.search_experiments() if e.name == "bench"]
        (run,) = client.search_runs([exp.experiment_id])
        for key in run.data.metrics:
            points += len(client.get_metric_history(run.info.run_id, key))
    return {"seconds": time.perf_counter() - t0, "points": points}


def costs(module: str, dist: str) -> dict[str, float]:
    """Import time (fresh process) and installed size of ``dist`` with its dependency closure."""
    from importlib import metadata

    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", f"import {module}"], check=True)
    with_import = time.perf_counter() - t0
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    bare = time.perf_counter() - t0
    seen: set[str] = set()
    todo = [dist]
    size = 0
    while todo:
        name = re.split(r"[\s<>=!~;\[(]", todo.pop(), maxsplit=1)[0].lower().replace("_", "-")
        if name in seen:
            continue
        seen.add(name)
        try:
            d = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        size += sum((f.size or 0) for f in d.files or [])
        todo.extend(r for r in d.requires or [] if "extra ==" not in r)
    return {"import_s": with_import - bare, "install_mb": size / 1e6, "packages": len(seen)}


# -- in rltui's interpreter -----------------------------------------------------------------------


def _tracker(python: str, *args: str) -> Any:
    out = subprocess.run(
        [python, os.path.abspath(__file__), *args], capture_output=True, text=True, check=False,
        env={**os.environ, "PYTHONPATH": ""},
    )  # fmt: skip
    if out.returncode != 0:
        sys.exit(f"{' '.join(args[:2])} failed in {python}:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout) if out.stdout.strip() else None


def _paths(steps: int) -> dict[str, str]:
    base = os.path.join(DATA, f"30x{steps}")
    return {"wandb": os.path.join(base, "wandb"), "mlflow-file": os.path.join(base, "mlflow-file"),
            "mlflow-sqlite": os.path.join(base, "mlflow-sqlite")}  # fmt: skip


def _target(kind: str, folder: str) -> str:
    if kind == "wandb":
        import glob

        (log,) = glob.glob(os.path.join(folder, "wandb", "offline-run-*", "run-*.wandb"))
        return log
    if kind == "mlflow-file":
        return os.path.join(folder, "mlruns")
    return os.path.join(folder, "mlflow.db")


def _reader(kind: str, target: str) -> Any:
    sys.path.insert(0, ROOT)
    from rltui.sources import mlflow, wandb

    if kind == "wandb":
        return wandb.WandbReader(target)
    if kind == "mlflow-file":
        import glob

        (run,) = [
            p for p in glob.glob(os.path.join(target, "*", "*")) if os.path.isdir(os.path.join(p, "metrics"))
        ]
        return mlflow.MlflowRunReader(run)
    (uuid, _name, _exp) = mlflow.db_runs(target)[0]
    return mlflow.MlflowDbReader(target, uuid)


def time_rltui(kind: str, target: str, repeats: int = 3) -> tuple[float, float, int]:
    times = []
    points = 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        reader = _reader(kind, target)
        got = 0
        while True:
            r = reader.read()
            if r.problems:
                sys.exit(f"unexpected problems: {r.problems[:3]}")
            if not r.points:
                break
            got += r.points
        reader.close()
        times.append(time.perf_counter() - t0)
        points = got
    return times[0], min(times), points


def time_tfevents() -> tuple[float, int] | None:
    import glob

    files = glob.glob(
        os.path.join(HERE, "data", "trl_30x20000", "**", "events.out.tfevents.*"), recursive=True
    )
    if not files:
        return None
    sys.path.insert(0, ROOT)
    from rltui.sources.tfevents import TfEventsReader

    best = float("inf")
    points = 0
    for _ in range(3):
        t0 = time.perf_counter()
        points = TfEventsReader(files[0]).read().points
        best = min(best, time.perf_counter() - t0)
    return best, points


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] in ("--write", "--own", "--costs"):
        mode, *rest = sys.argv[1:]
        if mode == "--write":
            write(rest[0], rest[1], int(rest[2]))
        elif mode == "--own":
            print(json.dumps(own_read(rest[0], rest[1])))
        else:
            print(json.dumps(costs(rest[0], rest[1])))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=20000)
    ap.add_argument("--tracker-python", default=os.environ.get("RLTUI_TRACKER_PYTHON") or sys.executable)
    args = ap.parse_args()
    py = args.tracker_python
    print(f"points per run: {30 * args.steps}; tracker interpreter: {py}")
    for kind, folder in _paths(args.steps).items():
        if not os.path.isdir(folder):
            t0 = time.perf_counter()
            _tracker(py, "--write", kind, folder, str(args.steps))
            print(f"wrote {kind} with the real library in {time.perf_counter() - t0:.0f} s: {folder}")
    tf = time_tfevents()
    if tf is not None:
        print(f"{'tfevents (bench_load file)':28} rltui {tf[0]:6.2f} s  ({tf[1]} points)")
    for kind, folder in _paths(args.steps).items():
        target = _target(kind, folder)
        first, best, points = time_rltui(kind, target)
        own = _tracker(py, "--own", kind, target)
        line = f"{kind:28} rltui {first:6.2f} s first, {best:6.2f} s best of 3 ({points} points)"
        line += f"; own API {own['seconds']:6.2f} s ({own['points']} points) -> {own['seconds'] / best:.1f}x"
        print(line)
    for module, dist in (("wandb", "wandb"), ("mlflow", "mlflow-skinny"), ("trackio", "trackio")):
        c = _tracker(py, "--costs", module, dist)
        print(
            f"{dist:16} import {c['import_s']:5.2f} s, {c['install_mb']:6.0f} MB in {c['packages']} packages"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
