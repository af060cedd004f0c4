"""Which framework and trainer wrote a run (metrics.md §1).

Why it matters: the same key means different things in different trainers (``kl`` is a per-token
k3 estimate in GRPO and absent from DPO; ``reward`` is a GRPO group mean but an OpenRLHF sample
score), so instruments and rules must know the trainer. The evidence is checked most reliable
first, and detection is re-run as evidence arrives (the model card only exists after the first
checkpoint save; the ``args`` text summary arrives with the first bytes of the event file):

1. TRL's model card ``output_dir/README.md``: front-matter ``tags`` and "This model was trained
   with X";
2. the ``args/text_summary`` JSON (the TRL config's fields tell GRPO from RLOO from DPO ...);
3. the metric names themselves (the signature table of metrics.md §1).

Everything here is a pure function of text and names, so it is tested without files.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from rltui.records import Framework, Trainer
from rltui.sources.fs import LOCAL, FileSystem, read_head

#: TRL ``_tag_names`` -> our trainer ids (variants map to the trainer whose metrics they log).
CARD_TAGS: dict[str, Trainer] = {
    "sft": "sft",
    "dpo": "dpo",
    "kto": "kto",
    "orpo": "orpo",
    "cpo": "cpo",
    "online-dpo": "online_dpo",
    "nash-md": "online_dpo",
    "xpo": "online_dpo",
    "reward-trainer": "reward",
    "ppo": "ppo",
    "rloo": "rloo",
    "grpo": "grpo",
    "async-grpo": "grpo",
}
#: Model-card tags of the frameworks that wrap TRL or the HF Trainer.
CARD_FRAMEWORKS: dict[str, Framework] = {
    "llama-factory": "llamafactory",
    "llamafactory": "llamafactory",
    "swift": "swift",
    "ms-swift": "swift",
    "unsloth": "unsloth",
    "mlx": "mlx",
}
#: TRL ``_name`` as written in "This model was trained with <name>".
CARD_NAMES: dict[str, Trainer] = {
    "sft": "sft",
    "dpo": "dpo",
    "kto": "kto",
    "orpo": "orpo",
    "cpo": "cpo",
    "online dpo": "online_dpo",
    "nash-md": "online_dpo",
    "xpo": "online_dpo",
    "reward": "reward",
    "ppo": "ppo",
    "rloo": "rloo",
    "grpo": "grpo",
}
_TRAINED_WITH = re.compile(
    r"This model was trained with ([A-Za-z][A-Za-z0-9\- ]{0,30}?)(?:,|\.|\s+a method|\s*$)", re.M
)
_VERSION = re.compile(r"^\s*-\s*(TRL|Transformers):\s*([0-9][\w.+-]*)\s*$", re.M | re.I)
#: How much of a model card is read: the front matter and the "trained with" line are near the top.
CARD_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class CardInfo:
    tags: tuple[str, ...] = ()
    trained_with: str | None = None
    trl_version: str | None = None
    transformers_version: str | None = None


@dataclass(frozen=True, slots=True)
class Detection:
    framework: Framework = "unknown"
    trainer: Trainer = "unknown"
    #: What decided the trainer, for ``check`` and debugging ("model card tag 'dpo'").
    evidence: str = ""
    versions: dict[str, str] = field(default_factory=dict)


# -- 1. the model card ------------------------------------------------------------------------


def parse_model_card(text: str) -> CardInfo:
    """Tags from the YAML front matter (block or flow list), the "trained with" name, versions.

    A tiny line parser instead of a YAML library: the card is TRL's own template, and nothing read
    from a run is ever evaluated.
    """
    tags: list[str] = []
    lines = text.splitlines()
    if lines and lines[0].strip() == "---":
        in_tags = False
        for line in lines[1:200]:
            s = line.strip()
            if s == "---":
                break
            if in_tags:
                if s.startswith("- "):
                    tags.append(s[2:].strip().strip("'\""))
                    continue
                if not s:
                    continue
                in_tags = False
            if s.startswith("tags:"):
                rest = s[len("tags:") :].strip()
                if rest.startswith("[") and rest.endswith("]"):
                    tags.extend(t.strip().strip("'\"") for t in rest[1:-1].split(",") if t.strip())
                elif not rest:
                    in_tags = True
    m = _TRAINED_WITH.search(text)
    versions = {k.lower(): v for k, v in _VERSION.findall(text)}
    return CardInfo(
        tags=tuple(t.lower() for t in tags if t),
        trained_with=m.group(1).strip() if m else None,
        trl_version=versions.get("trl"),
        transformers_version=versions.get("transformers"),
    )


def trainer_from_card(card: CardInfo) -> Trainer | None:
    for tag in card.tags:
        if tag in CARD_TAGS:
            return CARD_TAGS[tag]
    if card.trained_with:
        return CARD_NAMES.get(card.trained_with.lower())
    return None


def read_model_card(path: str, fs: FileSystem = LOCAL) -> str | None:
    """The first :data:`CARD_BYTES` of the card, through the seam (a FIFO there is refused)."""
    head = read_head(fs, path, CARD_BYTES)
    return None if head is None else head.decode("utf-8", errors="replace")


# -- 2. the config (args/text_summary) --------------------------------------------------------


def parse_config(text: str) -> dict[str, object] | None:
    """The TrainingArguments JSON of ``args/text_summary`` (json.loads only), or None."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def trainer_from_config(config: Mapping[str, object]) -> Trainer | None:
    """Tell the TRL config class apart by the fields only it has (metrics.md §1 point 2)."""
    has = config.__contains__
    if has("cliprange") and has("vf_coef"):
        return "ppo"
    if has("rloo_k"):
        return "rloo"  # RLOO <= 0.21 (PPO-style loop)
    if has("num_generations"):
        grpo_only = (
            "scale_rewards",
            "importance_sampling_level",
            "multi_objective_aggregation",
            "vllm_importance_sampling_correction",
        )
        rloo_only = ("normalize_advantages", "reward_clip_range")
        if any(has(k) for k in rloo_only) and not any(has(k) for k in grpo_only):
            return "rloo"
        return "grpo"
    if has("mixture_coef") or (has("missing_eos_penalty") and has("beta")):
        return "online_dpo"
    if has("desirable_weight") or has("undesirable_weight"):
        return "kto"
    if has("cpo_alpha") or has("simpo_gamma"):
        return "cpo"
    if has("center_rewards_coefficient"):
        return "reward"
    if any(has(k) for k in ("f_divergence_type", "precompute_ref_log_probs", "ld_alpha", "rpo_alpha")):
        return "dpo"
    if has("beta") and not has("loss_type"):
        return "orpo"
    if any(has(k) for k in ("packing", "completion_only_loss", "dataset_text_field", "assistant_only_loss")):
        return "sft"
    return None


