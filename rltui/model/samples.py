"""What the completions themselves say: per-step statistics, a book of steps, evidence picks.

Trainers log scalar summaries of what they generated (mean length, clipped ratio, reward std);
the samples are the primary data. This module turns them into numbers that are (a) a second
witness for the rules where the scalar logs are missing (stored as ``samples/...`` series, which
the alias table lists after every logged spelling) and (b) things no trainer logs: the length
spread *within* a prompt group, repeated n-grams, distinct-n across the step, empty completions.
Pure stdlib + numpy, no I/O: readers in ``rltui.sources`` hand over :class:`~rltui.records.Sample`.

Lengths are in characters: TRL's parquet holds decoded text without token counts, and a character
count needs no tokenizer. The rules that see these series compare them with their own baseline
(ratios), so the unit does not matter to them.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from rltui.records import PointChunk, Sample

#: Two rewards closer than this count as equal (TRL counts zero-std groups with ``isclose``).
ZERO_STD = 1e-6
#: The n of the within-completion repetition measure (a word 3-gram seen before in the same text).
REPEAT_N = 3
#: How a completion may end when it stopped on its own: sentence ends, closing brackets and
#: quotes, a code fence, or an end-of-sequence token that was kept in the text.
_CLEAN_END = re.compile(
    r"""(?:[.!?。！？…:;)\]}"'`»」』>*]|</s>|<\|im_end\|>|<\|endoftext\|>|<\|eot_id\|>|<eos>|<\|end\|>)\s*\Z"""
)
_WORDS = re.compile(r"\S+")

#: Series names the statistics are stored under (one point per sample step).
SERIES = (
    "samples/count",
    "samples/length/mean",
    "samples/length/min",
    "samples/length/max",
    "samples/length/std",
    "samples/length/group_spread",
    "samples/no_eos_share",
    "samples/empty_share",
    "samples/repeated_ngram_share",
    "samples/distinct_1",
    "samples/distinct_2",
    "samples/reward/mean",
    "samples/reward/std",
    "samples/group_reward_std",
    "samples/frac_reward_zero_std",
)


def ends_open(sample: Sample) -> bool:
    """True when the completion did not end on its own: what the source says, else a guess.

    The guess (no sentence end, closing bracket or kept EOS token at the end) is what a reader
    would judge from the text; it is only used where the trainer logs no clipped ratio.
    """
    if sample.truncated is not None:
        return sample.truncated
    text = sample.completion.strip()
    return bool(text) and _CLEAN_END.search(text) is None


def words(text: str) -> list[str]:
    return _WORDS.findall(text)


def repeated_share(text: str, n: int = REPEAT_N) -> float:
    """Share of the word n-grams of ``text`` that already occurred earlier in it (0 when short)."""
    toks = words(text)
    grams = [tuple(toks[i : i + n]) for i in range(len(toks) - n + 1)]
    if not grams:
        return 0.0
    return 1.0 - len(set(grams)) / len(grams)


def distinct_n(texts: Iterable[str], n: int) -> float:
    """Distinct word n-grams over all n-grams of the texts (Li et al. 2016); NaN without any."""
    total = 0
    seen: set[tuple[str, ...]] = set()
    for text in texts:
        toks = words(text)
        for i in range(len(toks) - n + 1):
            seen.add(tuple(toks[i : i + n]))
            total += 1
    return len(seen) / total if total else math.nan


def groups(samples: Sequence[Sample]) -> list[list[Sample]]:
    """Completions of the same prompt, in first-seen order (a GRPO/RLOO group)."""
    out: dict[str, list[Sample]] = {}
    for s in samples:
        out.setdefault(s.prompt, []).append(s)
    return list(out.values())


def _rewards(samples: Sequence[Sample]) -> np.ndarray:
    return np.array([s.reward for s in samples if s.reward is not None and math.isfinite(s.reward)], float)


def is_zero_std(group: Sequence[Sample]) -> bool:
    r = _rewards(group)
    return len(group) >= 2 and len(r) == len(group) and float(np.std(r)) < ZERO_STD


