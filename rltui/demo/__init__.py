"""A real TRL run that fails, bundled so ``rltui demo`` works offline after ``pip install``.

``dpo_margin_explosion/`` is a verbatim copy (event file, ``trainer_state.json``, model card) of the
run in ``fixtures/runs/dpo_margin_explosion`` (see ``fixtures/README.md`` for provenance).
"""

from __future__ import annotations

from pathlib import Path

DEMO_RUN = Path(__file__).resolve().parent / "dpo_margin_explosion"


def demo_run_path() -> Path:
    """Where the bundled demo run lives inside the installed package."""
    return DEMO_RUN
