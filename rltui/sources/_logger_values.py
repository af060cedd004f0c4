"""What the logger readers share: step fields, value parsing and key naming.

Loggers store what the training script passed to ``log()``: HF's callbacks for W&B, Trackio and
SwanLab rename ``loss`` to ``train/loss`` and ``eval_loss`` to ``eval/loss`` (``rewrite_logs``)
and add ``train/global_step``, while their own step counter (W&B ``_step``, Trackio's ``step``)
counts ``log()`` calls. The trainer's step is therefore taken from the first step field of
:data:`STEP_KEYS` present in a row, and the logger's own counter only when there is none (verl
passes its step to the logger, so both agree there). Names then follow design.md §4 through
``canonical_tb_tag`` (``train/x`` -> ``x``, ``eval/x`` -> ``eval_x``); nested values are joined
with ``/``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from rltui.sources.names import canonical_tb_tag
from rltui.text import sanitize

#: Step fields, most specific first (HF/TRL, plain, PyTorch Lightning, verl's file logger).
STEP_KEYS = ("train/global_step", "global_step", "trainer/global_step", "training/global_step")
_STEP_LIMIT = 1 << 63
_MAX_JSON = 1 << 20
_MAX_DEPTH = 8
_MAX_NAME = 512


def as_step(value: object) -> int | None:
    """An integer step within int64 (int, or integral float), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not value.is_integer():
            return None
        value = int(value)
    if isinstance(value, int) and -_STEP_LIMIT <= value < _STEP_LIMIT:
        return value
    return None


def as_number(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float):
        return value
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
    return None


def parse_json_value(raw: str) -> object:
    """A logged value's JSON text: a float for numbers (and NaN/Infinity), a dict, or None.

    Strings, lists, booleans and oversized texts are not metrics and give None.
    """
    if not raw or len(raw) > _MAX_JSON:
        return None
    c = raw[0]
    if c == "{":
        try:
            obj = json.loads(raw)
        except (ValueError, RecursionError):
            return None
        return obj if isinstance(obj, dict) else None
    if c in '["tfn':
        return None  # string, list, true/false/null
    try:
        return float(raw)
    except ValueError:
        return None


def flat_numbers(name: str, value: object, out: dict[str, float], depth: int = 0) -> None:
    """Add ``value`` (a number, or a dict of numbers, nested) under ``name`` to ``out``.

    Media and tables (dicts with a ``_type``) are not metrics.
    """
    if isinstance(value, float):
        out[name] = value
        return
    if isinstance(value, dict):
        if "_type" in value or depth >= _MAX_DEPTH:
            return
        for k, v in value.items():
            flat_numbers(f"{name}/{k}", v if isinstance(v, dict) else as_number(v), out, depth + 1)
        return
    number = as_number(value)
    if number is not None:
        out[name] = number


def metric_name(key: str) -> str | None:
    """The canonical, sanitised name of a logged key (None for an unusable one)."""
    name = sanitize(canonical_tb_tag(key), single_line=True).strip()
    if not name or len(name) > _MAX_NAME:
        return None
    return name


def typed_param(text: str) -> object:
    """An MLflow param (always a string) back as the number or boolean it was, else the string."""
    s = text.strip()
    if s in ("True", "true"):
        return True
    if s in ("False", "false"):
        return False
    if s in ("None", "null"):
        return None
    try:
        return int(s)
    except ValueError:
        pass
    try:
        return float(s)
    except ValueError:
        return text


def run_settings(config: Mapping[str, Any]) -> tuple[int | None, int | None]:
    """``max_steps`` and ``logging_steps`` from a logged TrainingArguments config."""

    def positive(key: str) -> int | None:
        v = config.get(key)
        return v if isinstance(v, int) and not isinstance(v, bool) and v > 0 else None

    return positive("max_steps"), positive("logging_steps")


def config_text(config: Mapping[str, Any]) -> str:
    """The config as the JSON text the session reads from a reader's ``texts["args"]``."""
    return json.dumps(config, default=str)
