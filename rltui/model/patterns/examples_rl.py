"""Firing examples and near misses of the online RL (GRPO/RLOO/PPO), KL and PPO rules (see ``examples``).

Trend rules read a 50-point window (L), so their onset is where the pattern fills enough of it to
read as a trend, not the first bent point: a reward that peaks at step 30 reads as falling from
about step 40. Each near miss sits just inside the healthy side of the threshold it tests.
"""

from __future__ import annotations

import numpy as np

from rltui.model.patterns.example_recipes import GRPO_CFG, Case, N, Series, grpo, noise, ppo, ramp

_I = np.arange(N)
_IS = "sampling/importance_sampling_ratio/"
_FORMAT_STD, _FORMAT_MEAN = "rewards/format_reward/std", "rewards/format_reward/mean"
_LEN, _TERM_LEN = "completions/mean_length", "completions/mean_terminated_length"


def _peak_then(top: float, low: float, peak: int = 30) -> np.ndarray:
    """A reward that climbs from 0.5 to ``top`` by ``peak``, then drifts to ``low``."""
    r = ramp(0.5, top, 5, sd=0.02, seed=9, end=peak)
    r[peak:] = np.linspace(top, low, N - peak) + noise(0.0, 0.02, n=N - peak, seed=29)
    return r


def _rlhf(kl: np.ndarray) -> Series:
    """TRL PPO: scores saturate at step 30; rlhf_reward = scores - kl_coef (0.05) x KL."""
    scores = ramp(0.0, 1.0, 5, sd=0.05, seed=0, end=30)
    nsr = -0.05 * kl
    return ppo(
        **{
            "objective/scores": scores,
            "objective/kl": kl,
            "objective/non_score_reward": nsr,
            "objective/rlhf_reward": scores + nsr,
        }
    )


def _kl_levelling(plateau: float, final: float) -> np.ndarray:
    """Sequence KL rising to ``plateau`` by step 40, then creeping to ``final``."""
    kl = ramp(0.0, plateau, 5, sd=0.1, seed=1, end=40)
    kl[40:] = np.linspace(plateau, final, N - 40) + noise(0.0, 0.1, n=N - 40, seed=30)
    return kl


def _over_optimised(kl: np.ndarray) -> Series:
    """TRL PPO: scores climbing all run, objective/entropy (sequence NLL) falling from step 30."""
    return ppo(
        **{
            "objective/scores": ramp(0.0, 1.5, 5, sd=0.05, seed=0),
            "objective/kl": kl,
            "objective/entropy": ramp(40.0, 25.0, 30, sd=0.5, seed=31),
        }
    )


def _hacked(top_length: float) -> Series:
    """GRPO: the reward accelerates from step 40 while completions grow to ``top_length`` by 80."""
    reward = 0.5 + 1.5 * np.clip((_I - 40) / 60, 0, 1) ** 2 + noise(0.0, 0.02, seed=9)
    length = ramp(10.0, top_length, 40, sd=0.3, seed=14, end=80)
    return grpo(reward=reward, **{_LEN: length, _TERM_LEN: length})


def _unstable(swing: float) -> Series:
    """GRPO with a reward model: the mean reward (about 0.3) starts swinging by ``swing`` at step 60."""
    reward = 0.3 + noise(0.0, 0.02, seed=9) + np.where(_I >= 60, noise(0.0, swing, seed=23), 0.0)
    return grpo(reward=reward)


def _is_drift(mean: float, low: float, high: float, logp_diff: float) -> Series:
    """GRPO with vLLM: IS ratio mean/min/max and the sampling log-prob gap move over steps 50-60."""
    return grpo(
        **{
            _IS + "mean": ramp(1.0, mean, 50, sd=0.005, seed=24, end=60),
            _IS + "min": ramp(0.8, low, 50, sd=0.02, seed=25, end=60),
            _IS + "max": ramp(1.3, high, 50, sd=0.05, seed=26, end=60),
            "sampling/sampling_logp_difference/mean": np.abs(
                ramp(0.01, logp_diff, 50, sd=0.001, seed=27, end=60)
            ),
        }
    )


