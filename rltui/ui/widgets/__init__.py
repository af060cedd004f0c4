"""Dashboard widgets: each renders part of a snapshot as ``rich.text.Text`` (never markup)."""
