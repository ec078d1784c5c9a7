"""Administration through the pilot (SPEC Q1–Q4, P1, X4): who may open it (F10), queues and
their members, the blacklist, bots, the provider settings against a real simulator over
loopback HTTPS, the audit trail's filters, and a snapshot of the Queues tab at 80×24."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import (
    Button,
    Checkbox,
    DataTable,
    Input,
    Select,
    SelectionList,
    Static,
    TabbedContent,
)

from bannertui.domain.actor import Actor
from bannertui.gateway import http_gateway
from bannertui.services import Services
from bannertui.services.admin import QueueRow
from bannertui.simulator.provider import Simulator, SimulatorConfig, make_tls
from bannertui.store.database import Database
from bannertui.store.secrets import ENV_VAR
from bannertui.testing import (
    DEMO_NOW,
    WAIT_FLOOR_SECONDS,
    demo_url,
    notifications,
    prepare_demo_database,
    text_of,
    wait_until,
    workers_done,
)
from bannertui.testing import (
    settle as settle_screen,
)
from bannertui.ui.app import BannerApp
from bannertui.ui.screens import base
from bannertui.ui.screens.admin import (
    AdminScreen,
    BlacklistDialog,
    BotDialog,
    MembersDialog,
    NumberDialog,
    ProfileDialog,
    QueueDialog,
    TemplateDialog,
)
from bannertui.ui.screens.banner import BannerScreen
from bannertui.ui.screens.confirm import ConfirmDialog

SIZE = (80, 24)
SUPPORT_NUMBER = "+33757000010"
SALES_NUMBER = "+33757000011"
BLOCKED = "+33612999001"


@pytest.fixture(autouse=True)
def _private_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The provider form's Save writes (or clears) the password file next to the config file:
    keep it inside the test's directory, never the user's."""
    monkeypatch.setenv("BANNERTUI_CONFIG", str(tmp_path / "conf" / "config.toml"))
    monkeypatch.delenv(ENV_VAR, raising=False)


# --- helpers -------------------------------------------------------------------------------------


def fixed_app(url: str, login: str = "admin") -> BannerApp:
    """The app with the demo's clock (the history is seeded relative to it)."""
    return BannerApp(
        Services(Database(url), clock=lambda: DEMO_NOW, gateways=http_gateway), Actor(login)
    )


def no_unexpected_error(app: BannerApp) -> None:
    unexpected = [n for n in notifications(app) if "Unexpected error" in n]
    assert not unexpected, unexpected


def admin_screen(app: BannerApp) -> AdminScreen:
    return next(s for s in app.screen_stack if isinstance(s, AdminScreen))


def table(app: BannerApp, name: str) -> DataTable[Any]:
    return admin_screen(app).query_one(f"#admin-{name}", DataTable)


def column(app: BannerApp, name: str, key: str) -> list[str]:
    t = table(app, name)
    return [str(t.get_cell(row.key, key)) for row in t.ordered_rows]


def row_cells(app: BannerApp, name: str, row_key: str) -> dict[str, str]:
    t = table(app, name)
    return {str(c.key.value): str(t.get_cell(row_key, c.key)) for c in t.ordered_columns}


def cell(app: BannerApp, name: str, row_key: str, key: str) -> str | None:
    """One cell, or None while the row is not shown (a reload clears a table, then reads
    before it adds the rows again): for wait conditions."""
    t = table(app, name)
    return str(t.get_cell(row_key, key)) if row_key in t.rows else None


def dialog_error(app: BannerApp) -> str:
    return text_of(app.screen.query_one("#dialog-error", Static))


async def settle(app: BannerApp, pilot: Pilot[None]) -> None:
    """Every worker the app has now done (bannertui.testing's timeout, 30 s), then a pause."""
    await workers_done(pilot)
    await pilot.pause()


#: The worker that opens a confirmation and waits for its answer: it ends with the dialog.
CONFIRMING = frozenset({"action_remove"})


async def wait_screen(
    app: BannerApp, pilot: Pilot[None], kind: type, *, skip: frozenset[str] = frozenset()
) -> Any:
    """Wait until a ``kind`` screen is on top and mounted (its widgets composed, its on_mount
    run), then until the app's workers end, except those named in ``skip``."""
    await wait_until(pilot, lambda: isinstance(app.screen, kind) and app.screen.is_mounted)
    await workers_done(pilot, skip=skip)
    return app.screen


async def handled(pilot: Pilot[None], widget: Widget) -> None:
    """Wait until the messages already posted to ``widget`` (an Input's Changed, a Button's
    Pressed) have been handled by it and by every ancestor they bubble to: a marker queued
    behind them at each hop, in turn.  Before a check that something did NOT change, it shows
    the change was seen."""
    chain = [widget, *widget.ancestors]
    reached = asyncio.Event()

    def hop(index: int) -> None:
        if index == len(chain):
            reached.set()
        elif not chain[index].call_later(hop, index + 1):
            reached.set()  # that node is closing: nothing more reaches it

    hop(0)
    await wait_until(pilot, reached.is_set)