def _looks_like_hf_args(config: Mapping[str, object]) -> bool:
    return "output_dir" in config and ("logging_steps" in config or "learning_rate" in config)


# -- 3. key signatures ------------------------------------------------------------------------


def _base_names(keys: Collection[str]) -> set[str]:
    """Train and eval spellings together: an eval-only prefix must not hide a signature."""
    out = set(keys)
    out.update(k[len("eval_") :] for k in keys if k.startswith("eval_"))
    return out


#: Keys every HF-Trainer-style fine-tune logs; a run with nothing else is supervised.
SUPERVISED_KEYS = frozenset(
    {
        "loss",
        "grad_norm",
        "learning_rate",
        "epoch",
        "mean_token_accuracy",
        "num_tokens",
        "entropy",
        "acc",
        "token_acc",
        "train_speed(iter/s)",
        "memory(GiB)",
        "throughput",
        "total_tokens",
        "num_input_tokens_seen",
        "it_per_sec",
        "tokens_per_second",
        "peak_mem_gb",
        "runtime",
        "samples_per_second",
        "steps_per_second",
        "train_runtime",
        "train_loss",
        "train_samples_per_second",
        "train_steps_per_second",
        "total_flos",
        "aux_loss",
        "lr",
    }
)


#: Key prefixes and keys that only preference or RL trainers log.
_NOT_SUPERVISED = (
    "rewards/",
    "reward",
    "logps/",
    "logits/",
    "kl",
    "objective/",
    "policy/",
    "actor/",
    "critic/",
    "completions/",
    "response_length",
    "advantages",
    "clip_ratio",
    "odds_ratio",
    "log_odds",
    "margin",
)
_NOT_SUPERVISED_KEYS = frozenset({"accuracy", "policy_loss", "value_loss", "frac_reward_zero_std"})


