"""``rltui check`` end to end, as a script or CI job runs it: a subprocess on real TRL runs."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from rltui import numfmt

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "fixtures" / "runs"
SCHEMA = json.loads((ROOT / "docs" / "check.schema.json").read_text())


def check(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rltui", "check", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def _reject_non_json(token: str) -> None:
    """Python's json accepts NaN/Infinity; real JSON (and jq) do not."""
    raise AssertionError(f"bare {token} in check --json output")


def check_json(*args: str | Path) -> tuple[int, dict[str, Any]]:
    proc = check(*args, "--json")
    assert "Traceback" not in proc.stderr, proc.stderr
    doc = json.loads(proc.stdout, parse_constant=_reject_non_json)
    jsonschema.validate(doc, SCHEMA)
    return proc.returncode, doc


def test_margin_explosion_is_critical_and_validates() -> None:
    code, doc = check_json(RUNS / "dpo_margin_explosion")
    assert code == 1
    (run,) = doc["runs"]
    assert run["trainer"] == "dpo"
    assert run["framework"] == "trl"
    assert run["last_step"] == 800
    assert run["max_steps"] == 800
    ids = {a["id"]: a for a in run["alerts"]}
    assert "margin_runaway" in ids
    assert ids["margin_runaway"]["severity"] == "critical"
    margins = run["metrics"]["rewards/margins"]
    assert margins["points"] == 800
    assert margins["max"] == pytest.approx(61.9, abs=0.1)
    reward = next(i for i in run["instruments"] if i["id"] == "reward")
    assert reward["status"] == "critical"


@pytest.mark.parametrize("name", ["dpo_healthy", "dpo_healthy_tf4", "sft_healthy", "grpo_healthy"])
def test_healthy_runs_pass_at_the_default_threshold(name: str) -> None:
    code, doc = check_json(RUNS / name)
    assert code == 0, [a for a in doc["runs"][0]["alerts"] if a["active"]]
    alerts = doc["runs"][0]["alerts"]
    assert not [a for a in alerts if a["severity"] == "critical"]
    assert len([a for a in alerts if a["severity"] == "warn"]) <= 1


def test_length_hacking_fails_on_warn_and_names_the_length_patterns() -> None:
    code, doc = check_json(RUNS / "grpo_length_hacking", "--fail-on", "warn")
    assert code == 1
    ids = {a["id"] for a in doc["runs"][0]["alerts"]}
    assert ids & {"truncation", "length_growth"}


def test_verbose_text_report_carries_every_alert_action() -> None:
    proc = check(RUNS / "dpo_margin_explosion", "-v")
    assert proc.returncode == 1
    _, doc = check_json(RUNS / "dpo_margin_explosion")
    for alert in doc["runs"][0]["alerts"]:
        assert numfmt.short_exponent(alert["action"]) in proc.stdout  # exponents written short
        assert f"since step {alert['first_step']}" in proc.stdout
    assert "dpo" in proc.stdout
    assert "instruments:" in proc.stdout


@pytest.mark.parametrize("name", ["grpo_length_hacking", "dpo_margin_explosion", "dpo_healthy"])
def test_default_text_report_is_the_verdict_then_what_to_act_on(name: str) -> None:
    """Issue 12, point 9: one GRPO run printed ~190 lines. The default is the verdict line, then
    every active warn/critical alert with its action, then one line saying what -v adds."""
    proc = check(RUNS / name)
    _, doc = check_json(RUNS / name)
    run = doc["runs"][0]
    lines = proc.stdout.splitlines()
    assert lines[0].startswith(f"{name}: ")
    assert f" at step {run['last_step']}" in lines[0]  # the one-line verdict comes first
    acting = [a for a in run["alerts"] if a["active"] and a["severity"] in ("warn", "critical")]
    for alert in acting:
        assert numfmt.short_exponent(alert["action"]) in proc.stdout
        assert f"[{alert['severity'].upper()}] {alert['id']} since step {alert['first_step']}" in proc.stdout
    held = [a for a in run["alerts"] if a not in acting]
    for alert in held:
        assert f"] {alert['id']} since step {alert['first_step']} (" not in proc.stdout
    assert "rltui check -v" in lines[-2]
    assert "instruments:" not in proc.stdout
    assert len(lines) <= 6 + 4 * len(acting) + 2
    assert len(lines) < len(check(RUNS / name, "-v").stdout.splitlines())


def test_at_step_says_when_rltui_would_have_warned() -> None:
    _, full = check_json(RUNS / "dpo_margin_explosion")
    first = next(a for a in full["runs"][0]["alerts"] if a["id"] == "margin_runaway")["first_step"]
    _, before = check_json(RUNS / "dpo_margin_explosion", "--at-step", str(first - 1))
    assert before["runs"][0]["last_step"] == first - 1
    assert "margin_runaway" not in {a["id"] for a in before["runs"][0]["alerts"]}
    # Rules need sustained evidence (3 of the last 4 points), and date the alert from its onset.
    _, at = check_json(RUNS / "dpo_margin_explosion", "--at-step", str(first + 3))
    fired = [a for a in at["runs"][0]["alerts"] if a["id"] == "margin_runaway"]
    assert fired
    assert fired[0]["first_step"] == first
    assert at["runs"][0]["metrics"]["rewards/margins"]["last_step"] == first + 3


