"""The completion samples in ``rltui check``: counts per run, evidence samples per alert.

Kept apart from :mod:`rltui.commands.check` so the verdict path stays what it is: samples only add
fields (``runs[].samples`` and ``alerts[].samples`` of check.schema.json) and lines. They are read
when asked for (``--samples``, the default with ``--json``), so a plain ``check`` on a run with
hundreds of parquet files lists their names at most.
"""

from __future__ import annotations

import math
from typing import Protocol, TextIO

from rltui.model.snapshot import Alert, RunSnapshot
from rltui.records import Sample
from rltui.text import sanitize

#: Evidence texts in the JSON and the report are cut to this many characters.
TEXT_BOUND = 2000
#: Evidence samples per alert.
EVIDENCE = 3


class SampleSession(Protocol):
    def read_samples(self) -> int: ...

    def sample_steps(self) -> list[int]: ...

    def alert_evidence(self, alert: Alert, k: int = EVIDENCE) -> tuple[int | None, list[Sample]]: ...

    def sample_counts(self, at_step: int | None = None) -> tuple[int, int]: ...


def wanted(args: object) -> bool:
    """``--samples`` / ``--no-samples``; unset: on with ``--json``."""
    flag = getattr(args, "samples", None)
    return bool(getattr(args, "json", False)) if flag is None else bool(flag)


def sample_json(sample: Sample, step: int | None) -> dict[str, object]:
    reward = sample.reward if sample.reward is not None and math.isfinite(sample.reward) else None
    out: dict[str, object] = {
        "step": sample.step if step is None else step,
        "prompt": sanitize(sample.prompt, max_len=TEXT_BOUND),
        "completion": sanitize(sample.completion, max_len=TEXT_BOUND),
        "reward": reward,
    }
    if sample.advantage is not None and math.isfinite(sample.advantage):
        out["advantage"] = sample.advantage
    return out


def attach(run: dict[str, object], session: SampleSession, snap: RunSnapshot) -> None:
    """Add the samples fields to one ``runs[]`` entry built from ``snap``."""
    steps, completions = session.sample_counts(snap.step)
    run["samples"] = {"steps": steps, "completions": completions}
    alerts = run.get("alerts")
    if not isinstance(alerts, list):
        return
    for entry, alert in zip(alerts, snap.alerts, strict=False):
        step, picked = session.alert_evidence(alert)
        if picked and isinstance(entry, dict):
            entry["samples"] = [sample_json(s, step) for s in picked]


def write_samples(session: SampleSession, snap: RunSnapshot, out: TextIO) -> None:
    """The report's lines: the count, then each alert's evidence samples."""
    steps, completions = session.sample_counts(snap.step)
    name = sanitize(snap.info.name, single_line=True)
    out.write(f"{name}  samples: {steps} steps, {completions} completions\n")
    for alert in snap.alerts:
        step, picked = session.alert_evidence(alert)
        if not picked:
            continue
        out.write(f"  {alert.id} (samples at step {step}):\n")
        for s in picked:
            reward = "—" if s.reward is None else f"{s.reward:.4g}"
            prompt = sanitize(s.prompt, single_line=True, max_len=60)
            text = sanitize(s.completion, single_line=True, max_len=200)
            out.write(f"    [{reward}] {prompt} → {text}\n")
    out.write("\n")
