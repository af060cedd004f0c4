"""Firing examples and near misses of the universal, SFT and DPO rules (see ``examples``)."""

from __future__ import annotations

from rltui.model.patterns.example_recipes import Case

CASES: list[Case] = []
