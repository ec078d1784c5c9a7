"""The footer of every screen and dialog: Textual's, updated in place when its keys change.

Textual's :class:`~textual.widgets.Footer` recomposes (every key a new widget: created,
styled, mounted, laid out) each time the screen's bindings are refreshed: on each focus
change, each dialog closing, each pane swap.  The keys it shows are mostly the same before
and after, and that rebuild was about a third of the time from a key to the updated screen
(issue #23 benchmarks: close, archive and switch conversation).  This one compares what it
would show with what it shows; when they differ it changes the keys' text in place, adds or
removes the keys at the end, and recomposes only for binding groups (which bannertui does
not use).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey


@dataclass(frozen=True)
class KeyShown:
    """One key as the footer shows it."""

    key: str
    display: str
    description: str
    action: str
    tooltip: str
    enabled: bool


class KeyFooter(Footer):
    """A :class:`Footer` with no command-palette key (ctrl+p is in the help) that rebuilds
    nothing when its keys are unchanged and updates its keys in place when they change."""

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("show_command_palette", False)
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._shown: tuple[KeyShown, ...] | None = None
        self._pending = False

    def keys_shown(self, screen: Screen[object]) -> tuple[KeyShown, ...] | None:
        """The keys the footer shows for ``screen`` now, in order, as :meth:`Footer.compose`
        lays them out (one per action, the first binding's); None when a binding group
        would gather several keys (then only a recompose draws it)."""
        first: dict[str, tuple[Binding, bool, str]] = {}
        groups: dict[object, int] = {}
        for _node, binding, enabled, tooltip in screen.active_bindings.values():
            if not binding.show or binding.action in first:
                continue
            first[binding.action] = (binding, enabled, tooltip)
            if binding.group is not None:
                groups[binding.group] = groups.get(binding.group, 0) + 1
        if any(count > 1 for count in groups.values()):
            return None
        return tuple(
            KeyShown(
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                binding.action,
                tooltip or "",
                enabled,
            )
            for binding, enabled, tooltip in first.values()
        )

    def compose(self) -> ComposeResult:
        if self._bindings_ready:
            self._shown = self.keys_shown(self.screen)
        yield from super().compose()

    def bindings_changed(self, screen: Screen[object]) -> None:
        """Update after the next refresh, as Textual's footer does, unless the keys are those
        shown now or an update is already on its way (it reads the keys when it runs)."""
        self._bindings_ready = True
        if not screen.app.app_focus or not self.is_attached or screen is not self.screen:
            return
        if self._pending:
            return
        shown = self.keys_shown(screen)
        if shown is not None and shown == self._shown:
            return
        self._pending = True
        self.call_after_refresh(self._update)

    async def _update(self) -> None:
        self._pending = False
        if not self.is_attached:
            return
        shown = self.keys_shown(self.screen)
        if shown is not None and shown == self._shown:
            return
        keys = list(self.query_children(FooterKey))
        if shown is None or self._shown is None or len(keys) != len(self.children):
            await self.recompose()  # a binding group, or the first keys
            return
        self._shown = shown
        for widget, key in zip(keys, shown, strict=False):
            _show(widget, key)
        if len(keys) > len(shown):
            await self.remove_children(keys[len(shown) :])
        elif len(shown) > len(keys):
            await self.mount_all(self._new_keys(shown[len(keys) :]))

    def _new_keys(self, shown: Iterable[KeyShown]) -> list[FooterKey]:
        """Keys to add, compact as the footer.  Not ``data_bind``-ed to it as Textual's are:
        a data binding stays in the footer's watchers after its key is removed (until
        ``compact`` changes, which it never does here), and so does the key."""
        keys = []
        for key in shown:
            widget = FooterKey(
                key.key,
                key.display,
                key.description,
                key.action,
                disabled=not key.enabled,
                tooltip=key.tooltip,
            )
            widget.set_reactive(FooterKey.compact, self.compact)
            keys.append(widget)
        return keys


def _show(widget: FooterKey, key: KeyShown) -> None:
    """``widget`` (a key of the footer) shows ``key`` from now on."""
    if (
        widget.key,
        widget.key_display,
        widget.description,
        widget.action,
        widget._disabled,
        widget.tooltip or "",
    ) == (key.key, key.display, key.description, key.action, not key.enabled, key.tooltip):
        return
    widget.key = key.key
    widget.key_display = key.display
    widget.description = key.description
    widget.action = key.action
    widget._disabled = not key.enabled
    widget.set_class(not key.enabled, "-disabled")
    widget.tooltip = key.tooltip or None
    widget.refresh(layout=True)  # its width may change
