"""Readers that turn files into records (:mod:`rltui.records`); they know formats, not instruments."""