async def open_admin(app: BannerApp, pilot: Pilot[None]) -> AdminScreen:
    await wait_screen(app, pilot, BannerScreen)
    await pilot.press("f10")
    screen = await wait_screen(app, pilot, AdminScreen)
    await wait_until(pilot, lambda: table(app, "queues").row_count == 3)
    await settle(app, pilot)
    assert isinstance(screen, AdminScreen)
    return screen


async def show_tab(app: BannerApp, pilot: Pilot[None], tab: str) -> AdminScreen:
    screen = admin_screen(app)
    tabs = screen.query_one(TabbedContent)
    tabs.active = f"tab-{tab}"
    pane = screen.query_one(f"#tab-{tab}")
    await wait_until(pilot, lambda: tabs.active == f"tab-{tab}" and pane.display)
    await settle(app, pilot)
    return screen


async def cursor_to(app: BannerApp, pilot: Pilot[None], name: str, row_key: str) -> None:
    t = table(app, name)
    t.focus()
    index = t.get_row_index(row_key)
    t.move_cursor(row=index, animate=False)
    await wait_until(pilot, lambda: app.focused is t and t.cursor_row == index)


async def queue_row(services: Services, name: str) -> QueueRow:
    return next(r for r in await services.admin.queues(Actor("admin")) if r.settings.name == name)


async def edit_queue(app: BannerApp, pilot: Pilot[None], name: str) -> QueueDialog:
    row = await queue_row(app.services, name)
    await cursor_to(app, pilot, "queues", str(row.id))
    await pilot.press("e")
    dialog = await wait_screen(app, pilot, QueueDialog)
    assert isinstance(dialog, QueueDialog)
    return dialog


async def save_dialog(app: BannerApp, pilot: Pilot[None]) -> None:
    """Ctrl+S in the dialog on top, then wait until it has answered: closed, or an error
    shown (the dialogs here open with none)."""
    dialog = app.screen
    await pilot.press("ctrl+s")
    await wait_until(
        pilot,
        lambda: app.screen is not dialog or dialog_error(app) != "",
    )
    await settle(app, pilot)


# --- F10: who may open it ------------------------------------------------------------------------


@pytest.mark.parametrize("login", ["alice", "sam"])
async def test_non_administrators_are_refused_by_name(tmp_path: Path, login: str) -> None:
    app = fixed_app(await demo_url(tmp_path), login)
    async with app.run_test(size=SIZE) as pilot:
        await wait_screen(app, pilot, BannerScreen)
        await pilot.press("f10")

        def refused() -> bool:
            return any("Not allowed" in m and "administrators" in m for m in notifications(app))

        await wait_until(pilot, refused)
        # Refused, and F10's worker has ended (it would have opened the screen before the
        # end); the pause is for a screen that would still be on its way.
        await settle(app, pilot)
        await pilot.pause(0.3)
        assert not any(isinstance(s, AdminScreen) for s in app.screen_stack)
        assert isinstance(app.screen, BannerScreen)
        messages = notifications(app)
        assert any("Not allowed" in m and "administrators" in m for m in messages), messages


