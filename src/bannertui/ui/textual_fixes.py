"""Work-arounds for Textual bugs that an agent's console meets in a working day.

Each is applied once, by :func:`apply` (ui/app.py imports this module), is idempotent, and
says when it can go.

**StylesCache.get_inner_outer keeps every widget's render cache alive** (Textualize/textual
issue #6665, open for Textual 8.2.8).  It is an instance method under ``@lru_cache(1024)``,
so each key holds its ``StylesCache`` — a widget's cache of rendered lines — for as long as
it is among the last 1,024 keys, long after its widget is gone.  Every conversation
switched to mounts about forty widgets: after a few dozen switches the console held some
200,000 dead objects more, and Python's full garbage collections, every few seconds, took
250–300 ms, in the middle of whatever key came then (issue #23 benchmarks: the switch and
close p99).  The colours it computes depend on its two colour arguments only: the same
cache, keyed on them alone, keeps nothing alive.  Remove when Textual fixes the issue (the
test in tests/ui/test_textual_fixes.py then says the original no longer leaks).

**A TextArea stays alive after it is removed, with its whole pane.**  Mounted, it subscribes
to its screen's ``text_selection_started_signal`` with a callback that holds the text area;
the signal keeps its subscribers in a WeakKeyDictionary whose values (the callbacks) hold
their keys, so nothing is ever dropped, until a mouse selection starts on that screen.
Every conversation pane has an editor: each switch left one pane (some 40 widgets and
their rendered lines) alive for the rest of the day.  It also watches the app's ``theme``,
and the app keeps its watchers until the theme changes.  Here a TextArea unsubscribes, and
drops its watchers of the app, as it is unmounted.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from functools import lru_cache

from textual import events
from textual._styles_cache import StylesCache
from textual.color import Color
from textual.screen import Screen
from textual.style import Style
from textual.widgets import TextArea

_MARK = "_bannertui_fixed"

#: Textual's own ``StylesCache.get_inner_outer`` (tests check that the bug is still there).
ORIGINAL_GET_INNER_OUTER = StylesCache.__dict__.get("get_inner_outer")


@lru_cache(1024)
def _inner_outer(base_background: Color, background: Color) -> tuple[Style, Style]:
    """As Textual's ``StylesCache.get_inner_outer``: the inner and outer background styles."""
    return (
        Style(background=base_background + background),
        Style(background=base_background),
    )


def _get_inner_outer(
    _self: StylesCache, base_background: Color, background: Color
) -> tuple[Style, Style]:
    return _inner_outer(base_background, background)


_SIGNAL_SCREEN = "_bannertui_signal_screen"


def _text_area_mounted(original: Callable[[TextArea, events.Mount], None]) -> Callable[..., None]:
    def _on_mount(self: TextArea, event: events.Mount) -> None:
        original(self, event)
        setattr(self, _SIGNAL_SCREEN, self.screen)  # the screen whose signal it subscribed to

    return _on_mount


def _text_area_unmounted(self: TextArea) -> None:
    screen: Screen[object] | None = getattr(self, _SIGNAL_SCREEN, None)
    if screen is not None:
        screen.text_selection_started_signal.unsubscribe(self)
        setattr(self, _SIGNAL_SCREEN, None)
    # Textual keeps an object's watchers in its "__watchers" (reactive._watch), and drops
    # those of closed nodes only when the attribute next changes.
    watchers: dict[str, list[tuple[object, object]]] = getattr(self.app, "__watchers", {})
    for name, entries in watchers.items():
        if any(node is self for node, _callback in entries):
            watchers[name] = [(node, cb) for node, cb in entries if node is not self]


def apply() -> None:
    """Apply every work-around (once; later calls do nothing)."""
    if getattr(StylesCache, _MARK, False):
        return
    original = ORIGINAL_GET_INNER_OUTER
    if original is not None and hasattr(original, "cache_clear"):
        original.cache_clear()  # what it holds already goes too
    StylesCache.get_inner_outer = _get_inner_outer  # type: ignore[assignment,method-assign]
    # Textual calls each class's own _on_unmount (or on_unmount): TextArea has none.
    if "_on_unmount" not in TextArea.__dict__ and "on_unmount" not in TextArea.__dict__:
        TextArea._on_mount = _text_area_mounted(TextArea._on_mount)  # type: ignore[method-assign]
        TextArea._on_unmount = _text_area_unmounted  # type: ignore[assignment,method-assign]
    setattr(StylesCache, _MARK, True)


def freeze_startup_objects() -> None:
    """Move every object alive now out of the garbage collector's sight: the modules,
    classes, stylesheets and the first screen live as long as the console.  A full
    collection then looks at what the session made since, not at the 200,000 objects of
    the start (each full collection took some 100 ms more, at a random key)."""
    gc.collect()
    gc.freeze()
