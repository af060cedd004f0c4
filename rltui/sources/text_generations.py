"""Generations logged as TensorBoard text summaries -> :class:`~rltui.records.Sample`.

verl's ``ValidationGenerationsLogger`` (``trainer.log_val_generations=N`` with the tensorboard
logger) writes one ``add_text("val/generations", ...)`` per validation step, a Markdown page::

    **Generation Results - Step 40**

    ### Sample 1
    **Input:** <prompt>

    **Output:** <completion>

    **Score:** 0.0

    ---

Newer verl versions add ``**Ground Truth:**`` and ``**Correct:**``. The page is parsed by its
field markers only; a page that does not have them is not a generations page and gives nothing
(it stays a plain text summary). The text arrives already stripped of escape sequences by the
event decoder; it is run text all the same and the screen treats it as such.

Pure functions: the event decoder calls :func:`parse_generations` for each text summary whose
tag names generations (:func:`is_generations_tag`).
"""

from __future__ import annotations

import math
import re

from rltui.records import Sample

#: Text-summary tags that carry generations (verl: ``val/generations``; other loops use similar).
_TAGS = re.compile(r"(?:^|/)(?:generations?|samples|completions|rollouts?)(?:$|/)", re.IGNORECASE)
_SAMPLE = re.compile(r"^#{2,4}\s*Sample\s+\d+\s*$", re.MULTILINE)
_FIELD = re.compile(r"^\*\*(Input|Output|Score|Ground Truth|Correct):\*\*[ \t]?", re.MULTILINE)
#: Samples kept from one page at most (a hostile page of a million tiny samples).
MAX_SAMPLES = 4096


def is_generations_tag(tag: str) -> bool:
    """Whether a text summary's tag names logged generations (``val/generations``)."""
    return bool(_TAGS.search(tag))


def parse_generations(text: str, step: int) -> list[Sample]:
    """The samples of one generations page at ``step``; [] when the page is not one."""
    parts = _SAMPLE.split(text)
    out: list[Sample] = []
    for part in parts[1:]:
        fields = _fields(part)
        if "Output" not in fields:
            continue
        out.append(
            Sample(
                step=step,
                prompt=fields.get("Input", ""),
                completion=fields["Output"],
                reward=_number(fields.get("Score")),
            )
        )
        if len(out) >= MAX_SAMPLES:
            break
    return out


def _fields(part: str) -> dict[str, str]:
    """``**Name:** value`` fields of one sample; a value runs to the next field (multi-line)."""
    part = re.sub(r"\n-{3,}\s*\Z", "", part.rstrip())
    marks = list(_FIELD.finditer(part))
    out: dict[str, str] = {}
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(part)
        out.setdefault(m.group(1), part[m.end() : end].strip("\n").rstrip())
    return out


def _number(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        x = float(raw.strip()[:64])
    except ValueError:
        return None
    return x if math.isfinite(x) else None
