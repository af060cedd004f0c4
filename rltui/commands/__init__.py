"""Headless commands (no Textual import): ``check`` and ``explain``."""
