"""Thresholds and switches for the failure patterns, overridable from ``rltui.toml``.

SKELETON: owned by the patterns work. Contract: ``Config.defaults()``, ``Config.from_mapping(d)``
(raises :class:`ConfigError` naming the bad key), ``threshold(rule, name)``, ``enabled(rule)``.
Reading the file from disk lives outside ``model/`` (``rltui/settings.py``).
"""

from __future__ import annotations


class ConfigError(ValueError):
    """A bad value in ``rltui.toml``; the message names the key."""


class Config:
    def threshold(self, rule: str, name: str) -> float:
        raise NotImplementedError

    def enabled(self, rule: str) -> bool:
        raise NotImplementedError