def _framework_of_keys(k: set[str]) -> Framework:
    """Frameworks that wrap the HF Trainer, told by the keys only they add."""
    if "memory(GiB)" in k or "train_speed(iter/s)" in k:
        return "swift"
    if "it_per_sec" in k or "peak_mem_gb" in k:
        return "mlx"
    return "unknown"


def from_keys(keys: Collection[str]) -> tuple[Framework, Trainer]:
    """Framework and trainer from metric names alone (canonical names, metrics.md §1 table)."""
    fw, trainer = _from_keys(_base_names(keys))
    wrapper = _framework_of_keys(_base_names(keys))
    if wrapper != "unknown" and fw in ("trl", "unknown"):
        fw = wrapper
    return fw, trainer


def _from_keys(k: set[str]) -> tuple[Framework, Trainer]:
    if any(n.startswith(("actor/", "critic/score/", "response_length/", "timing_s/")) for n in k):
        trainer: Trainer = "ppo" if ("critic/vf_loss" in k or "critic/values/mean" in k) else "grpo"
        return "verl", trainer
    if "policy_loss" in k and ("ppo_clip_ratio" in k or "ppo_kl" in k or "timing/make_experience" in k):
        return "openrlhf", ("ppo" if "critic_loss" in k else "grpo")
    if "completions/mean_length" in k or ("reward" in k and "reward_std" in k) or "frac_reward_zero_std" in k:
        return "trl", "grpo"
    if "objective/kl" in k and "rewards/chosen" in k:
        return "trl", "online_dpo"
    if "objective/kl" in k and ("policy/approxkl_avg" in k or "val/ratio" in k or "episode" in k):
        return "trl", ("ppo" if "loss/value_avg" in k else "rloo")
    if "odds_ratio_loss" in k:
        return "unknown", "orpo"  # LLaMA-Factory's ORPO: odds_ratio_loss + sft_loss
    if "log_odds_ratio" in k or "log_odds_chosen" in k:
        return "trl", "orpo"
    if "rewards/chosen_sum" in k or "count/chosen" in k:
        return "trl", "kto"
    if "rewards/chosen" in k and "kl" in k and "rewards/accuracies" not in k:
        return "trl", "kto"  # KTO logs its KL estimate and no pair accuracy (it has no pairs)
    if "rewards/chosen" in k and "rewards/accuracies" in k:
        if "nll_loss" in k:
            return "trl", "cpo"
        return "trl", "dpo"
    if "rewards/chosen" in k and "rewards/margins" in k:
        return "trl", "dpo"
    if "accuracy" in k and "margin" in k and ("mean_reward" in k or "min_reward" in k):
        return "trl", "reward"
    if "mean_token_accuracy" in k and "num_tokens" in k and not any(n.startswith("rewards/") for n in k):
        return "trl", "sft"
    if "loss" in k and not any(n.startswith(_NOT_SUPERVISED) or n in _NOT_SUPERVISED_KEYS for n in k):
        return "unknown", "sft"  # a supervised loss and nothing of RL or preferences: a fine-tune
    return "unknown", "unknown"


# -- all together ----------------------------------------------------------------------------

#: Trainer names a console may announce, lower case.
TRAINER_HINTS: dict[str, Trainer] = {
    "sft": "sft",
    "dpo": "dpo",
    "orpo": "orpo",
    "kto": "kto",
    "cpo": "cpo",
    "grpo": "grpo",
    "ppo": "ppo",
    "rloo": "rloo",
}


