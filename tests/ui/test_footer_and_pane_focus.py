"""The footer updated in place and the pane's focus border (issue #23 benchmarks: close, archive
and switch conversation spent a third of their time rebuilding the footer and restyling the
whole pane on each focus change).  What the agent sees must not change: the footer shows what
Textual's own Footer would show for the same bindings, and the pane is lit while the focus is
in it."""

from __future__ import annotations

from pathlib import Path

from test_keys_app import SIZE, banner, demo_url, editor, writing
from textual.color import Color
from textual.pilot import Pilot
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from bannertui.testing import app_for, wait_until, workers_done
from bannertui.ui.app import BannerApp
from bannertui.ui.widgets.focus_box import FocusBox
from bannertui.ui.widgets.footer import KeyFooter
from bannertui.ui.widgets.interaction_list import InteractionList


def keys(footer: Footer) -> list[tuple[str, str, bool]]:
    """A footer's keys as drawn: (key, description, dimmed)."""
    return [
        (k.key_display, k.description, k.has_class("-disabled")) for k in footer.query(FooterKey)
    ]


def shown(app: BannerApp) -> list[tuple[str, str, bool]]:
    return keys(app.screen.query_one(KeyFooter))


async def add_oracle(app: BannerApp) -> None:
    """Textual's own Footer, hidden, on the Banner: what the footer must show."""
    oracle = Footer(show_command_palette=False, id="oracle")
    oracle.display = False
    await banner(app).mount(oracle)
    banner(app).refresh_bindings()  # a footer draws its keys when the bindings are refreshed


def footer_settled(app: BannerApp) -> bool:
    footer = app.screen.query_one(KeyFooter)
    oracle = banner(app).query_one("#oracle", Footer)
    return not footer._pending and bool(keys(oracle)) and shown(app) == keys(oracle)


def border_colour(box: FocusBox) -> Color:
    return box.styles.border.top[1]


def theme(app: BannerApp, name: str) -> Color:
    return Color.parse(app.theme_variables[name])


async def settle(app: BannerApp, pilot: Pilot[None]) -> None:
    await wait_until(pilot, lambda: footer_settled(app))
    await workers_done(pilot)
    await wait_until(pilot, lambda: footer_settled(app))


async def test_the_footer_follows_the_focus_in_place(tmp_path: Path) -> None:
    """List → editor → list: the keys change (n and ? are text in the editor) and are those
    Textual's footer shows; the key widgets are reused, not rebuilt."""
    app = app_for(await demo_url(tmp_path, second_conversation=True), "alice")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: editor(app) is not None)
        await add_oracle(app)
        await settle(app, pilot)
        on_list = shown(app)
        assert ("n", "New", False) in on_list
        widgets = set(app.screen.query_one(KeyFooter).query(FooterKey))

        await writing(app, pilot)
        await settle(app, pilot)
        in_editor = shown(app)
        assert in_editor != on_list
        assert ("n", "New", False) not in in_editor
        assert set(app.screen.query_one(KeyFooter).query(FooterKey)) <= widgets

        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.focused, InteractionList))
        await settle(app, pilot)
        assert shown(app) == on_list


async def test_the_footer_is_textuals_after_switches_and_a_dialog(tmp_path: Path) -> None:
    """Conversation switches, a close question opened and cancelled: after each the footer
    shows what Textual's footer would for the same bindings."""
    app = app_for(await demo_url(tmp_path, second_conversation=True), "alice")
    async with app.run_test(size=SIZE) as pilot:
        await writing(app, pilot)
        await add_oracle(app)
        await settle(app, pilot)
        for key in ("ctrl+down", "ctrl+down", "ctrl+up"):
            await pilot.press(key)
            await settle(app, pilot)
        await pilot.press("f8")
        await wait_until(pilot, lambda: app.screen is not banner(app))
        await wait_until(pilot, lambda: bool(shown(app)))
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is banner(app))
        await settle(app, pilot)


async def test_the_pane_is_lit_while_the_focus_is_in_it(tmp_path: Path) -> None:
    """The focused-pane indicator (docs/keys.md): $primary while the focus is in the pane,
    $primary-muted otherwise, also after a switch replaced the pane under the focus."""
    app = app_for(await demo_url(tmp_path, second_conversation=True), "alice")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: editor(app) is not None)
        await workers_done(pilot)
        box = banner(app).query_one("#pane", FocusBox)
        assert isinstance(app.focused, InteractionList)
        assert border_colour(box) == theme(app, "primary-muted")

        await writing(app, pilot)
        await wait_until(pilot, lambda: border_colour(box) == theme(app, "primary"))

        await pilot.press("ctrl+down")
        await wait_until(pilot, lambda: app.focused is editor(app) and app.focused is not None)
        await workers_done(pilot)
        assert border_colour(box) == theme(app, "primary")

        await pilot.press("escape")
        await wait_until(pilot, lambda: border_colour(box) == theme(app, "primary-muted"))
        assert isinstance(app.focused, InteractionList)

        app.theme = "textual-light" if app.theme != "textual-light" else "textual-dark"
        await wait_until(pilot, lambda: border_colour(box) == theme(app, "primary-muted"))
