"""Framework/trainer detection (metrics.md §1): model card, config fields, key signatures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rltui.sources.detect import detect, from_keys, parse_config, parse_model_card, trainer_from_config

RUNS = Path(__file__).resolve().parent.parent / "fixtures" / "runs"
CARD_TRAINERS = {
    "sft_healthy": "sft",
    "dpo_healthy": "dpo",
    "dpo_margin_explosion": "dpo",
    "grpo_healthy": "grpo",
    "grpo_length_hacking": "grpo",
    "dpo_healthy_tf4": "dpo",
}


@pytest.mark.parametrize(("name", "trainer"), sorted(CARD_TRAINERS.items()))
def test_real_model_cards(name: str, trainer: str) -> None:
    text = (RUNS / name / "README.md").read_text()
    card = parse_model_card(text)
    assert "trl" in card.tags
    assert card.trl_version in ("1.16.0", "0.21.0")
    d = detect(text)
    assert (d.framework, d.trainer) == ("trl", trainer)
    assert d.versions["trl"] == card.trl_version


@pytest.mark.parametrize(("name", "trainer"), sorted(CARD_TRAINERS.items()))
def test_real_configs_and_keys(name: str, trainer: str) -> None:
    """The args JSON and the metric names of each real run, read with tensorboard's reader."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from rltui.sources.names import canonical_tb_tag

    f = next((RUNS / name).rglob("events.out.tfevents.*"))
    acc = EventAccumulator(str(f), size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()
    text = acc.Tensors("args/text_summary")[0].tensor_proto.string_val[0].decode()
    config = parse_config(text)
    assert config is not None
    assert trainer_from_config(config) == trainer
    keys = {canonical_tb_tag(t) for t in acc.Tags()["scalars"]}
    assert from_keys(keys) == ("trl", trainer)
    assert detect(None, config, keys).trainer == trainer


def test_flow_list_tags_and_trained_with_sentence() -> None:
    text = "---\nlibrary_name: transformers\ntags: [generated_from_trainer, trl, online-dpo]\n---\n"
    assert detect(text).trainer == "online_dpo"
    only_sentence = "# card\nThis model was trained with RLOO, a method introduced in ...\n"
    assert detect(only_sentence).trainer == "rloo"
    assert detect("---\ntags:\n- reward-trainer\n- trl\n---\n").trainer == "reward"


def test_card_beats_config_beats_keys() -> None:
    card = "---\ntags:\n- trl\n- rloo\n---\n"
    grpo_config = {"output_dir": "x", "logging_steps": 10, "num_generations": 4, "scale_rewards": "group"}
    grpo_keys = {"completions/mean_length", "frac_reward_zero_std", "reward", "reward_std"}
    assert detect(card, grpo_config, grpo_keys).trainer == "rloo"
    rloo_config = {"output_dir": "x", "logging_steps": 10, "num_generations": 4, "normalize_advantages": True}
    assert detect(None, rloo_config, grpo_keys).trainer == "rloo"
    assert detect(None, None, grpo_keys).trainer == "grpo"
    # a card without a known trainer tag does not stop the other evidence
    assert detect("---\ntags:\n- trl\n- gkd\n---\n", None, grpo_keys).trainer == "grpo"


@pytest.mark.parametrize(
    ("config", "trainer"),
    [
        ({"cliprange": 0.2, "vf_coef": 0.1, "kl_coef": 0.05, "num_ppo_epochs": 4}, "ppo"),
        ({"desirable_weight": 1.0, "undesirable_weight": 1.0, "beta": 0.1, "loss_type": "kto"}, "kto"),
        ({"cpo_alpha": 1.0, "beta": 0.1, "loss_type": "sigmoid"}, "cpo"),
        ({"beta": 0.1, "max_length": 512}, "orpo"),
        ({"center_rewards_coefficient": 0.01}, "reward"),
        ({"beta": 0.1, "missing_eos_penalty": 1.0, "max_new_tokens": 64}, "online_dpo"),
        ({"packing": False, "dataset_text_field": "text"}, "sft"),
        ({"learning_rate": 1e-5}, None),
    ],
)
def test_config_fields(config: dict[str, object], trainer: str | None) -> None:
    assert trainer_from_config(config) == trainer


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ({"actor/pg_loss", "critic/score/mean", "response_length/mean", "timing_s/gen"}, ("verl", "grpo")),
        ({"actor/pg_loss", "critic/vf_loss", "critic/score/mean"}, ("verl", "ppo")),
        ({"policy_loss", "ppo_clip_ratio", "ppo_kl", "rollout/reward_mean"}, ("openrlhf", "grpo")),
        ({"policy_loss", "ppo_clip_ratio", "critic_loss"}, ("openrlhf", "ppo")),
        ({"objective/kl", "policy/approxkl_avg", "val/ratio", "loss/value_avg", "eps"}, ("trl", "ppo")),
        ({"objective/kl", "policy/approxkl_avg", "val/ratio", "eps"}, ("trl", "rloo")),
        ({"objective/kl", "rewards/chosen", "beta", "val/contain_eos_token"}, ("trl", "online_dpo")),
        ({"rewards/chosen", "rewards/accuracies", "nll_loss", "log_odds_ratio"}, ("trl", "orpo")),
        ({"rewards/chosen", "rewards/accuracies", "nll_loss"}, ("trl", "cpo")),
        ({"kl", "rewards/chosen", "rewards/margins", "logps/chosen"}, ("trl", "kto")),
        ({"accuracy", "margin", "min_reward", "mean_reward", "max_reward"}, ("trl", "reward")),
        ({"eval_rewards/chosen", "eval_rewards/accuracies"}, ("trl", "dpo")),
        # A supervised loss and nothing else is an HF Trainer fine-tune (the SFT rules apply).
        ({"loss", "grad_norm", "learning_rate"}, ("unknown", "sft")),
        ({"loss", "acc", "memory(GiB)", "train_speed(iter/s)", "learning_rate"}, ("swift", "sft")),
        ({"loss", "learning_rate", "it_per_sec", "peak_mem_gb", "eval_loss"}, ("mlx", "sft")),
        # KTO has a KL estimate and no pair accuracy; LLaMA-Factory's ORPO logs odds_ratio_loss.
        ({"kl", "rewards/chosen", "rewards/rejected", "logps/chosen"}, ("trl", "kto")),
        ({"rewards/chosen_sum", "rewards/rejected_sum", "count/chosen"}, ("trl", "kto")),
        (
            {"loss", "odds_ratio_loss", "sft_loss", "rewards/accuracies", "rewards/chosen"},
            ("unknown", "orpo"),
        ),
        ({"loss", "reward", "custom_thing"}, ("unknown", "unknown")),
    ],
)
def test_key_signatures(keys: set[str], expected: tuple[str, str]) -> None:
    assert from_keys(keys) == expected


