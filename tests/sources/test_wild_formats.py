"""Formats and spellings seen in other people's logs (issue 7 §2-3), read from the real files in
``fixtures/wild/`` (byte for byte from their sources) and from lines in the shapes those tools print.

Each test names the class of misreading it guards against: rows numbered 1, 2, 3 instead of the
true step, a dict split by the terminal, a table pasted from a notebook, a framework's own counter.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from rltui.records import ChunkBuilder
from rltui.session import open_sessions
from rltui.sources.console import ConsoleLogReader, ConsoleParser, parse_line
from rltui.sources.jsonl import JsonlReader, parse_object

WILD = Path(__file__).resolve().parents[2] / "fixtures" / "wild"


def _feed(lines: list[str]) -> dict[str, list[tuple[int, float]]]:
    parser = ConsoleParser("x.log")
    builder = ChunkBuilder()
    for i, line in enumerate(lines):
        parser.feed(i, line, float("nan"), builder)
    return {
        k: list(zip(c.steps.tolist(), c.values.tolist(), strict=True)) for k, c in builder.build().items()
    }


def test_llamafactory_trainer_log_carries_its_true_steps() -> None:
    path = WILD / "iss_x_llamafactory_pref_warmup_noise" / "trainer_log.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    result = JsonlReader(str(path)).read()
    assert result.chunks["loss"].steps.tolist() == [r["current_steps"] for r in rows if "loss" in r]
    assert result.max_steps == rows[-1]["total_steps"]
    # progress and clocks are not metrics, the step fields are not either
    assert not {"percentage", "current_steps", "total_steps", "elapsed_time"} & set(result.chunks)


def test_ms_swift_counter_gives_step_and_length() -> None:
    path = WILD / "tsa_msswift_sft_qwen3_8b_climate" / "logging.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    counters = [r["global_step/max_steps"] for r in rows if "loss" in r and "global_step/max_steps" in r]
    result = JsonlReader(str(path)).read()
    assert result.chunks["loss"].steps.tolist()[: len(counters)] == [int(c.split("/")[0]) for c in counters]
    assert result.max_steps == int(counters[-1].split("/")[1])
    row = parse_object({"loss": 1.0, "global_step/max_steps": "300/1296", "percentage": "23.15%"})
    assert (row.step, row.max_steps, row.metrics) == (300, 1296, {"loss": 1.0})


def test_ms_swift_printed_dicts_carry_the_counter_too() -> None:
    got = parse_line("{'loss': 0.23179118, 'global_step/max_steps': '56/176', 'percentage': '31.82%'}")
    assert got is not None
    assert (got.step, got.max_steps, got.metrics) == (56, 176, {"loss": 0.23179118})


def test_tqdm_counter_before_a_train_dict_is_its_step() -> None:
    got = parse_line(" 10%|█         | 20/200 [00:10<01:30,  2.0it/s]{'loss': 0.69, 'epoch': 0.1}")
    assert got is not None
    assert (got.step, got.max_steps) == (20, 200)
    # an eval dict after an eval bar keeps the training step (the eval bar counts eval batches)
    ev = parse_line("100%|██████████| 25/25 [00:03<00:00]{'eval_loss': 0.7, 'epoch': 0.1}")
    assert ev is not None
    assert ev.step is None


def test_mlx_iteration_lines() -> None:
    data = _feed(
        (WILD / "iss_x_mlx_phi35_lora_tutorial" / "console.log").read_text(encoding="utf-8").splitlines()
    )
    assert data["eval_loss"][0] == (1, 14.555)
    assert data["loss"][0] == (10, 10.986)
    assert data["learning_rate"][0] == (10, 1e-05)
    prefs = _feed(
        [
            "Iter 10: Train loss 0.061, Chosen reward -0.206, Rejected reward -0.227, "
            "Accuracy 0.600, Margin 0.021"
        ]
    )
    assert prefs["rewards/accuracies"] == [(10, 0.6)]
    assert prefs["rewards/margins"] == [(10, 0.021)]


def test_notebook_table_pasted_as_text() -> None:
    lines = (WILD / "iss_uns_grpo_table_loss_zero" / "console.log").read_text(encoding="utf-8").splitlines()
    data = _feed(lines)
    assert data["loss"][:3] == [(1, 0.0), (2, -0.0), (3, 0.0)]
    assert data["reward"][1] == (2, -10.5)
    assert data["rewards/match_format_exactly"][0] == (1, 0.0)
    hf = _feed(
        [
            "Step\tTraining Loss\tValidation Loss\tRewards/chosen",
            "10\t0.693100\t0.690000\t0.01",
            "20\tNo log\t0.6\t0.02",
        ]
    )
    assert hf["loss"] == [(10, 0.6931)]
    assert hf["eval_loss"] == [(10, 0.69), (20, 0.6)]
    assert hf["eval_rewards/chosen"] == [(10, 0.01), (20, 0.02)]


def test_dict_hard_wrapped_by_the_terminal_is_joined() -> None:
    text = (WILD / "iss_trl_kto_kl_zero_wrapped" / "console.log").read_text(encoding="utf-8")
    data = _feed(text.splitlines())
    assert [v for _, v in data["rewards/chosen"]][:2] == [1.194046974182129, 1.2586393356323242]
    assert data["logits/chosen"][0][1] == -159737504.0
    assert [s for s, _ in data["loss"]] == list(range(1, len(data["loss"]) + 1))


def test_a_dict_that_never_closes_is_reported_and_the_next_one_read() -> None:
    parser = ConsoleParser("x.log")
    builder = ChunkBuilder()
    problems = parser.feed(0, "{'loss': 0.5, 'grad", float("nan"), builder)
    problems += parser.feed(20, "{'loss': 0.4, 'epoch': 1.0}", float("nan"), builder)
    chunks = builder.build()
    assert chunks["loss"].values.tolist() == [0.4]
    assert [p.offset for p in problems] == [0]


def test_verl_line_wrapped_by_the_terminal_keeps_every_key() -> None:
    data = _feed(
        (WILD / "iss_x_verl_retool_dapo32b_wrapped" / "console.log").read_text(encoding="utf-8").splitlines()
    )
    assert data["actor/entropy"] == [(60, 0.347299188375473)]
    assert data["actor/pg_loss"] == [(60, 0.0007129423998850138)]
    assert "critic/score/mean" in data


def test_verl_trailing_dash_keeps_the_last_item() -> None:
    got = parse_line("step:3 - actor/pg_loss:0.5 - critic/score/mean:0.25 -")
    assert got is not None
    assert got.metrics == {"actor/pg_loss": 0.5, "critic/score/mean": 0.25}


def test_markdown_quoted_log_lines() -> None:
    data = _feed(["> (main_task pid=1) step:1 - actor/pg_loss:-0.052 - critic/score/mean:0.1"])
    assert data["actor/pg_loss"] == [(1, -0.052)]


def test_reprinted_dict_is_not_a_new_step() -> None:
    line = "{'loss': 0.2, 'learning_rate': 1e-05, 'epoch': 0.5}"
    data = _feed([line, "{'loss': 0.1, 'learning_rate': 1e-05, 'epoch': 0.6}", line])
    assert data["loss"] == [(1, 0.2), (2, 0.1)]


def test_final_line_without_newline_is_read_once_the_file_is_old(tmp_path: Path) -> None:
    p = tmp_path / "console.log"
    p.write_text("{'loss': 0.6931, 'epoch': 0.1}")
    assert ConsoleLogReader(str(p)).read().points == 0  # a live writer may be mid-line
    old = os.stat(p).st_mtime - 120
    os.utime(p, (old, old))
    assert ConsoleLogReader(str(p)).read().chunks["loss"].values.tolist() == [0.6931]


@pytest.mark.parametrize(
    ("run", "framework", "trainer"),
    [
        ("iss_x_llamafactory_pref_warmup_noise", "llamafactory", "dpo"),
        ("iss_x_llamafactory_ppo_loss_rising", "llamafactory", "ppo"),
        ("tsa_msswift_sft_qwen3_8b_climate", "swift", "sft"),
        ("iss_x_swift_dpo_rpo_margins", "swift", "dpo"),
        ("iss_x_mlx_orpo_dev_test", "mlx", "orpo"),
        ("iss_trl_kto_kl_zero_wrapped", "trl", "kto"),
        ("tsa_llamafactory_orpo_glm4_recsys", "unknown", "orpo"),
        ("iss_x_verl_tinyzero_ppo_collapse", "verl", "ppo"),
        ("iss_uns_sft_gemma4_loss185_strings", "unsloth", "sft"),
    ],
)
def test_framework_and_trainer_of_real_runs(run: str, framework: str, trainer: str) -> None:
    (s,) = open_sessions([str(WILD / run)])
    s.load()
    assert (s.info.framework, s.info.trainer) == (framework, trainer)


def test_counted_steps_are_never_merged_with_true_steps(tmp_path: Path) -> None:
    """A JSONL without a step field beside a trainer_state.json: its rows 1, 2, 3 are left out."""
    run = tmp_path / "out"
    run.mkdir()
    history = [{"step": 20 * (i + 1), "loss": 1.0 - 0.01 * i} for i in range(10)]
    (run / "trainer_state.json").write_text(
        json.dumps({"global_step": 200, "max_steps": 200, "log_history": history})
    )
    (run / "metrics.jsonl").write_text("".join(json.dumps({"loss": 5.0 + i}) + "\n" for i in range(10)))
    (s,) = open_sessions([str(run)])
    s.load()
    loss = s.store.get("loss")
    assert loss is not None
    assert loss.steps.tolist() == [h["step"] for h in history]
    assert bool(np.all(loss.values < 2.0))
    jsonl = next(src for src in s.sources() if src.kind == "jsonl")
    assert any("not merged" in p.message for p in jsonl.problems)


def test_hf_start_banner_scales_the_counted_steps() -> None:
    """The HF banner (2 epochs, 170 steps) and a first log at epoch 0.12: logged every 10 steps."""
    path = WILD / "tsa_llamafactory_dpo_qwen7b_sql_runaway" / "console.log"
    reader = ConsoleLogReader(str(path))
    result = reader.read()
    epoch_at = dict(
        zip(result.chunks["epoch"].steps.tolist(), result.chunks["epoch"].values.tolist(), strict=True)
    )
    steps = result.chunks["loss"].steps.tolist()
    # Logged every 10 steps; the paste lacks the log of step 120 (epoch 1.41): a gap, not a shift.
    assert steps == [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 130, 140, 150, 160, 170]
    # each step agrees with its own epoch (170 steps over 2 epochs = 85 per epoch, epoch printed to 0.01)
    assert all(abs(s - epoch_at[s] * 85) <= 0.005 * 85 + 0.5 for s in steps)
    assert result.max_steps == 170
    assert not reader.steps_guessed


@pytest.mark.parametrize(
    ("banner", "first", "want", "guessed"),
    [
        (["  Num Epochs = 3", "  Total optimization steps = 1,500"], 0.1, [50, 100, 150], False),
        # 10000 steps in one epoch: epoch 0.01 is 100 +- 50 steps, too coarse to read a scale off
        (["  Num Epochs = 1", "  Total optimization steps = 10,000"], 0.01, [1, 2, 3], True),
        (["  Total optimization steps = 300"], 0.1, [1, 2, 3], True),  # no epochs: no scale
    ],
)
def test_banner_scale_only_when_the_epoch_pins_it(
    banner: list[str], first: float, want: list[int], guessed: bool
) -> None:
    parser = ConsoleParser("x.log")
    builder = ChunkBuilder()
    lines = [f"[INFO|trainer.py:2527] 2025-12-30 19:57:56,487 >> {b}" for b in banner]
    lines += [f"{{'loss': {0.7 - i / 100}, 'epoch': {round(first * (i + 1), 2)}}}" for i in range(3)]
    for i, line in enumerate(lines):
        parser.feed(i, line, float("nan"), builder)
    assert builder.build()["loss"].steps.tolist() == want
    assert parser.steps_guessed is guessed


def test_mlx_grpo_report_lines_keep_their_reward_fields() -> None:
    """MLX-LM-LoRA's GRPO trainer: total/grouped rewards, KL and each reward function's mean/std."""
    data = _feed(
        (WILD / "_holdout" / "ho_x_mlx_grpo_all_zero_rewards" / "console.log")
        .read_text(encoding="utf-8")
        .splitlines()
    )
    assert data["reward"] == [(1, 0.0)]
    assert data["reward_std"] == [(1, 0.0)]  # the groups' std: what TRL logs as reward_std
    assert data["kl"] == [(1, 0.0)]
    assert data["eval_rewards/r1_int_reward_func/mean"] == [(1, 0.0)]
    assert data["rewards/r1_accuracy_reward_func/std"] == [(1, 0.0)]
    assert "rewards/total/std" not in data  # the batch std is not a reward component
    parser = ConsoleParser("x.log")
    parser.feed(0, "Iter 1: Train loss 0.5, Total rewards mean 0.2, KL 0.01", float("nan"), ChunkBuilder())
    assert parser.framework_hint == "mlx"
