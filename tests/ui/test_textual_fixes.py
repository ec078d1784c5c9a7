"""The work-arounds of bannertui.ui.textual_fixes: what a conversation switch leaves behind is
freed (issue #23 benchmarks: full garbage collections of 250–300 ms in the middle of a key,
as each switch left a pane alive)."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

from test_keys_app import SIZE, banner, demo_url, editor, writing
from textual._styles_cache import StylesCache
from textual.app import App, ComposeResult
from textual.color import Color
from textual.containers import Vertical
from textual.widgets import Static, TextArea

from bannertui.testing import app_for, wait_until, workers_done
from bannertui.ui import textual_fixes
from bannertui.ui.widgets.conversation import ConversationPane


class _Box(App[None]):
    def compose(self) -> ComposeResult:
        yield Vertical(id="box")


def test_textuals_get_inner_outer_still_keeps_its_styles_cache() -> None:
    """Textualize/textual#6665 is still there: when this fails, Textual fixed it and the
    StylesCache work-around can go."""
    original = textual_fixes.ORIGINAL_GET_INNER_OUTER
    assert original is not None
    cache = StylesCache()
    gone = weakref.ref(cache)
    original(cache, Color(1, 2, 3), Color(4, 5, 6))
    del cache
    gc.collect()
    try:
        assert gone() is not None, "Textual fixed issue #6665: remove the StylesCache fix"
    finally:
        original.cache_clear()


def test_get_inner_outer_keeps_no_styles_cache_and_computes_the_same() -> None:
    textual_fixes.apply()
    cache = StylesCache()
    gone = weakref.ref(cache)
    base, background = Color(10, 20, 30), Color(200, 100, 50, 0.5)
    assert cache.get_inner_outer(base, background) == textual_fixes._inner_outer(base, background)
    inner, outer = cache.get_inner_outer(base, background)
    assert inner.background == base + background
    assert outer.background == base
    del cache
    gc.collect()
    assert gone() is None


async def test_a_removed_text_area_lets_go_of_its_screen_and_app() -> None:
    """Removed, a TextArea is no longer subscribed to its screen's selection signal nor
    watching the app's theme: nothing that lives on keeps it (and its parents) alive."""
    textual_fixes.apply()
    app = _Box()
    async with app.run_test() as pilot:
        area = TextArea("hello")
        await app.query_one("#box").mount(area, Static("x"))
        await pilot.pause()
        assert area in app.screen.text_selection_started_signal._subscriptions
        assert any(node is area for node, _ in getattr(app, "__watchers", {})["theme"])
        await area.remove()
        await pilot.pause()
        assert area not in app.screen.text_selection_started_signal._subscriptions
        assert not any(node is area for node, _ in getattr(app, "__watchers", {})["theme"])


async def test_switching_conversations_leaves_no_editor_subscribed(tmp_path: Path) -> None:
    """Ten switches: the editors that went are neither subscribed to the Banner's selection
    signal nor watching the app's theme (each held its whole pane for the rest of the day;
    a pane still referenced by a cancelled timer is freed when the timer's time comes)."""
    app = app_for(await demo_url(tmp_path, second_conversation=True), "alice")
    async with app.run_test(size=SIZE) as pilot:
        await writing(app, pilot)
        for _ in range(10):
            current = banner(app)._pane()
            assert isinstance(current, ConversationPane)
            await pilot.press("ctrl+down")
            await wait_until(pilot, lambda: banner(app)._pane() is not current)  # noqa: B023
            await wait_until(pilot, lambda: editor(app) is not None)
        await workers_done(pilot)
        subscribed = list(banner(app).text_selection_started_signal._subscriptions)
        assert all(node.is_attached for node in subscribed), subscribed
        watching = [
            node for entries in getattr(app, "__watchers", {}).values() for node, _ in entries
        ]
        assert all(node.is_attached for node in watching), watching