async def test_the_administrator_sees_the_demo_queues(tmp_path: Path) -> None:
    app = fixed_app(await demo_url(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await open_admin(app, pilot)
        rows = {r.settings.name: r for r in await app.services.admin.queues(Actor("admin"))}
        assert column(app, "queues", "name") == ["Billing", "Sales", "Support"]
        support = row_cells(app, "queues", str(rows["Support"].id))
        assert support["number"] == SUPPORT_NUMBER
        assert support["strategy"] == "round_robin"
        assert support["sl"] == "60"
        assert support["members"] == "alice, bruno"
        sales = row_cells(app, "queues", str(rows["Sales"].id))
        assert (sales["number"], sales["strategy"], sales["sl"]) == (
            SALES_NUMBER,
            "least_busy",
            "120",
        )
        assert sales["members"] == "alice, bruno"
        billing = row_cells(app, "queues", str(rows["Billing"].id))
        assert (billing["number"], billing["strategy"], billing["members"]) == (
            "–",
            "longest_idle",
            "–",
        )
        no_unexpected_error(app)


# --- queues --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("q-service_level_s", "-5", ("Invalid queue", "service level")),
        ("q-hours", "mon-fri 25:00-26:00", ("Invalid opening hours",)),
        ("q-timezone", "Mars/Olympus_Mons", ("Invalid time zone",)),
    ],
)
async def test_queue_dialog_refuses_bad_values_by_name(
    tmp_path: Path, field: str, value: str, expected: tuple[str, ...]
) -> None:
    app = fixed_app(await demo_url(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await open_admin(app, pilot)
        before = await queue_row(app.services, "Support")
        dialog = await edit_queue(app, pilot, "Support")
        assert dialog.query_one("#q-name", Input).value == "Support"
        dialog.query_one(f"#{field}", Input).value = value
        await save_dialog(app, pilot)
        assert app.screen is dialog, "the dialog must stay open on a refusal"
        error = dialog_error(app)
        for words in expected:
            assert words in error, error
        assert await queue_row(app.services, "Support") == before
        audit = await app.services.admin.audit_trail(Actor("admin"), action="queue.")
        assert audit == []
        await pilot.press("escape")
        await wait_screen(app, pilot, AdminScreen)
        assert isinstance(app.screen, AdminScreen)
        no_unexpected_error(app)


async def test_the_queue_form_names_every_refusal_beside_its_field(tmp_path: Path) -> None:
    # Issue #19 (Q1): one refusal at a time, not in the form's order.
    app = fixed_app(await demo_url(tmp_path))
    async with app.run_test(size=(100, 50)) as pilot:
        await open_admin(app, pilot)
        before = await queue_row(app.services, "Support")
        dialog = await edit_queue(app, pilot, "Support")
        dialog.query_one("#q-name", Input).value = ""
        dialog.query_one("#q-service_level_s", Input).value = "soon"
        dialog.query_one("#q-timezone", Input).value = "Mars/Olympus_Mons"
        await save_dialog(app, pilot)
        assert app.screen is dialog
        assert dialog_error(app) == "3 fields to correct: see beside each"
        shown = {
            str(e.id): text_of(e) for e in dialog.query(".field-error").results(Static) if e.display
        }
        assert list(shown) == ["err-name", "err-service_level_s", "err-timezone"]
        assert "name: 1 to 120" in shown["err-name"]
        assert "service level: a whole number" in shown["err-service_level_s"]
        assert "Invalid time zone" in shown["err-timezone"]
        # corrected, each one goes
        dialog.query_one("#q-name", Input).value = "Support"
        dialog.query_one("#q-service_level_s", Input).value = "60"
        await save_dialog(app, pilot)
        await wait_until(pilot, lambda: "Invalid time zone" in dialog_error(app))
        assert not dialog.query_one("#err-name", Static).display
        assert dialog.query_one("#err-timezone", Static).display
        assert await queue_row(app.services, "Support") == before
        no_unexpected_error(app)


async def test_a_valid_queue_change_is_saved_listed_and_audited(tmp_path: Path) -> None:
    app = fixed_app(await demo_url(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await open_admin(app, pilot)
        dialog = await edit_queue(app, pilot, "Support")
        dialog.query_one("#q-strategy", Select).value = "least_busy"
        dialog.query_one("#q-service_level_s", Input).value = "45"
        dialog.query_one("#q-hours", Input).value = "mon-fri 09:00-17:30; sat 10:00-12:00"
        await save_dialog(app, pilot)
        await wait_screen(app, pilot, AdminScreen)
        after = await queue_row(app.services, "Support")
        assert after.settings.strategy == "least_busy"
        assert after.settings.service_level_s == 45
        assert after.settings.opening_hours == "mon-fri 09:00-17:30; sat 10:00-12:00"
        assert after.settings.number == SUPPORT_NUMBER  # untouched fields stay
        assert after.members == ("alice", "bruno")
        await wait_until(
            pilot, lambda: cell(app, "queues", str(after.id), "strategy") == "least_busy"
        )
        assert row_cells(app, "queues", str(after.id))["sl"] == "45"
        assert "Saved" in notifications(app)

        await show_tab(app, pilot, "audit")
        await wait_until(pilot, lambda: "queue.updated" in column(app, "audit", "action"))
        audit_key = next(
            str(r.key.value)
            for r in table(app, "audit").ordered_rows
            if str(table(app, "audit").get_cell(r.key, "action")) == "queue.updated"
        )
        event = row_cells(app, "audit", audit_key)
        assert event["who"] == "admin"
        assert event["target"] == "queue:Support"
        assert "least_busy" in event["detail"]
        assert "45" in event["detail"]
        no_unexpected_error(app)


async def test_members_are_picked_from_the_agents_with_their_limits(tmp_path: Path) -> None:
    # Issue #19 (Q1): members were typed as free text.
    app = fixed_app(await demo_url(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await open_admin(app, pilot)
        row = await queue_row(app.services, "Sales")
        await cursor_to(app, pilot, "queues", str(row.id))
        await pilot.press("m")
        dialog = await wait_screen(app, pilot, MembersDialog)
        pick = dialog.query_one("#members", SelectionList)
        await wait_until(pilot, lambda: pick.option_count > 0)
        logins = [str(pick.get_option_at_index(i).value) for i in range(pick.option_count)]
        roster = await app.services.admin.roster(Actor("admin"))
        assert logins == [a.login for a in roster]
        assert sorted(pick.selected) == ["alice", "bruno"]
        alice = str(pick.get_option_at_index(logins.index("alice")).prompt)
        assert "up to 5 at once" in alice
        no_unexpected_error(app)


async def test_members_are_saved(tmp_path: Path) -> None:
    app = fixed_app(await demo_url(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await open_admin(app, pilot)
        row = await queue_row(app.services, "Billing")
        await cursor_to(app, pilot, "queues", str(row.id))
        await pilot.press("m")
        dialog = await wait_screen(app, pilot, MembersDialog)
        pick = dialog.query_one("#members", SelectionList)
        await wait_until(pilot, lambda: pick.option_count > 0)
        await wait_until(pilot, lambda: pick.has_focus)
        for login in ("chloe", "david"):
            pick.highlighted = [
                str(pick.get_option_at_index(i).value) for i in range(pick.option_count)
            ].index(login)
            await pilot.press("space")
            await wait_until(pilot, lambda login=login: login in pick.selected)
        await save_dialog(app, pilot)
        await wait_screen(app, pilot, AdminScreen)
        assert (await queue_row(app.services, "Billing")).members == ("chloe", "david")
        await wait_until(
            pilot, lambda: cell(app, "queues", str(row.id), "members") == "chloe, david"
        )
        events = await app.services.admin.audit_trail(Actor("admin"), action="queue.members")
        assert [e.target for e in events] == ["queue:Billing"]
        no_unexpected_error(app)


# --- blacklist -----------------------------------------------------------------------------------


async def test_blacklist_add_then_a_duplicate_is_refused(tmp_path: Path) -> None:
    app = fixed_app(await demo_url(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await open_admin(app, pilot)
        await show_tab(app, pilot, "blacklist")
        table(app, "blacklist").focus()
        await pilot.press("n")
        dialog = await wait_screen(app, pilot, BlacklistDialog)
        dialog.query_one("#bl-number", Input).value = "+33 6 12 99 90 01"
        dialog.query_one("#bl-reason", Input).value = "abusive replies"
        await save_dialog(app, pilot)
        await wait_screen(app, pilot, AdminScreen)
        await wait_until(pilot, lambda: column(app, "blacklist", "number") == [BLOCKED])
        cells = row_cells(app, "blacklist", BLOCKED)
        assert cells["reason"] == "abusive replies"
        assert cells["by"] == "admin"

        table(app, "blacklist").focus()
        await pilot.press("n")
        dialog = await wait_screen(app, pilot, BlacklistDialog)
        dialog.query_one("#bl-number", Input).value = BLOCKED
        await save_dialog(app, pilot)
        assert app.screen is dialog
        error = dialog_error(app)
        assert "Invalid blacklist entry" in error, error
        assert "already" in error, error
        assert [e.number for e in await app.services.admin.blacklist(Actor("admin"))] == [BLOCKED]
        await pilot.press("escape")
        # Back, and every worker ended (a reload the cancel started would be done).
        await wait_screen(app, pilot, AdminScreen)
        assert column(app, "blacklist", "number") == [BLOCKED]
        no_unexpected_error(app)


async def test_new_opens_a_blank_form_on_every_tab_that_offers_it(tmp_path: Path) -> None:
    """Reproduction (issue #18): New was routed by an if/elif on the tab id and did nothing on
    the Templates, Profiles and SMS numbers tabs, while the footer offered it there."""
    url = await demo_url(tmp_path)
    app = fixed_app(url)
    async with app.run_test(size=SIZE) as pilot:
        await open_admin(app, pilot)
        for tab, form in (("templates", TemplateDialog), ("profiles", ProfileDialog)):
            await show_tab(app, pilot, tab)
            table(app, tab).focus()
            await pilot.press("n")
            dialog = await wait_screen(app, pilot, form)
            assert dialog.row is None
            await pilot.press("escape")
            await wait_screen(app, pilot, AdminScreen)
        await show_tab(app, pilot, "numbers")
        before = column(app, "numbers", "number")
        table(app, "numbers").focus()
        await pilot.press("n")
        dialog = await wait_screen(app, pilot, NumberDialog)
        dialog.query_one("#n-number", Input).value = "+33757000099"
        dialog.query_one("#n-label", Input).value = "Spare"
        await save_dialog(app, pilot)
        await wait_screen(app, pilot, AdminScreen)
        await wait_until(pilot, lambda: "+33757000099" in column(app, "numbers", "number"))
        assert len(column(app, "numbers", "number")) == len(before) + 1
        no_unexpected_error(app)


async def test_blacklist_remove_asks_first(tmp_path: Path) -> None:
    url = await demo_url(tmp_path)
    app = fixed_app(url)
    await app.services.admin.add_to_blacklist(Actor("admin"), BLOCKED, "spam")
    await app.services.admin.add_to_blacklist(Actor("admin"), "+33612999002", "spam too")
    async with app.run_test(size=SIZE) as pilot:
        await open_admin(app, pilot)
        await show_tab(app, pilot, "blacklist")
        assert column(app, "blacklist", "number") == [BLOCKED, "+33612999002"]
        await cursor_to(app, pilot, "blacklist", BLOCKED)
        await pilot.press("d")
        await wait_screen(app, pilot, ConfirmDialog, skip=CONFIRMING)
        await pilot.press("escape")  # cancelled: nothing removed
        # Back, and the remove worker has ended (it would have removed before ending).
        await wait_screen(app, pilot, AdminScreen)
        await settle(app, pilot)
        assert len(await app.services.admin.blacklist(Actor("admin"))) == 2

        await cursor_to(app, pilot, "blacklist", BLOCKED)
        await pilot.press("d")
        dialog = await wait_screen(app, pilot, ConfirmDialog, skip=CONFIRMING)
        assert BLOCKED in text_of(dialog.query_one("#question", Static))
        await pilot.press("y")
        await wait_screen(app, pilot, AdminScreen)
        await wait_until(pilot, lambda: column(app, "blacklist", "number") == ["+33612999002"])
        assert [e.number for e in await app.services.admin.blacklist(Actor("admin"))] == [
            "+33612999002"
        ]
        no_unexpected_error(app)


# --- bots ----------------------------------------------------------------------------------------


async def add_bot(app: BannerApp, pilot: Pilot[None], queue: str, template: str) -> BotDialog:
    table(app, "bots").focus()
    await pilot.press("n")
    dialog = await wait_screen(app, pilot, BotDialog)
    assert isinstance(dialog, BotDialog)
    dialog.query_one("#bot-queue", Select).value = (await queue_row(app.services, queue)).id
    pick = dialog.query_one("#bot-template", Select)
    await wait_until(pilot, lambda: template in offered(pick))
    pick.value = template
    await save_dialog(app, pilot)
    return dialog


def offered(pick: Select[str]) -> list[str]:
    """The template names a Select offers (its options' values)."""
    return [str(value) for _prompt, value in pick._options if isinstance(value, str)]


@pytest.mark.parametrize(
    ("template", "refusal"),
    [
        ("Draft (empty)", "Invalid template: no usable template named 'Draft (empty)'"),
        # SPEC §7: a bot never sends a literal $variable: refused when configured.
        ("Appointment reminder", "Template variables missing: $firstname, $date, $time"),
    ],
)
async def test_a_bot_needs_a_usable_template(tmp_path: Path, template: str, refusal: str) -> None:
    app = fixed_app(await demo_url(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await open_admin(app, pilot)
        await show_tab(app, pilot, "bots")
        dialog = await add_bot(app, pilot, "Support", template)
        assert app.screen is dialog
        error = dialog_error(app)
        assert refusal in error, error
        assert await app.services.admin.bots(Actor("admin")) == []
        no_unexpected_error(app)


async def test_the_bot_form_offers_the_chosen_queues_templates_only(tmp_path: Path) -> None:
    # Issue #19 (Q3): the template was typed as free text, and another queue's was accepted.
    app = fixed_app(await demo_url(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await open_admin(app, pilot)
        await show_tab(app, pilot, "bots")
        table(app, "bots").focus()
        await pilot.press("n")
        dialog = await wait_screen(app, pilot, BotDialog)
        pick = dialog.query_one("#bot-template", Select)
        queue = dialog.query_one("#bot-queue", Select)
        queue.value = (await queue_row(app.services, "Sales")).id
        await wait_until(pilot, lambda: "Spring offer" in offered(pick))
        assert sorted(offered(pick)) == ["Appointment reminder", "Greeting", "Spring offer"]
        queue.value = (await queue_row(app.services, "Support")).id
        await wait_until(pilot, lambda: "Spring offer" not in offered(pick))
        assert "Ticket follow-up" in offered(pick)
        await save_dialog(app, pilot)  # no template chosen: named
        assert "Choose one of the queue's templates" in dialog_error(app)
        no_unexpected_error(app)


async def test_bots_are_added_toggled_and_removed(tmp_path: Path) -> None:
    app = fixed_app(await demo_url(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await open_admin(app, pilot)
        await show_tab(app, pilot, "bots")
        await add_bot(app, pilot, "Support", "Greeting")
        await wait_screen(app, pilot, AdminScreen)
        await wait_until(pilot, lambda: table(app, "bots").row_count == 1)
        (bot,) = await app.services.admin.bots(Actor("admin"))
        assert (bot.queue, bot.trigger, bot.template, bot.enabled) == (
            "Support",
            "on_start",
            "Greeting",
            True,
        )
        cells = row_cells(app, "bots", str(bot.id))
        assert (cells["queue"], cells["template"], cells["on"]) == (
            "Support",
            "Greeting",
            "yes",
        )

        await cursor_to(app, pilot, "bots", str(bot.id))
        await pilot.press("space")
        await wait_until(pilot, lambda: cell(app, "bots", str(bot.id), "on") == "no")
        assert not (await app.services.admin.bots(Actor("admin")))[0].enabled
        await cursor_to(app, pilot, "bots", str(bot.id))
        await pilot.press("space")
        await wait_until(pilot, lambda: cell(app, "bots", str(bot.id), "on") == "yes")
        assert (await app.services.admin.bots(Actor("admin")))[0].enabled

        await cursor_to(app, pilot, "bots", str(bot.id))
        await pilot.press("d")
        await wait_screen(app, pilot, ConfirmDialog, skip=CONFIRMING)
        await pilot.press("y")
        await wait_screen(app, pilot, AdminScreen)
        await wait_until(pilot, lambda: table(app, "bots").row_count == 0)
        assert await app.services.admin.bots(Actor("admin")) == []
        actions = [
            e.action for e in await app.services.admin.audit_trail(Actor("admin"), action="bot.")
        ]
        assert actions == ["bot.removed", "bot.enabled", "bot.disabled", "bot.added"]
        no_unexpected_error(app)


# --- provider ------------------------------------------------------------------------------------


def closed_port() -> int:
    """A loopback port nothing listens on (bound then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def provider_result(app: BannerApp) -> str:
    return text_of(admin_screen(app).query_one("#p-result", Static))


def save_button(app: BannerApp) -> Button:
    return admin_screen(app).query_one("#p-save", Button)


async def press_button(app: BannerApp, pilot: Pilot[None], button_id: str) -> None:
    """Press the button; the caller waits for what it leads to (a result line)."""
    button = admin_screen(app).query_one(f"#{button_id}", Button)
    button.press()
    await handled(pilot, button)  # its Pressed handled: the worker has started


async def open_provider(app: BannerApp, pilot: Pilot[None]) -> AdminScreen:
    await open_admin(app, pilot)
    screen = await show_tab(app, pilot, "provider")
    url = screen.query_one("#p-url", Input)
    await wait_until(pilot, lambda: url.value == "https://127.0.0.1:8443/v1/sms")
    await handled(pilot, url)  # the stored values' Changed seen by the form
    await settle(app, pilot)
    return screen


async def test_provider_refuses_a_plain_http_url(tmp_path: Path) -> None:
    app = fixed_app(await demo_url(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_provider(app, pilot)
        screen.query_one("#p-url", Input).value = "http://127.0.0.1:8080/v1/sms"
        await press_button(app, pilot, "p-test")
        await wait_until(pilot, lambda: "Invalid provider URL" in provider_result(app))
        assert "https://" in provider_result(app)
        assert save_button(app).disabled
        assert (await app.services.provider.get()).url == "https://127.0.0.1:8443/v1/sms"
        no_unexpected_error(app)


async def test_provider_test_then_save_against_the_simulator(tmp_path: Path) -> None:
    tls = make_tls(tmp_path / "tls")
    url = await demo_url(tmp_path)
    async with Simulator(SimulatorConfig(), tls) as sim:
        app = fixed_app(url)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_provider(app, pilot)
            assert save_button(app).disabled
            screen.query_one("#p-url", Input).value = sim.url
            screen.query_one("#p-ca", Input).value = str(tls.ca)
            assert not screen.query_one("#p-auth", Checkbox).value
            await pilot.click("#p-test")
            await wait_until(pilot, lambda: not save_button(app).disabled)
            result = provider_result(app)
            assert result.startswith("reachable"), result
            assert "The provider is reachable" in result

            # Any change after a good test asks for a new test; the tested values again do not.
            login = screen.query_one("#p-login", Input)
            await pilot.click("#p-login")
            await wait_until(pilot, lambda: app.focused is login)
            await pilot.press("x")
            await wait_until(pilot, lambda: login.value == "x")
            await wait_until(pilot, lambda: save_button(app).disabled)
            await pilot.press("backspace")
            await wait_until(pilot, lambda: not save_button(app).disabled)
            ca = screen.query_one("#p-ca", Input)
            ca.value = str(tls.ca) + " "
            await handled(pilot, ca)  # the form has seen the change (Save would turn off now)
            assert not save_button(app).disabled  # stripped: still the tested values
            screen.query_one("#p-url", Input).value = sim.url + "x"
            await wait_until(pilot, lambda: save_button(app).disabled)
            screen.query_one("#p-url", Input).value = sim.url
            await wait_until(pilot, lambda: not save_button(app).disabled)
            screen.query_one("#p-auth", Checkbox).value = True
            await wait_until(pilot, lambda: save_button(app).disabled)
            screen.query_one("#p-auth", Checkbox).value = False
            await wait_until(pilot, lambda: not save_button(app).disabled)

            # A failed test (nothing listens there) leaves Save disabled.
            screen.query_one("#p-url", Input).value = sim.url.replace(
                f":{sim.port}", f":{closed_port()}"
            )
            await press_button(app, pilot, "p-test")
            await wait_until(pilot, lambda: provider_result(app).startswith("unreachable"))
            assert save_button(app).disabled
            url_box = screen.query_one("#p-url", Input)
            url_box.value = sim.url
            await handled(pilot, url_box)  # the form has seen the change (Save would turn on now)
            assert save_button(app).disabled  # the failed test forgot the good one

            await pilot.click("#p-test")
            await wait_until(pilot, lambda: not save_button(app).disabled)
            await pilot.click("#p-save")
            await wait_until(pilot, lambda: "Saved" in provider_result(app))
            assert save_button(app).disabled
            stored = await app.services.provider.get()
            assert stored.url == sim.url
            assert stored.ca_file == str(tls.ca)
            assert stored.auth_enabled is False
            assert stored.login is None
            events = await app.services.admin.audit_trail(Actor("admin"), action="provider.updated")
            assert len(events) == 1
            assert sim.url in events[0].detail
            no_unexpected_error(app)


# --- audit trail ---------------------------------------------------------------------------------


async def test_audit_trail_filters(tmp_path: Path) -> None:
    url = await demo_url(tmp_path)
    app = fixed_app(url)
    admin = app.services.admin
    await admin.add_to_blacklist(Actor("admin"), BLOCKED, "spam caller")
    await admin.add_to_blacklist(Actor("admin"), "+33612999002", "wrong number")
    support = await queue_row(app.services, "Support")
    await admin.add_bot(Actor("admin"), support.id, "on_start", "Greeting")
    await app.services.people.create_group(Actor("alice"), "Spamwatch")
    await app.services.people.create_group(Actor("bruno"), "Partners")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_admin(app, pilot)
        await show_tab(app, pilot, "audit")
        await wait_until(pilot, lambda: table(app, "audit").row_count == 5)
        status = text_of(screen.query_one("#admin-status", Static))
        assert "5 events shown" in status, status

        async def set_filter(field: str, value: str, *, typed: bool = False) -> None:
            box = screen.query_one(f"#audit-{field}", Input)
            if typed:  # keystrokes into the focused filter
                box.focus()
                box.value = ""
                await wait_until(pilot, lambda: app.focused is box)
                await pilot.press(*value)
            else:
                box.value = value
            await wait_until(pilot, lambda: box.value == value)
            await handled(pilot, box)  # its reload has started (it reads after a pause)

        def rows() -> list[tuple[str, str]]:
            """(who, action) of each row shown.  The filters' reloads read after a typing
            pause: each check below waits for the rows it expects."""
            t = table(app, "audit")
            return [
                (str(t.get_cell(r.key, "who")), str(t.get_cell(r.key, "action")))
                for r in t.ordered_rows
            ]

        await set_filter("who", "alice", typed=True)
        await wait_until(pilot, lambda: rows() == [("alice", "group.created")])
        await set_filter("who", "admin")
        await wait_until(
            pilot,
            lambda: [a for _, a in rows()] == ["bot.added", "blacklist.added", "blacklist.added"],
        )
        await set_filter("who", "")
        await set_filter("action", "group")
        await wait_until(pilot, lambda: sorted(w for w, _ in rows()) == ["alice", "bruno"])
        await set_filter("action", "blacklist.")
        await wait_until(
            pilot, lambda: [a for _, a in rows()] == ["blacklist.added", "blacklist.added"]
        )
        await set_filter("action", "")
        await set_filter("text", "spam")  # in a detail: a reason, a group's name
        await wait_until(pilot, lambda: sorted(w for w, _ in rows()) == ["admin", "alice"])
        t = table(app, "audit")
        assert any(str(t.get_cell(r.key, "target")) == BLOCKED for r in t.ordered_rows)
        # Filters combine.
        await set_filter("action", "group")
        await wait_until(pilot, lambda: rows() == [("alice", "group.created")])
        status = text_of(screen.query_one("#admin-status", Static))
        assert "1 event shown" in status, status
        no_unexpected_error(app)


async def test_older_pressed_as_a_filter_is_typed_shows_the_new_filters_first_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A typed filter reads once typing pauses; "older" ( ] ) in that pause cancels the
    waiting read (the same worker group) and reads the new filter's first page instead of
    adding older rows below the old filter's.  The pause is made longer than any wait here,
    so the rows can only come from "older", and a read left waiting fails the settle."""
    monkeypatch.setattr(base, "TYPING_PAUSE_SECONDS", 2 * WAIT_FLOOR_SECONDS)
    app = fixed_app(await demo_url(tmp_path))
    admin = app.services.admin
    await admin.add_to_blacklist(Actor("admin"), BLOCKED, "spam caller")
    await app.services.people.create_group(Actor("alice"), "Spamwatch")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_admin(app, pilot)
        await show_tab(app, pilot, "audit")
        await wait_until(pilot, lambda: table(app, "audit").row_count == 2)
        box = screen.query_one("#audit-action", Input)
        box.value = "group."
        await handled(pilot, box)  # the keystroke's read now waits for the typing to pause
        screen.action_older()
        await wait_until(pilot, lambda: column(app, "audit", "action") == ["group.created"])
        await settle(app, pilot)
        assert column(app, "audit", "action") == ["group.created"]
        no_unexpected_error(app)


def screen_text(app: BannerApp) -> str:
    """What the terminal shows, as plain lines."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def test_audit_trail_shows_the_whole_time(tmp_path: Path) -> None:
    app = fixed_app(await demo_url(tmp_path))
    await app.services.admin.add_to_blacklist(Actor("admin"), BLOCKED, "spam caller")
    async with app.run_test(size=SIZE) as pilot:
        await open_admin(app, pilot)
        await show_tab(app, pilot, "audit")
        await wait_until(pilot, lambda: table(app, "audit").row_count == 1)
        assert column(app, "audit", "at") == ["02 Nov 10:00"]
        # The row is painted after it is added.
        await wait_until(pilot, lambda: "02 Nov 10:00" in screen_text(app))
        shown = screen_text(app)
        assert "blacklist.added" in shown
        assert "02 Nov 10:00" in shown, shown


# --- snapshot ------------------------------------------------------------------------------------


def test_queues_tab_snapshot_80x24(tmp_path: Path, snap_compare: Any) -> None:
    app = fixed_app(prepare_demo_database(tmp_path))

    async def run_before(pilot: Pilot[Any]) -> None:
        await open_admin(pilot.app, pilot)  # type: ignore[arg-type]
        table(pilot.app, "queues").focus()  # type: ignore[arg-type]
        await settle_screen(pilot, quiet=0.3)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


async def test_the_template_form_names_the_variables_as_they_are_typed(tmp_path: Path) -> None:
    # Issue #19 (Q1): templates with the credit counter and the variables found.
    from textual.widgets import TextArea

    from bannertui.ui.widgets.message_editor import MessageEditor

    app = fixed_app(await demo_url(tmp_path))
    async with app.run_test(size=(100, 40)) as pilot:
        await open_admin(app, pilot)
        await show_tab(app, pilot, "templates")
        table(app, "templates").focus()
        await pilot.press("n")
        dialog = await wait_screen(app, pilot, TemplateDialog)
        found = dialog.query_one("#t-variables", Static)
        assert text_of(found) == "No variable"
        area = dialog.query_one(MessageEditor).query_one(TextArea)
        area.focus()
        await wait_until(pilot, lambda: area.has_focus)
        await pilot.press(*"Hi $firstname|there, on $date")
        await wait_until(pilot, lambda: text_of(found) == "Variables found: $firstname, $date")
        dialog.query_one("#t-name", Input).value = "Heads-up"
        await save_dialog(app, pilot)
        await wait_screen(app, pilot, AdminScreen)
        (row,) = [
            t for t in await app.services.admin.templates(Actor("admin")) if t.name == "Heads-up"
        ]
        assert row.variables == ["firstname", "date"]
        no_unexpected_error(app)


async def test_the_profile_form_names_every_refusal_beside_its_field(tmp_path: Path) -> None:
    # Issue #19 (Q1): every form validates all its fields at once, each refusal beside it.
    app = fixed_app(await demo_url(tmp_path))
    async with app.run_test(size=(100, 50)) as pilot:
        await open_admin(app, pilot)
        await show_tab(app, pilot, "profiles")
        table(app, "profiles").focus()
        await pilot.press("n")
        dialog = await wait_screen(app, pilot, ProfileDialog)
        dialog.query_one("#pr-max", Input).value = "lots"
        dialog.query_one("#pr-countries", Input).value = "Atlantis"
        dialog.query_one("#pr-numbers", Input).value = "+33757000099"
        await save_dialog(app, pilot)
        assert app.screen is dialog
        assert dialog_error(app) == "4 fields to correct: see beside each"
        shown = [str(e.id) for e in dialog.query(".field-error").results(Static) if e.display]
        assert shown == [
            "err-name",
            "err-max_simultaneous",
            "err-authorized_countries",
            "err-sender_numbers",
        ]
        assert "got 'lots'" in text_of(dialog.query_one("#err-max_simultaneous", Static))
        no_unexpected_error(app)


async def test_d_deletes_a_profile_nobody_has_after_asking(tmp_path: Path) -> None:
    from bannertui.services.admin import ProfileSettings

    app = fixed_app(await demo_url(tmp_path))
    spare = await app.services.admin.save_profile(Actor("admin"), ProfileSettings(name="Spare"))
    async with app.run_test(size=SIZE) as pilot:
        await open_admin(app, pilot)
        await show_tab(app, pilot, "profiles")
        await wait_until(pilot, lambda: str(spare) in table(app, "profiles").rows)
        await cursor_to(app, pilot, "profiles", str(spare))
        await pilot.press("d")
        await wait_screen(app, pilot, ConfirmDialog, skip=CONFIRMING)
        await pilot.click("#confirm")
        await wait_screen(app, pilot, AdminScreen)
        await wait_until(pilot, lambda: str(spare) not in table(app, "profiles").rows)
        names = {p.settings.name for p in await app.services.admin.profiles(Actor("admin"))}
        assert "Spare" not in names
        no_unexpected_error(app)


async def test_e_changes_a_numbers_label(tmp_path: Path) -> None:
    # Issue #19 (Q1): our numbers could be added and removed, not edited.
    app = fixed_app(await demo_url(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await open_admin(app, pilot)
        await show_tab(app, pilot, "numbers")
        (paris,) = [
            n
            for n in await app.services.admin.numbers(Actor("admin"))
            if n.number == "+33757000001"
        ]
        await cursor_to(app, pilot, "numbers", str(paris.id))
        await pilot.press("e")
        dialog = await wait_screen(app, pilot, NumberDialog)
        assert dialog.query_one("#n-number", Input).disabled
        dialog.query_one("#n-label", Input).value = "Paris front desk"
        await save_dialog(app, pilot)
        await wait_screen(app, pilot, AdminScreen)
        await wait_until(
            pilot, lambda: "Paris front desk" in cell(app, "numbers", str(paris.id), "label")
        )
        no_unexpected_error(app)