def test_bad_inputs_never_raise() -> None:
    assert parse_config("not json") is None
    assert parse_config(json.dumps([1, 2])) is None
    assert parse_config("[" * 100000) is None
    assert detect("---\ntags:\n", {}, ()).trainer == "unknown"
    assert parse_model_card("").tags == ()


@pytest.mark.parametrize(
    ("files", "card", "framework"),
    [
        (["/r/trainer_log.jsonl", "/r/trainer_state.json"], None, "llamafactory"),
        (["/r/v0-2024/logging.jsonl"], None, "swift"),
        (["/r/trainer_state.json"], "---\ntags:\n- trl\n- unsloth\n- sft\n---\n", "unsloth"),
        (["/r/trainer_state.json"], "---\ntags:\n- llama-factory\n- dpo\n---\n", "llamafactory"),
        (["/r/trainer_state.json"], "---\ntags:\n- trl\n- dpo\n---\n", "trl"),
    ],
)
def test_wrapping_frameworks_from_files_and_cards(files: list[str], card: str | None, framework: str) -> None:
    assert detect(card, None, {"loss", "learning_rate"}, files=files).framework == framework


def test_a_reader_hint_names_the_framework() -> None:
    got = detect(None, None, {"loss", "grad_norm", "learning_rate"}, hint="unsloth")
    assert (got.framework, got.trainer) == ("unsloth", "sft")
