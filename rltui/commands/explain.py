"""``rltui explain [ID]``: a rule's logic, thresholds (current values and their origin), cause,
action and source, straight from the catalogue the engine runs, so it cannot drift from the code."""

from __future__ import annotations

import argparse
import difflib
import sys
import textwrap
from typing import TextIO

from rltui.model.config import Config, ConfigError
from rltui.model.patterns import CATALOGUE
from rltui.model.patterns.catalogue import BY_ID
from rltui.model.patterns.spec import RuleSpec
from rltui.text import sanitize

WIDTH = 100


def _wrap(text: str, indent: str = "  ") -> str:
    return textwrap.fill(text, WIDTH, initial_indent=indent, subsequent_indent=indent)


def _list(out: TextIO) -> None:
    out.write("Failure patterns (rltui explain ID for details):\n\n")
    for spec in CATALOGUE:
        sev = "/".join(spec.severities)
        out.write(f"  {spec.id:<26} {spec.code:<7} {sev:<21} {spec.title}\n")


def _fmt(v: float) -> str:
    return f"{v:g}"


def _explain(spec: RuleSpec, config: Config, out: TextIO) -> None:
    state = "" if config.enabled(spec.id) else "  (DISABLED in rltui.toml)"
    out.write(f"{spec.id} ({spec.code}): {spec.title}{state}\n")
    out.write(f"severity: {', '.join(spec.severities)}    instrument: {spec.instrument}    ")
    out.write(f"needs: {', '.join(spec.roles)}\n\n")
    out.write("logic:\n" + _wrap(spec.logic) + "\n")
    out.write("  Sustained evidence: a level fires at 3 of the last 4 points")
    if spec.instant:
        out.write(f" ({', '.join(sorted(spec.instant))}: on a single point)")
    out.write("; the alert clears after 5 consecutive clean points.\n\n")
    if spec.thresholds:
        out.write("thresholds:\n")
        for name, t in spec.thresholds.items():
            current = config.threshold(spec.id, name)
            origin = config.origin(spec.id, name)
            where = f"set in {origin}; default {_fmt(t.value)}" if origin else "default"
            out.write(f"  {name} = {_fmt(current)}  {t.source}  ({where})\n")
            out.write(_wrap(t.help, "      ") + "\n")
        out.write(f"  override in rltui.toml:  [rules.{spec.id}]  {next(iter(spec.thresholds))} = ...\n\n")
    else:
        out.write(f"thresholds: none (disable with [rules.{spec.id}] enabled = false)\n\n")
    out.write("cause:\n" + _wrap(spec.cause) + "\n\n")
    out.write("action (the run's numbers fill the {fields}):\n" + _wrap(spec.action) + "\n\n")
    out.write("source:\n" + _wrap(spec.source) + "\n")


def run_explain(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    rule = getattr(args, "rule", None)
    if not rule:
        _list(out)
        return 0
    spec = BY_ID.get(rule)
    if spec is None:
        close = difflib.get_close_matches(rule, list(BY_ID), n=3, cutoff=0.5)
        msg = f"rltui explain: unknown rule {sanitize(rule)!r}."
        msg += f" Did you mean: {', '.join(close)}?" if close else " Run `rltui explain` for the list."
        err.write(msg + "\n")
        return 2
    try:
        from rltui.settings import load_config

        config, _ = load_config(getattr(args, "path", None))
    except ConfigError as e:
        err.write(f"rltui explain: {sanitize(str(e), single_line=True)}\n")
        config = Config.defaults()
    _explain(spec, config, out)
    return 0
