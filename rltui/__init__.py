"""rltui: a terminal live monitor for RL post-training runs that says what is wrong."""

__version__ = "0.1.0"
