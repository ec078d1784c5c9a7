"""A container whose border says whether the focus is inside it (the focused-pane indicator of
docs/keys.md), at the cost of one repaint of its border.

The CSS way, ``#pane:focus-within { border: … }``, makes Textual restyle the container and
every widget in it on each focus change inside or around it: a conversation pane holds its
whole thread, and that restyle was a third of a conversation switch (issue #23 benchmarks).
Here the border colour is set on the container alone, from the theme's colours.
"""

from __future__ import annotations

from textual.color import Color
from textual.containers import Vertical


class FocusBox(Vertical):
    """A :class:`Vertical` with a round border, ``$primary`` while a descendant has the
    focus and ``$primary-muted`` otherwise (see :meth:`show_focus`)."""

    DEFAULT_CSS = """
    FocusBox {
        border: round $primary-muted;
    }
    """

    def __init__(self, *children: object, **kwargs: object) -> None:
        super().__init__(*children, **kwargs)  # type: ignore[arg-type]
        self._lit: bool | None = None

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._show(force=True))
        self._show()

    def on_unmount(self) -> None:
        self.app.theme_changed_signal.unsubscribe(self)

    @property
    def focus_inside(self) -> bool:
        focused = self.screen.focused if self.is_attached else None
        return focused is not None and self in focused.ancestors

    def show_focus(self) -> None:
        """Light or dim the border as the focus is in the box or not.  Its screen calls it on
        every focus change (a DescendantFocus or DescendantBlur event reaching the screen):
        the box alone does not hear of the focus leaving it with a removed widget."""
        self._show()

    def _show(self, *, force: bool = False) -> None:
        if not self.is_attached:
            return
        lit = self.focus_inside
        if lit == self._lit and not force:
            return
        self._lit = lit
        name = "primary" if lit else "primary-muted"
        colour = self.app.theme_variables.get(name)
        if colour is not None:
            self.styles.border = ("round", Color.parse(colour))
