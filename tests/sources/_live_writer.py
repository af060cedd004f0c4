"""A training loop that logs through a real tracker library, for the live tests.

    python _live_writer.py KIND DEST STEPS INTERVAL_S [EXTRA_KEYS]

KIND: wandb (offline), mlflow-file, mlflow-sqlite, trackio, swanlab (local mode). It logs the
way transformers' callbacks do (W&B/Trackio/SwanLab: ``train/loss`` with ``train/global_step``;
MLflow: ``loss`` with ``step=``), one row per step, and prints ``logged STEP UNIX_TIME`` after
each ``log()`` returns, so the test can time how long the point took to reach rltui. Runs in the
interpreter that has the library (the test's own, or the one ``.ci/run`` installs it into).
"""

from __future__ import annotations

import os
import sys
import time

WANDB_FLUSH_S = 0.25


def value(step: int) -> float:
    """A value no other step has, exactly representable both as float64 and in decimal."""
    return 2.0 + step / 1024.0


def main() -> int:
    kind, dest, steps, interval = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    extra = int(sys.argv[5]) if len(sys.argv) > 5 else 0  # more keys per row, as TRL logs ~30
    config = {
        "max_steps": steps,
        "logging_steps": 1,
        "beta": 0.1,
        "loss_type": "sigmoid",
        "output_dir": "out",
    }
    os.makedirs(dest, exist_ok=True)
    os.chdir(dest)
    if kind == "wandb":
        import wandb

        os.environ["WANDB_SILENT"] = "true"
        # W&B flushes its transaction log every 15 s by default (or when a 32 KiB block fills;
        # `wandb leet` waits for the same flushes): the test shortens it to time rltui's part.
        settings = wandb.Settings(x_transaction_log_flush_interval=WANDB_FLUSH_S)
        run = wandb.init(
            project="live", name="live-run", mode="offline", dir=dest, config=config, settings=settings
        )

        def log(step: int) -> None:
            run.log({"train/loss": value(step), "train/global_step": step})

        finish = run.finish
    elif kind.startswith("mlflow"):
        import mlflow

        os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
        uri = (
            "file://" + os.path.join(dest, "mlruns")
            if kind == "mlflow-file"
            else "sqlite:///" + dest + "/mlflow.db"
        )
        mlflow.set_tracking_uri(uri)
        mlflow.set_experiment("live")
        mlflow.start_run(run_name="live-run")
        mlflow.log_params(config)

        def log(step: int) -> None:
            mlflow.log_metrics({"loss": value(step)}, step=step)

        finish = mlflow.end_run
    elif kind == "trackio":
        os.environ["TRACKIO_DIR"] = dest
        import trackio

        trackio.init(project="live", name="live-run", config=config)

        def log(step: int) -> None:
            trackio.log({"train/loss": value(step), "train/global_step": step})

        finish = trackio.finish
    elif kind == "swanlab":
        import swanlab

        swanlab.init(
            project="live",
            experiment_name="live-run",
            mode="local",
            logdir=os.path.join(dest, "swanlog"),
            config=config,
        )

        def log(step: int) -> None:
            row = {"train/loss": value(step), **{f"train/extra_{j}": value(step) + j for j in range(extra)}}
            swanlab.log(row, step=step)

        finish = swanlab.finish
    else:
        print(f"unknown kind {kind}", file=sys.stderr)
        return 2
    print("started", flush=True)
    for step in range(1, steps + 1):
        log(step)
        print(f"logged {step} {time.time()}", flush=True)
        time.sleep(interval)
    finish()
    print("finished", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