def test_several_runs_in_one_call(tmp_path: Path) -> None:
    code, doc = check_json(RUNS / "dpo_healthy", RUNS / "dpo_margin_explosion")
    assert code == 1
    assert [r["name"] for r in doc["runs"]] == ["dpo_healthy", "dpo_margin_explosion"]


def test_nonfinite_loss_is_critical(tmp_path: Path) -> None:
    run = tmp_path / "nan_run"
    run.mkdir()
    history = [
        {"loss": 0.69 - 0.001 * s, "grad_norm": 1.0, "learning_rate": 1e-5, "step": s} for s in range(1, 40)
    ]
    history.append({"loss": float("nan"), "grad_norm": float("inf"), "learning_rate": 1e-5, "step": 40})
    state = {"global_step": 40, "max_steps": 100, "logging_steps": 1, "log_history": history}
    (run / "trainer_state.json").write_text(json.dumps(state))  # writes the NaN/Infinity literals
    assert "NaN" in (run / "trainer_state.json").read_text()
    code, doc = check_json(run)
    assert code == 1
    (r,) = doc["runs"]
    assert r["metrics"]["loss"]["last"] == "NaN"
    assert r["metrics"]["loss"]["nonfinite"] == 1
    assert r["metrics"]["grad_norm"]["last"] == "Infinity"
    nonfinite = [a for a in r["alerts"] if a["id"] == "nonfinite"]
    assert nonfinite
    assert nonfinite[0]["severity"] == "critical"
    assert nonfinite[0]["first_step"] == 40
    assert not any(isinstance(v, float) and not math.isfinite(v) for v in nonfinite[0]["evidence"].values())


def test_missing_path_is_a_usage_error_without_traceback(tmp_path: Path) -> None:
    proc = check(tmp_path / "does-not-exist")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "does-not-exist" in proc.stderr


def test_folder_without_a_run_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "notes.md").write_text("nothing to see")
    proc = check(tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip()


def test_fail_on_rejects_unknown_levels() -> None:
    proc = check(RUNS / "dpo_healthy", "--fail-on", "info")
    assert proc.returncode == 2


def test_a_named_path_without_a_run_exits_2_and_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "nonexistent"
    proc = check(RUNS / "dpo_healthy", missing)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert str(missing) in proc.stderr
    code, doc = check_json(RUNS / "dpo_healthy", missing)
    assert code == 2
    assert [r["name"] for r in doc["runs"]] == ["dpo_healthy"]  # what was readable is still reported
    assert any(p.get("path") == str(missing) for p in doc["problems"])


def test_json_is_printed_when_nothing_is_readable(tmp_path: Path) -> None:
    code, doc = check_json(tmp_path / "nonexistent")
    assert code == 2
    assert doc["runs"] == []
    assert doc["problems"]


def test_run_with_only_a_corrupt_trainer_state_names_the_file(tmp_path: Path) -> None:
    run = tmp_path / "out"
    run.mkdir()
    state = run / "trainer_state.json"
    state.write_text('{"log_history": [{"loss": 0.5, "step": 1}, {"loss": ')  # caught mid-write
    proc = check(run)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert str(state) in proc.stderr
    assert "not valid JSON" in proc.stderr
    code, doc = check_json(run)
    assert code == 2
    (src,) = doc["runs"][0]["sources"]
    assert src["path"] == str(state)
    assert src["points"] == 0
    assert "not valid JSON" in src["problems"][0]["message"]


def test_json_into_a_closed_pipe_exits_quietly_with_the_verdict() -> None:
    """``rltui check --json RUN | head -1``: the reader goes away before the output is written."""
    with subprocess.Popen(  # the with closes the stderr pipe too (else: ResourceWarning)
        [sys.executable, "-m", "rltui", "check", "--json", str(RUNS / "dpo_margin_explosion")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    ) as proc:
        assert proc.stdout is not None
        assert proc.stderr is not None
        proc.stdout.close()  # nobody reads: the first write hits a broken pipe
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=120) == 1  # the computed verdict: the run is critical
    assert "Traceback" not in err
    assert "BrokenPipe" not in err


def test_json_report_carries_no_terminal_control_from_run_names_or_keys(tmp_path: Path) -> None:
    """A folder name and a metric key are run text: ``jq -r`` must not print an escape sequence."""
    run = tmp_path / "run\x1b]0;pwned\x07\x1b[31m\u202eevil"
    run.mkdir()
    rows = [json.dumps({"step": i, "loss\x1b[2J": 1.0 / i, "reward\u202e": float(i)}) for i in range(1, 30)]
    (run / "metrics.jsonl").write_text("\n".join(rows) + "\n{broken\x1b[5m\n", encoding="utf-8")
    _, doc = check_json(run)

    def strings(x: object) -> list[str]:
        if isinstance(x, str):
            return [x]
        if isinstance(x, dict):
            return [s for k, v in x.items() for s in strings(k) + strings(v)]
        if isinstance(x, list):
            return [s for v in x for s in strings(v)]
        return []

    found = strings(doc)
    assert any(s.endswith("runevil") for s in found)  # the name is there, its escape sequences are not
    bad = [s for s in found if any(ch in s for ch in "\x1b\x07\u202e\x9b")]
    assert bad == []