@dataclass(frozen=True, slots=True)
class StepStats:
    """The statistics of one step's samples (NaN where there is nothing to measure)."""

    step: int
    values: Mapping[str, float]


def step_stats(step: int, samples: Sequence[Sample]) -> StepStats:
    """Every :data:`SERIES` value for one step."""
    nan = math.nan
    n = len(samples)
    lengths = np.array([len(s.completion) for s in samples], dtype=np.float64)
    grouped = groups(samples)
    spreads = [
        max(len(s.completion) for s in g) - min(len(s.completion) for s in g) for g in grouped if len(g) > 1
    ]
    rewards = _rewards(samples)
    group_std = [float(np.std(_rewards(g))) for g in grouped if len(g) > 1 and len(_rewards(g)) == len(g)]
    scored = [g for g in grouped if len(g) > 1 and len(_rewards(g)) == len(g)]
    texts = [s.completion for s in samples]
    values = {
        "samples/count": float(n),
        "samples/length/mean": float(lengths.mean()) if n else nan,
        "samples/length/min": float(lengths.min()) if n else nan,
        "samples/length/max": float(lengths.max()) if n else nan,
        "samples/length/std": float(lengths.std()) if n else nan,
        "samples/length/group_spread": float(np.mean(spreads)) if spreads else nan,
        "samples/no_eos_share": sum(ends_open(s) for s in samples) / n if n else nan,
        "samples/empty_share": sum(not s.completion.strip() for s in samples) / n if n else nan,
        "samples/repeated_ngram_share": float(np.mean([repeated_share(t) for t in texts])) if n else nan,
        "samples/distinct_1": distinct_n(texts, 1),
        "samples/distinct_2": distinct_n(texts, 2),
        "samples/reward/mean": float(rewards.mean()) if len(rewards) else nan,
        "samples/reward/std": float(rewards.std()) if len(rewards) else nan,
        "samples/group_reward_std": float(np.mean(group_std)) if group_std else nan,
        "samples/frac_reward_zero_std": (sum(is_zero_std(g) for g in scored) / len(scored))
        if scored
        else nan,
    }
    return StepStats(step, values)


def stats_chunks(stats: Iterable[StepStats]) -> dict[str, PointChunk]:
    """The statistics as store chunks, one point per step (wall time unknown: NaN)."""
    rows = sorted(stats, key=lambda s: s.step)
    steps = np.array([r.step for r in rows], dtype=np.int64)
    walls = np.full(len(rows), np.nan)
    out: dict[str, PointChunk] = {}
    for name in SERIES:
        vals = np.array([r.values.get(name, math.nan) for r in rows], dtype=np.float64)
        keep = ~np.isnan(vals)  # an unmeasurable step is no point, not a NaN alarm
        if keep.any():
            out[name] = PointChunk(steps[keep], walls[keep], vals[keep])
    return out


class SampleBook:
    """The samples read so far, by step. Steps may arrive in any order (newest first is usual)."""

    __slots__ = ("_by_step", "_stats", "_steps")

    def __init__(self) -> None:
        self._by_step: dict[int, tuple[Sample, ...]] = {}
        self._stats: dict[int, StepStats] = {}
        self._steps: list[int] = []

    def put(self, step: int, samples: Sequence[Sample]) -> None:
        """Set (or replace) the samples of ``step``; an empty sequence is a step with none."""
        if step not in self._by_step:
            bisect.insort(self._steps, step)
        self._by_step[step] = tuple(samples)
        self._stats.pop(step, None)

    def steps(self) -> list[int]:
        return list(self._steps)

    @property
    def completions(self) -> int:
        return sum(len(v) for v in self._by_step.values())

    def __contains__(self, step: object) -> bool:
        return step in self._by_step

    def __len__(self) -> int:
        return len(self._steps)

    def get(self, step: int) -> tuple[Sample, ...]:
        return self._by_step.get(step, ())

    def nearest(self, step: int | None) -> int | None:
        """The newest sample step at or before ``step`` (None: the newest), else the first after."""
        if not self._steps:
            return None
        if step is None:
            return self._steps[-1]
        i = bisect.bisect_right(self._steps, step)
        return self._steps[i - 1] if i else self._steps[0]

    def stats(self, step: int) -> StepStats:
        cached = self._stats.get(step)
        if cached is None:
            cached = self._stats[step] = step_stats(step, self.get(step))
        return cached

    def all_stats(self) -> list[StepStats]:
        return [self.stats(s) for s in self._steps]


