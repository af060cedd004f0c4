"""One metric, one name, whatever file it came from (design.md §4).

The canonical spelling is ``trainer_state.json``'s: TensorBoard ``train/x`` becomes ``x`` and
``eval/x`` becomes ``eval_x``; keys without those prefixes (verl, custom) stay as they are.
"""

from __future__ import annotations


def canonical_tb_tag(tag: str) -> str:
    """Map a TensorBoard scalar tag to its canonical metric name."""
    if tag.startswith("train/"):
        return tag[len("train/") :]
    if tag.startswith("eval/"):
        rest = tag[len("eval/") :]
        # OpenRLHF writes eval/eval_<ds>_pass1: do not double the prefix.
        return rest if rest.startswith("eval_") else "eval_" + rest
    return tag


def is_eval(name: str) -> bool:
    return name.startswith("eval_")