def _kl_scatter(spread: float) -> np.ndarray:
    """Token KL steady at 0.05, then log-normal around 0.05 with log-sd ``spread`` from step 50."""
    return np.where(_I < 50, noise(0.05, 0.005, seed=12), 0.05 * np.exp(spread * noise(0.0, 1.0, seed=28)))


CASES: list[Case] = [
    (
        "rlhf_reward_falling",
        "ppo",
        # Scores saturate at 30 while the KL penalty keeps growing (KL 0 -> 20 nats).
        lambda: _rlhf(ramp(0.0, 20.0, 5, sd=0.1, seed=1)),
        {},
        "warn",
        45,
        # KL levels off at 4-6 nats: rlhf_reward eases by 0.1 over 60 points, inside its noise.
        lambda: _rlhf(_kl_levelling(4.0, 6.0)),
    ),
    (
        "pattern_collapse",
        "ppo",
        # KL (sequence) accelerating to 34 nats with climbing scores and falling NLL: below KL-01's 50.
        lambda: _over_optimised(
            (1.0 + 0.04 * _I + 30.0 * np.clip((_I - 30) / 70, 0, 1) ** 2) * (1 + noise(0.0, 0.03, seed=1))
        ),
        {},
        "warn",
        30,
        # Same scores and NLL, KL rising but levelling off at 9 nats: not a runaway.
        lambda: _over_optimised((1.0 + 8.0 * (1 - np.exp(-_I / 35))) * (1 + noise(0.0, 0.03, seed=1))),
    ),
    (
        "reward_std_collapse",
        "grpo",
        # Within 10 steps the reward saturates and its std falls from 0.4 to 0.01.
        lambda: grpo(
            reward=np.clip(ramp(0.5, 1.0, 5, sd=0.02, seed=9, end=55), 0, 1),
            reward_std=ramp(0.4, 0.01, 45, end=55) * (1 + noise(0.0, 0.05, seed=10)),
        ),
        GRPO_CFG,
        "warn",
        45,
        # The std eases to 0.22 as the policy improves: above half its baseline, and slow enough
        # for the drop test (rz -4; easing to 0.18 over the same steps trips it).
        lambda: grpo(reward_std=ramp(0.4, 0.22, 40, sd=0.01, seed=10)),
    ),
    (
        "reward_component_dead",
        "grpo",
        # The format reward saturates at step 50: every completion scores 1, std exactly 0.
        lambda: grpo(
            **{
                _FORMAT_STD: np.where(_I < 50, noise(0.3, 0.03, seed=21), 0.0),
                _FORMAT_MEAN: np.where(_I < 50, noise(0.6, 0.03, seed=22), 1.0),
            }
        ),
        GRPO_CFG,
        "info",
        50,
        # Nearly saturated (98%) but still separating a few completions: std about 0.02.
        lambda: grpo(
            **{
                _FORMAT_STD: np.where(
                    _I < 50, noise(0.3, 0.03, seed=21), np.abs(noise(0.02, 0.004, seed=21))
                ),
                _FORMAT_MEAN: np.where(_I < 50, noise(0.6, 0.03, seed=22), 0.98),
            }
        ),
    ),
    (
        "entropy_spike",
        "grpo",
        # Entropy jumps by half at step 60 (sd 0.02): the policy reverts.
        lambda: grpo(entropy=noise(1.0, 0.02, seed=13) + np.where(_I >= 60, 0.5, 0.0)),
        GRPO_CFG,
        "warn",
        60,
        # A shift of 0.08 (about 4 sigma), e.g. a data-mix change: rz peaks near 5 but does not hold.
        lambda: grpo(entropy=noise(1.0, 0.02, seed=13) + np.where(_I >= 60, 0.08, 0.0)),
    ),
    (
        "entropy_flat",
        "grpo",
        # Reward stuck at 0.5 and entropy unmoved: nothing is being learned.
        lambda: grpo(reward=noise(0.5, 0.02, seed=9)),
        GRPO_CFG,
        "info",
        29,  # the rule waits for 30 points
        # Entropy as flat, but the reward creeps up from 0.5 to 0.65: slow learning, not none.
        lambda: grpo(reward=ramp(0.5, 0.65, 5, sd=0.02, seed=9)),
    ),
    (
        "reward_hacking",
        "grpo",
        # The reward accelerates while completions grow to 2.4x: length hacking.
        lambda: _hacked(24.0),
        GRPO_CFG,
        "warn",
        40,
        # The same reward with completions growing 1.25x (reasoning gets a little longer): under 1.3x.
        lambda: _hacked(12.5),
    ),
    (
        "reward_unstable",
        "grpo",
        # From step 60 the mean reward swings by 0.5 around 0.3: sigma/median well above 1.
        lambda: _unstable(0.5),
        GRPO_CFG,
        "info",
        60,
        # Swings of 0.15: noisy, but sigma/median peaks at 0.8.
        lambda: _unstable(0.15),
    ),
    (
        "train_inference_mismatch",
        "grpo",
        # After a weight-sync fault vLLM and the trainer disagree: IS mean 0.8, min 0.2, max 5.
        lambda: _is_drift(0.8, 0.2, 5.0, 0.2),
        {**GRPO_CFG, "use_vllm": True},
        "warn",
        50,
        # A small, steady gap: IS mean 0.93, min 0.6, max 2.5, log-prob difference unchanged.
        lambda: _is_drift(0.93, 0.6, 2.5, 0.01),
    ),
    (
        "kl_runaway",
        "grpo",
        # Token KL steady near 0.1, then growing exponentially (x e every 10 steps) from step 50.
        lambda: grpo(
            kl=(0.1 + 0.0005 * _I + 0.1 * (np.exp(np.clip(_I - 50, 0, None) / 10) - 1))
            * (1 + noise(0.0, 0.05, seed=12))
        ),
        GRPO_CFG,
        "warn",
        50,
        # KL rising to 0.45 but levelling off (beta holding it): above the 0.3 floor, not accelerating.
        lambda: grpo(kl=0.45 * (1 - np.exp(-_I / 25)) * (1 + noise(0.0, 0.05, seed=12))),
    ),
    (
        "kl_frozen",
        "grpo",
        # beta too high: KL stays at 3e-4 and the reward never moves.
        lambda: grpo(kl=np.abs(noise(3e-4, 1e-4, seed=12)), reward=noise(0.5, 0.02, seed=9)),
        GRPO_CFG,
        "info",
        19,  # the rule waits for 20% of the run
        # KL still under 1e-3 at 20% of the run, but the reward is climbing: a slow, healthy start.
        lambda: grpo(kl=np.abs(ramp(0.0002, 0.005, 5, sd=0.0002, seed=12))),
    ),
    (
        "kl_noisy",
        "grpo",
        # From step 50 the token KL scatters log-normally (log-sd 1.5) around 0.05.
        lambda: grpo(kl=_kl_scatter(1.5)),
        GRPO_CFG,
        "info",
        50,
        # Log-sd 0.8: KL halves and doubles between steps, but sigma/median stays near 0.84.
        lambda: grpo(kl=_kl_scatter(0.8)),
    ),
    (
        "kl_reward_opposed",
        "grpo",
        # KL keeps rising (base run) while the reward, after peaking at 0.7 at step 30, falls to 0.3.
        lambda: grpo(reward=_peak_then(0.7, 0.3)),
        GRPO_CFG,
        "info",
        40,
        # The reward plateaus after its peak, easing from 0.7 to 0.62: flat over L, not falling.
        lambda: grpo(reward=_peak_then(0.7, 0.62)),
    ),
]
