"""Thresholds and switches for the failure patterns, overridable from ``rltui.toml``.

Why validate strictly: a typo in a threshold name (``warn_margn``) silently keeping the default is
worse than no config at all, so an unknown rule, an unknown key or a value of the wrong type is a
:class:`ConfigError` that names the key and lists what is known. Reading the file from disk lives
in ``rltui/settings.py``; this module only turns a mapping into a :class:`Config`.

Shape of the mapping (the TOML file)::

    [rules.margin_runaway]
    warn_margin = 20
    [rules.kl_level]
    enabled = false
    [trust]
    run_configs = true   # only read from the user's own file: apply rltui.toml files found in runs
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from typing import Any


class ConfigError(ValueError):
    """A bad value in ``rltui.toml``; the message names the key."""


def _catalogue_defaults() -> dict[str, dict[str, float]]:
    from rltui.model.patterns.catalogue import CATALOGUE

    return {spec.id: spec.defaults() for spec in CATALOGUE}


def _known(names: list[str], bad: str) -> str:
    close = difflib.get_close_matches(bad, names, n=3)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    return f"{hint}; known: {', '.join(sorted(names)) or '(none)'}"


class Config:
    """Per-rule thresholds and on/off switches, with where each override came from."""

    def __init__(
        self,
        values: dict[str, dict[str, float]],
        disabled: frozenset[str] = frozenset(),
        origins: dict[str, str] | None = None,
        *,
        trust_run_configs: bool = False,
    ) -> None:
        self._values = values
        self._disabled = disabled
        #: "rule.name" or "rule.enabled" -> where the override was read (a path, or "mapping").
        self._origins = dict(origins or {})
        #: ``[trust] run_configs = true``: the user lets configs inside run folders apply.
        self.trust_run_configs = trust_run_configs

    @classmethod
    def defaults(cls) -> Config:
        return cls(_catalogue_defaults())

    def changes(self) -> list[str]:
        """What differs from the built-in defaults, as ``rules.<id>.<name>=<value>`` (sorted)."""
        defaults = _catalogue_defaults()
        out = [f"rules.{rule}.enabled=false" for rule in sorted(self._disabled)]
        for rule in sorted(self._values):
            for name, value in sorted(self._values[rule].items()):
                if defaults.get(rule, {}).get(name) != value:
                    out.append(f"rules.{rule}.{name}={value:g}")
        return sorted(out)

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, Any], origin: str = "rltui.toml", base: Config | None = None
    ) -> Config:
        """``base`` (default: the defaults) with the overrides of ``data`` applied.

        Raises ConfigError naming a bad key.
        """
        start = base._values if base is not None else _catalogue_defaults()
        values = {k: dict(v) for k, v in start.items()}
        disabled: set[str] = set(base._disabled) if base is not None else set()
        origins: dict[str, str] = dict(base._origins) if base is not None else {}
        trust = base.trust_run_configs if base is not None else False
        if not isinstance(data, Mapping):
            raise ConfigError(f"{origin}: expected a table at the top level")
        for top in data:
            # [ui] is the dashboard's (rltui.ui.prefs validates it); it never changes a verdict.
            if top not in ("rules", "trust", "ui"):
                raise ConfigError(f"{top}: unknown section{_known(['rules', 'trust', 'ui'], str(top))}")
        trust_table = data.get("trust", {})
        if not isinstance(trust_table, Mapping):
            raise ConfigError("trust: expected a table")
        for name, value in trust_table.items():
            if name != "run_configs":
                raise ConfigError(f"trust.{name}: unknown setting{_known(['run_configs'], str(name))}")
            if not isinstance(value, bool):
                raise ConfigError(f"trust.run_configs: expected true or false, got {value!r}")
            trust = value
        rules = data.get("rules", {})
        if not isinstance(rules, Mapping):
            raise ConfigError("rules: expected a table of [rules.<id>] sections")
        for rule_id, table in rules.items():
            if rule_id not in values:
                raise ConfigError(f"rules.{rule_id}: unknown rule{_known(list(values), str(rule_id))}")
            if not isinstance(table, Mapping):
                raise ConfigError(f"rules.{rule_id}: expected a table, got {type(table).__name__}")
            for name, value in table.items():
                where = f"rules.{rule_id}.{name}"
                if name == "enabled":
                    if not isinstance(value, bool):
                        raise ConfigError(f"{where}: expected true or false, got {value!r}")
                    if not value:
                        disabled.add(rule_id)
                    else:
                        disabled.discard(rule_id)
                    origins[f"{rule_id}.enabled"] = origin
                    continue
                known = values[rule_id]
                if name not in known:
                    raise ConfigError(f"{where}: unknown threshold{_known([*known, 'enabled'], str(name))}")
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise ConfigError(f"{where}: expected a number, got {value!r}")
                if not math.isfinite(float(value)):
                    raise ConfigError(f"{where}: expected a finite number, got {value!r}")
                known[name] = float(value)
                origins[f"{rule_id}.{name}"] = origin
        return cls(values, frozenset(disabled), origins, trust_run_configs=trust)

    def _check(self, rule: str, name: str | None = None) -> None:
        if rule not in self._values:
            raise ConfigError(f"rules.{rule}: unknown rule{_known(list(self._values), rule)}")
        if name is not None and name not in self._values[rule]:
            raise ConfigError(
                f"rules.{rule}.{name}: unknown threshold{_known(list(self._values[rule]), name)}"
            )

    def threshold(self, rule: str, name: str) -> float:
        self._check(rule, name)
        return self._values[rule][name]

    def thresholds(self, rule: str) -> dict[str, float]:
        self._check(rule)
        return dict(self._values[rule])

    def enabled(self, rule: str) -> bool:
        self._check(rule)
        return rule not in self._disabled

    def origin(self, rule: str, name: str) -> str | None:
        """Where an override of ``rule.name`` came from (None: the built-in default)."""
        return self._origins.get(f"{rule}.{name}")