def _starts_at_reference(first: Mapping[str, float]) -> bool:
    """Implicit rewards that are log-ratios to a reference (DPO), not β·log-probs (CPO).

    CPO's rewards are β times a log-probability, so never positive; DPO's start at 0 (the policy
    is the reference) and a chosen reward above 0 is common.
    """
    chosen, rejected = first.get("rewards/chosen"), first.get("rewards/rejected")
    if chosen is not None and chosen > 0:
        return True
    return chosen is not None and rejected is not None and abs(chosen) < 0.05 and abs(rejected) < 0.05


def framework_of_files(names: Collection[str]) -> Framework:
    """A framework told by the files it writes (base names): LLaMA-Factory's ``trainer_log.jsonl``."""
    base = {n.replace("\\", "/").rsplit("/", 1)[-1] for n in names}
    if "trainer_log.jsonl" in base:
        return "llamafactory"
    if "logging.jsonl" in base:
        return "swift"
    return "unknown"


def detect(
    card_text: str | None = None,
    config: Mapping[str, object] | None = None,
    keys: Collection[str] = (),
    *,
    files: Collection[str] = (),
    hint: Framework | None = None,
    trainer_hint: str | None = None,
    first: Mapping[str, float] | None = None,
) -> Detection:
    """Combine the evidence, most reliable first; a later source fills what an earlier left open.

    ``files``: the run's source paths (a framework's own log file names it); ``hint``: a framework
    a reader saw announce itself (unsloth's banner on the console); ``trainer_hint``: a trainer the
    console named ("Starting ORPO training"); ``first``: the first finite value of some metrics, which
    tells DPO with an NLL term (rewards start at 0: the policy is the reference) from CPO (rewards are
    β·log-probs, far from 0 from the start).
    """
    versions: dict[str, str] = {}
    trainer: Trainer | None = None
    framework: Framework = "unknown"
    evidence = ""
    wrapper: Framework = hint or framework_of_files(files)
    if card_text:
        card = parse_model_card(card_text)
        if card.trl_version:
            versions["trl"] = card.trl_version
        if card.transformers_version:
            versions["transformers"] = card.transformers_version
        if "trl" in card.tags or card.trl_version:
            framework = "trl"
        for tag in card.tags:
            if wrapper == "unknown" and tag in CARD_FRAMEWORKS:
                wrapper = CARD_FRAMEWORKS[tag]
        trainer = trainer_from_card(card)
        if trainer is not None:
            framework = "trl"
            evidence = "model card"
    if trainer is None and config:
        trainer = trainer_from_config(config)
        if trainer is not None:
            evidence = "config (args/text_summary)"
            if framework == "unknown" and _looks_like_hf_args(config):
                framework = "trl"
    key_fw, key_trainer = from_keys(keys) if keys else ("unknown", "unknown")
    # A console banner decides only where the keys cannot (nothing, or a bare loss read as SFT).
    # ("dpo" too: a chosen reward with an accuracy is every preference trainer's signature in MLX).
    if trainer is None and trainer_hint in TRAINER_HINTS and key_trainer in ("unknown", "sft", "dpo"):
        trainer = TRAINER_HINTS[trainer_hint]
        evidence = "console banner"
    if trainer is None and key_trainer == "cpo" and first and _starts_at_reference(first):
        key_trainer = "dpo"  # DPO with rpo_alpha logs nll_loss too
    if trainer is None and key_trainer in ("unknown", "sft") and wrapper == "llamafactory":
        # LLaMA-Factory's trainer_log.jsonl keeps only loss, lr and one signature key per stage.
        base = _base_names(keys)
        if "reward" in base:
            key_trainer = "ppo"
        elif "accuracy" in base:
            key_trainer = "dpo"
    if trainer is None and key_trainer != "unknown":
        trainer = key_trainer
        evidence = "metric names"
    if framework == "unknown":
        framework = key_fw
    if wrapper != "unknown" and framework in ("trl", "unknown"):
        framework = wrapper  # the wrapper decides how the run is configured and what it logs
    return Detection(framework=framework, trainer=trainer or "unknown", evidence=evidence, versions=versions)
