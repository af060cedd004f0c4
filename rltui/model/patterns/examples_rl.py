"""Firing examples and near misses of the online RL (GRPO/RLOO/PPO), KL and PPO rules (see ``examples``)."""

from __future__ import annotations

from rltui.model.patterns.example_recipes import Case

CASES: list[Case] = []
