"""Failure patterns (patterns.md §4): the rule catalogue and the engine that runs it.

``PatternEngine(info, config).advance(store, upto_step)`` then ``.alerts()``; ``CATALOGUE`` lists
every rule as data for ``rltui explain`` and the help screen.
"""

from rltui.model.patterns.catalogue import BY_ID, CATALOGUE
from rltui.model.patterns.engine import PatternEngine
from rltui.model.patterns.spec import RuleSpec, Threshold

__all__ = ["BY_ID", "CATALOGUE", "PatternEngine", "RuleSpec", "Threshold"]
