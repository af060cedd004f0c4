"""The ``/`` filter box of the list screens (metrics, samples, alerts, sweep overview).

Hidden until ``/`` opens it; typing filters the list at once (the screen handles
``Input.Changed``); Escape first empties and hides it, and only a second Escape leaves the
screen. Four screens had their own copy of these few lines.
"""

from __future__ import annotations

from textual.widgets import Input


class FilterBox(Input):
    DEFAULT_CSS = "FilterBox { display: none; }"

    def open(self) -> None:
        self.display = True
        self.focus()

    def close(self) -> bool:
        """Empty and hide the box; False when there was nothing to close (Escape then leaves)."""
        if not (self.has_focus or self.value):
            return False
        self.value = ""
        self.display = False
        return True
