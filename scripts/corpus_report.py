"""The calibration tables of docs/patterns.md, measured on the real runs in fixtures/.

Run by hand after changing a rule: ``python3 scripts/corpus_report.py`` prints

1. the tally of ``fixtures/wild/verdicts.toml`` (runs by other people, verdicts written before
   tuning): right / wrong per run with the reason;
2. per rule, on the wild corpus and the lab runs of ``fixtures/runs/``: how many runs raised it, and
   its lead time: steps (and logged points) from the onset of the evidence (``first_step``) to the
   step the alert was raised (``raised_step``).

It reads the same test helpers the suite uses, so the numbers are the ones the tests check.
"""

from __future__ import annotations

import statistics
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rltui.model.patterns import CATALOGUE  # noqa: E402
from rltui.session import open_sessions  # noqa: E402
from tests.wild.test_wild_verdicts import HELD_OUT, TABLE, WILD, judge  # noqa: E402


def _runs() -> list[Path]:
    lab = sorted(p for p in (ROOT / "fixtures" / "runs").iterdir() if p.is_dir())
    wild = [WILD / e["name"] for e in TABLE]
    return lab + wild


def _tally(title: str, table: list[dict[str, object]]) -> None:
    results = [(e, judge(e)) for e in table]
    right = sum(j.right for _, j in results)
    print(f"### {title}: {right} of {len(table)} right ({100 * right / len(table):.0f} %)\n")
    print("| run | framework / trainer | health | verdict | what was wrong |")
    print("|---|---|---|---|---|")
    for e, j in results:
        mark = "right" if j.right else ("expected failure" if e.get("xfail") else "WRONG")
        why = "; ".join(j.wrong) if j.wrong else ""
        if e.get("xfail"):
            why = f"{why} — {e['xfail']}"
        print(f"| `{e['name']}` | {e['framework']} / {e['trainer']} | {e['health']} | {mark} | {why} |")


def main() -> None:
    _tally("Tally", TABLE)
    print()
    _tally("Held-out tally", HELD_OUT)
    lead: dict[str, list[tuple[int, int]]] = defaultdict(list)
    runs_of: dict[str, set[str]] = defaultdict(set)
    for path in _runs():
        (s,) = open_sessions([str(path)])
        s.load()
        snap = s.snapshot()
        for a in snap.alerts:
            if a.severity == "info" or a.raised_step is None:
                continue
            runs_of[a.id].add(path.name)
            series = s.store.get(a.metric) if a.metric else None
            points = 0
            if series is not None:
                points = series.count_upto(a.raised_step) - series.count_upto(a.first_step - 1)
            lead[a.id].append((a.raised_step - a.first_step, points))
    print("\n### Lead time per rule (warn and critical alerts, lab and wild runs)\n")
    print("| rule | kind | runs | median steps onset -> raised | median logged points |")
    print("|---|---|---|---|---|")
    for spec in CATALOGUE:
        got = lead.get(spec.id)
        kind = "early warning" if spec.kind == "early" else "audit"
        if not got:
            print(f"| `{spec.id}` | {kind} | 0 | — | — |")
            continue
        steps = statistics.median(g[0] for g in got)
        pts = statistics.median(g[1] for g in got)
        print(f"| `{spec.id}` | {kind} | {len(runs_of[spec.id])} | {steps:g} | {pts:g} |")


if __name__ == "__main__":
    main()
