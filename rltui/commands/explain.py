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
    kind = "early warning" if spec.kind == "early" else "after-the-fact audit"
    out.write(f"kind: {kind}\n")
    out.write(f"severity: {', '.join(spec.severities)}    instrument: {spec.instrument}    ")
    out.write(f"needs: {', '.join(spec.roles)}\n\n")
    out.write("logic:\n" + _wrap(spec.logic) + "\n")
    out.write("  Sustained evidence: a level fires at 3 of the last 4 points")
    if spec.instant:
        out.write(f" ({', '.join(sorted(spec.instant))}: on a single point)")
    if spec.from_first:
        out.write(f" ({', '.join(sorted(spec.from_first))}: also when every point of a short run shows it)")
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


def _severity_line(spec: RuleSpec) -> str:
    parts = [f"Severity: {', '.join(spec.severities)}"]
    if spec.instant:
        parts[-1] += f"; single point: {', '.join(sorted(spec.instant))}"
    if spec.from_first:
        parts[-1] += f"; from the first points on a short run: {', '.join(sorted(spec.from_first))}"
    kind = "early warning" if spec.kind == "early" else "after-the-fact audit"
    gauge = " (sets its gauge's status from the newest point)" if spec.gauge else ""
    return (
        f"- {parts[0]}. Kind: {kind}. Instrument: `{spec.instrument}`{gauge}. "
        f"Reads: {', '.join(f'`{r}`' for r in spec.roles)}."
    )


def catalogue_markdown() -> str:
    """The catalogue section of docs/patterns.md, generated from the specs the engine runs.

    ``tests/test_explain.py`` checks that the file holds exactly this text, so the docs cannot drift
    from the code (``rltui explain --markdown`` prints it).
    """
    out = ["## Catalogue", ""]
    for spec in CATALOGUE:
        out.append(f"### `{spec.id}` ({spec.code}): {spec.title}")
        out.append("")
        out.append(_severity_line(spec))
        out.append(f"- Logic: {spec.logic}")
        if spec.thresholds:
            ths = "; ".join(
                f"`{n}` = {_fmt(t.value)} {t.source} ({t.help})" for n, t in spec.thresholds.items()
            )
            out.append(f"- Thresholds: {ths}.")
        out.append(f"- Cause: {spec.cause}")
        out.append(f'- Action: "{spec.action}"')
        out.append(f"- Source: {spec.source}")
        out.append("")
    return "\n".join(out)


def run_explain(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    if getattr(args, "markdown", False):
        out.write(catalogue_markdown())
        return 0
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