# -- evidence ---------------------------------------------------------------------------------

#: How each alert's evidence is chosen from the samples of its raised step.
EVIDENCE_RULE: dict[str, str] = {
    "truncation": "truncated",
    "length_growth": "longest",
    "length_collapse": "shortest",
    "diversity_collapse": "repeated",
    "pattern_collapse": "repeated",
    "entropy_collapse": "repeated",
    "zero_signal_groups": "zero_std_group",
    "reward_std_collapse": "zero_std_group",
    "reward_hacking": "highest_reward",
    "rlhf_reward_falling": "lowest_reward",
}


def _duplicates(samples: Sequence[Sample]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for s in samples:
        key = s.completion.strip()
        counts[key] = counts.get(key, 0) + 1
    return counts


def pick_evidence(alert_id: str, samples: Sequence[Sample], k: int = 3) -> list[Sample]:
    """Up to ``k`` samples that show what ``alert_id`` is about ([] when the rule has none)."""
    how = EVIDENCE_RULE.get(alert_id)
    if how is None or not samples:
        return []
    items = list(samples)
    if how == "truncated":
        cut = [s for s in items if ends_open(s)]
        return sorted(cut, key=lambda s: -len(s.completion))[:k]
    if how == "longest":
        return sorted(items, key=lambda s: -len(s.completion))[:k]
    if how == "shortest":
        return sorted(items, key=lambda s: len(s.completion))[:k]
    if how == "repeated":
        dup = _duplicates(items)
        return sorted(items, key=lambda s: (-dup[s.completion.strip()], -repeated_share(s.completion)))[:k]
    if how == "zero_std_group":
        for g in groups(items):
            if is_zero_std(g):
                return g[:k]
        return []
    scored = [s for s in items if s.reward is not None and math.isfinite(s.reward)]
    sign = -1.0 if how == "highest_reward" else 1.0
    return sorted(scored, key=lambda s: sign * float(s.reward or 0.0))[:k]


def sort_samples(samples: Sequence[Sample], key: str) -> list[Sample]:
    """Order for the samples screen: ``reward`` (highest first), ``length`` (longest), else as logged."""
    if key == "reward":
        return sorted(
            samples,
            key=lambda s: -(s.reward if s.reward is not None and math.isfinite(s.reward) else -math.inf),
        )
    if key == "length":
        return sorted(samples, key=lambda s: -len(s.completion))
    return list(samples)


def matches(sample: Sample, needle: str) -> bool:
    """Case-insensitive text filter over prompt and completion."""
    n = needle.casefold()
    return n in sample.prompt.casefold() or n in sample.completion.casefold()


def same_prompt(
    prompt: str,
    near: int | None,
    steps: Sequence[int],
    read: Callable[[int], Sequence[Sample]],
    max_reads: int = 16,
) -> tuple[int | None, list[Sample]]:
    """Another run's completions of ``prompt``: at the sample step nearest ``near`` that has it.

    Runs of a sweep usually see the same prompts at the same steps (same data order and seed),
    so the step nearest the one being read is tried first, then its neighbours, reading at most
    ``max_reads`` steps (each read may load a file). Prompts match on their text with outer
    whitespace ignored. (None, []) when no step tried has the prompt.
    """
    want = prompt.strip()
    if not want or not steps:
        return None, []
    centre = near if near is not None else steps[-1]
    order = sorted(steps, key=lambda s: (abs(s - centre), -s))
    for step in order[:max_reads]:
        found = [s for s in read(step) if s.prompt.strip() == want]
        if found:
            return step, found
    return None, []
