"""A screen that is one page of text to scroll (help, run info): the page's Static inside a
VerticalScroll, ``j``/``k`` and the arrows to scroll, the footer. Subclasses name the page
(``PAGE``: the widgets' ids ``PAGE`` and ``PAGE-body``, styled in app.tcss), say what it holds
(:meth:`text`) and add their own way back."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static


class TextPage(Screen[None]):
    PAGE: ClassVar[str] = "page"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j,down", "scroll(1)", "Down", show=False),
        Binding("k,up", "scroll(-1)", "Up", show=False),
    ]

    def text(self) -> Text:
        raise NotImplementedError

    def compose(self) -> ComposeResult:
        with VerticalScroll(id=f"{self.PAGE}-body"):
            yield Static(self.text(), id=self.PAGE)
        yield Footer()

    def redraw(self) -> None:
        """Draw the page again from what :meth:`text` says now."""
        if self.is_mounted:
            self.query_one(f"#{self.PAGE}", Static).update(self.text())

    def action_scroll(self, delta: int) -> None:
        self.query_one(f"#{self.PAGE}-body", VerticalScroll).scroll_relative(y=delta, animate=False)
