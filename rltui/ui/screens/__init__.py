"""Screens: dashboard (watch/replay/compare), detail chart, metrics browser, help."""
