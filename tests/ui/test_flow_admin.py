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
from textual.widgets import Button, Checkbox, DataTable, Input, Select, Static, TabbedContent

from bannertui.provider.secrets import ENV_VAR
from bannertui.provider.simulator import Simulator, SimulatorConfig, make_tls
from bannertui.services import Services
from bannertui.services.admin import QueueRow
from bannertui.store.database import Database
from bannertui.testing import (
    DEMO_NOW,
    prepare_demo_database,
    prepare_demo_database_async,
    wait_until,
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
    QueueDialog,
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
    return BannerApp(Services(Database(url), clock=lambda: DEMO_NOW), login=login)


async def demo_url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.sqlite3'}"
    await prepare_demo_database_async(url)
    return url


def text_of(widget: Static) -> str:
    return str(widget.render())


def notifications(app: BannerApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


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


def dialog_error(app: BannerApp) -> str:
    return text_of(app.screen.query_one("#dialog-error", Static))


async def settle(app: BannerApp, pilot: Pilot[None]) -> None:
    workers = list(app.workers)
    if workers:
        await asyncio.wait_for(app.workers.wait_for_complete(workers), 10)
    await pilot.pause()


async def wait_screen(app: BannerApp, pilot: Pilot[None], kind: type, timeout: float = 3) -> Any:
    await wait_until(pilot, lambda: isinstance(app.screen, kind), timeout)
    await pilot.pause()
    return app.screen


async def open_admin(app: BannerApp, pilot: Pilot[None]) -> AdminScreen:
    await wait_until(pilot, lambda: isinstance(app.screen, BannerScreen), 5)
    await settle(app, pilot)
    await pilot.press("f10")
    screen = await wait_screen(app, pilot, AdminScreen, 5)
    await wait_until(pilot, lambda: table(app, "queues").row_count == 3, 5)
    await settle(app, pilot)
    return screen


async def show_tab(app: BannerApp, pilot: Pilot[None], tab: str) -> AdminScreen:
    screen = admin_screen(app)
    screen.query_one(TabbedContent).active = f"tab-{tab}"
    await pilot.pause()
    await settle(app, pilot)
    return screen


async def cursor_to(app: BannerApp, pilot: Pilot[None], name: str, row_key: str) -> None:
    t = table(app, name)
    t.focus()
    index = t.get_row_index(row_key)
    t.move_cursor(row=index, animate=False)
    await pilot.pause()


async def queue_row(services: Services, name: str) -> QueueRow:
    return next(r for r in await services.admin.queues("admin") if r.settings.name == name)


async def edit_queue(app: BannerApp, pilot: Pilot[None], name: str) -> QueueDialog:
    row = await queue_row(app.services, name)
    await cursor_to(app, pilot, "queues", str(row.id))
    await pilot.press("e")
    dialog = await wait_screen(app, pilot, QueueDialog)
    assert isinstance(dialog, QueueDialog)
    return dialog


async def save_dialog(app: BannerApp, pilot: Pilot[None]) -> None:
    await pilot.press("ctrl+s")
    await pilot.pause()
    await settle(app, pilot)


# --- F10: who may open it ------------------------------------------------------------------------


@pytest.mark.parametrize("login", ["alice", "sam"])
async def test_non_administrators_are_refused_by_name(tmp_path: Path, login: str) -> None:
    app = fixed_app(await demo_url(tmp_path), login)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, BannerScreen), 5)
        await settle(app, pilot)
        await pilot.press("f10")
        await pilot.pause(0.3)
        await settle(app, pilot)
        assert not any(isinstance(s, AdminScreen) for s in app.screen_stack)
        assert isinstance(app.screen, BannerScreen)
        messages = notifications(app)
        assert any("Not allowed" in m and "administrators" in m for m in messages), messages


async def test_the_administrator_sees_the_demo_queues(tmp_path: Path) -> None:
    app = fixed_app(await demo_url(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await open_admin(app, pilot)
        rows = {r.settings.name: r for r in await app.services.admin.queues("admin")}
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
        audit = await app.services.admin.audit_trail("admin", action="queue.")
        assert audit == []
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, AdminScreen)
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
        await wait_until(pilot, lambda: isinstance(app.screen, AdminScreen), 3)
        after = await queue_row(app.services, "Support")
        assert after.settings.strategy == "least_busy"
        assert after.settings.service_level_s == 45
        assert after.settings.opening_hours == "mon-fri 09:00-17:30; sat 10:00-12:00"
        assert after.settings.number == SUPPORT_NUMBER  # untouched fields stay
        assert after.members == ("alice", "bruno")
        await wait_until(
            pilot,
            lambda: row_cells(app, "queues", str(after.id))["strategy"] == "least_busy",
            3,
        )
        assert row_cells(app, "queues", str(after.id))["sl"] == "45"
        assert "Saved" in notifications(app)

        await show_tab(app, pilot, "audit")
        actions = column(app, "audit", "action")
        assert "queue.updated" in actions, actions
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


async def test_members_dialog_refuses_an_unknown_agent(tmp_path: Path) -> None:
    app = fixed_app(await demo_url(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await open_admin(app, pilot)
        row = await queue_row(app.services, "Sales")
        await cursor_to(app, pilot, "queues", str(row.id))
        await pilot.press("m")
        dialog = await wait_screen(app, pilot, MembersDialog)
        members = dialog.query_one("#members", Input)
        assert members.value == "alice, bruno"
        members.value = "alice, zoltan"
        await save_dialog(app, pilot)
        assert app.screen is dialog
        error = dialog_error(app)
        assert "Unknown agent" in error, error
        assert "zoltan" in error, error
        assert (await queue_row(app.services, "Sales")).members == ("alice", "bruno")
        no_unexpected_error(app)


async def test_members_are_saved(tmp_path: Path) -> None:
    app = fixed_app(await demo_url(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await open_admin(app, pilot)
        row = await queue_row(app.services, "Billing")
        await cursor_to(app, pilot, "queues", str(row.id))
        await pilot.press("m")
        dialog = await wait_screen(app, pilot, MembersDialog)
        dialog.query_one("#members", Input).value = "chloe, david"
        await save_dialog(app, pilot)
        await wait_until(pilot, lambda: isinstance(app.screen, AdminScreen), 3)
        assert (await queue_row(app.services, "Billing")).members == ("chloe", "david")
        await wait_until(
            pilot, lambda: row_cells(app, "queues", str(row.id))["members"] == "chloe, david", 3
        )
        events = await app.services.admin.audit_trail("admin", action="queue.members")
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
        await wait_until(pilot, lambda: isinstance(app.screen, AdminScreen), 3)
        await wait_until(pilot, lambda: column(app, "blacklist", "number") == [BLOCKED], 3)
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
        assert [e.number for e in await app.services.admin.blacklist("admin")] == [BLOCKED]
        await pilot.press("escape")
        await pilot.pause()
        assert column(app, "blacklist", "number") == [BLOCKED]
        no_unexpected_error(app)


async def test_blacklist_remove_asks_first(tmp_path: Path) -> None:
    url = await demo_url(tmp_path)
    app = fixed_app(url)
    await app.services.admin.add_to_blacklist("admin", BLOCKED, "spam")
    await app.services.admin.add_to_blacklist("admin", "+33612999002", "spam too")
    async with app.run_test(size=SIZE) as pilot:
        await open_admin(app, pilot)
        await show_tab(app, pilot, "blacklist")
        assert column(app, "blacklist", "number") == [BLOCKED, "+33612999002"]
        await cursor_to(app, pilot, "blacklist", BLOCKED)
        await pilot.press("d")
        await wait_screen(app, pilot, ConfirmDialog)
        await pilot.press("escape")  # cancelled: nothing removed
        await wait_screen(app, pilot, AdminScreen)
        await settle(app, pilot)
        assert len(await app.services.admin.blacklist("admin")) == 2

        await cursor_to(app, pilot, "blacklist", BLOCKED)
        await pilot.press("d")
        dialog = await wait_screen(app, pilot, ConfirmDialog)
        assert BLOCKED in text_of(dialog.query_one("#question", Static))
        await pilot.press("y")
        await wait_screen(app, pilot, AdminScreen)
        await wait_until(pilot, lambda: column(app, "blacklist", "number") == ["+33612999002"], 3)
        assert [e.number for e in await app.services.admin.blacklist("admin")] == ["+33612999002"]
        no_unexpected_error(app)


# --- bots ----------------------------------------------------------------------------------------


async def add_bot(app: BannerApp, pilot: Pilot[None], queue: str, template: str) -> BotDialog:
    table(app, "bots").focus()
    await pilot.press("n")
    dialog = await wait_screen(app, pilot, BotDialog)
    assert isinstance(dialog, BotDialog)
    dialog.query_one("#bot-queue", Select).value = (await queue_row(app.services, queue)).id
    dialog.query_one("#bot-template", Input).value = template
    await save_dialog(app, pilot)
    return dialog


@pytest.mark.parametrize("template", ["No such template", "Draft (empty)"])
async def test_a_bot_needs_a_usable_template(tmp_path: Path, template: str) -> None:
    app = fixed_app(await demo_url(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await open_admin(app, pilot)
        await show_tab(app, pilot, "bots")
        dialog = await add_bot(app, pilot, "Support", template)
        assert app.screen is dialog
        error = dialog_error(app)
        assert "Invalid template" in error, error
        assert template in error, error
        assert await app.services.admin.bots("admin") == []
        no_unexpected_error(app)


async def test_bots_are_added_toggled_and_removed(tmp_path: Path) -> None:
    app = fixed_app(await demo_url(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await open_admin(app, pilot)
        await show_tab(app, pilot, "bots")
        await add_bot(app, pilot, "Support", "Appointment reminder")
        await wait_until(pilot, lambda: isinstance(app.screen, AdminScreen), 3)
        await wait_until(pilot, lambda: table(app, "bots").row_count == 1, 3)
        (bot,) = await app.services.admin.bots("admin")
        assert (bot.queue, bot.trigger, bot.template, bot.enabled) == (
            "Support",
            "on_start",
            "Appointment reminder",
            True,
        )
        cells = row_cells(app, "bots", str(bot.id))
        assert (cells["queue"], cells["template"], cells["on"]) == (
            "Support",
            "Appointment reminder",
            "yes",
        )

        await cursor_to(app, pilot, "bots", str(bot.id))
        await pilot.press("space")
        await wait_until(pilot, lambda: row_cells(app, "bots", str(bot.id))["on"] == "no", 3)
        assert not (await app.services.admin.bots("admin"))[0].enabled
        await cursor_to(app, pilot, "bots", str(bot.id))
        await pilot.press("space")
        await wait_until(pilot, lambda: row_cells(app, "bots", str(bot.id))["on"] == "yes", 3)
        assert (await app.services.admin.bots("admin"))[0].enabled

        await cursor_to(app, pilot, "bots", str(bot.id))
        await pilot.press("d")
        await wait_screen(app, pilot, ConfirmDialog)
        await pilot.press("y")
        await wait_screen(app, pilot, AdminScreen)
        await wait_until(pilot, lambda: table(app, "bots").row_count == 0, 3)
        assert await app.services.admin.bots("admin") == []
        actions = [e.action for e in await app.services.admin.audit_trail("admin", action="bot.")]
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
    admin_screen(app).query_one(f"#{button_id}", Button).press()
    await pilot.pause()
    await settle(app, pilot)


async def open_provider(app: BannerApp, pilot: Pilot[None]) -> AdminScreen:
    await open_admin(app, pilot)
    screen = await show_tab(app, pilot, "provider")
    await wait_until(
        pilot, lambda: screen.query_one("#p-url", Input).value == "https://127.0.0.1:8443/v1/sms", 3
    )
    await pilot.pause()
    return screen


async def test_provider_refuses_a_plain_http_url(tmp_path: Path) -> None:
    app = fixed_app(await demo_url(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_provider(app, pilot)
        screen.query_one("#p-url", Input).value = "http://127.0.0.1:8080/v1/sms"
        await pilot.pause()
        await press_button(app, pilot, "p-test")
        await wait_until(pilot, lambda: "Invalid provider URL" in provider_result(app), 3)
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
            await pilot.pause()
            await pilot.click("#p-test")
            await settle(app, pilot)
            await wait_until(pilot, lambda: not save_button(app).disabled, 10)
            result = provider_result(app)
            assert result.startswith("reachable"), result
            assert "The provider is reachable" in result

            # Any change after a good test asks for a new test; the tested values again do not.
            login = screen.query_one("#p-login", Input)
            await pilot.click("#p-login")
            await pilot.press("x")
            await pilot.pause()
            assert login.value == "x"
            assert save_button(app).disabled
            await pilot.press("backspace")
            await pilot.pause()
            assert not save_button(app).disabled
            screen.query_one("#p-ca", Input).value = str(tls.ca) + " "
            await pilot.pause()
            assert not save_button(app).disabled  # stripped: still the tested values
            screen.query_one("#p-url", Input).value = sim.url + "x"
            await pilot.pause()
            assert save_button(app).disabled
            screen.query_one("#p-url", Input).value = sim.url
            await pilot.pause()
            assert not save_button(app).disabled
            screen.query_one("#p-auth", Checkbox).value = True
            await pilot.pause()
            assert save_button(app).disabled
            screen.query_one("#p-auth", Checkbox).value = False
            await pilot.pause()
            assert not save_button(app).disabled

            # A failed test (nothing listens there) leaves Save disabled.
            screen.query_one("#p-url", Input).value = sim.url.replace(
                f":{sim.port}", f":{closed_port()}"
            )
            await pilot.pause()
            await press_button(app, pilot, "p-test")
            await wait_until(pilot, lambda: provider_result(app).startswith("unreachable"), 10)
            assert save_button(app).disabled
            screen.query_one("#p-url", Input).value = sim.url
            await pilot.pause()
            assert save_button(app).disabled  # the failed test forgot the good one

            await pilot.click("#p-test")
            await settle(app, pilot)
            await wait_until(pilot, lambda: not save_button(app).disabled, 10)
            await pilot.click("#p-save")
            await settle(app, pilot)
            await wait_until(pilot, lambda: "Saved" in provider_result(app), 5)
            assert save_button(app).disabled
            stored = await app.services.provider.get()
            assert stored.url == sim.url
            assert stored.ca_file == str(tls.ca)
            assert stored.auth_enabled is False
            assert stored.login is None
            events = await app.services.admin.audit_trail("admin", action="provider.updated")
            assert len(events) == 1
            assert sim.url in events[0].detail
            no_unexpected_error(app)


# --- audit trail ---------------------------------------------------------------------------------


async def test_audit_trail_filters(tmp_path: Path) -> None:
    url = await demo_url(tmp_path)
    app = fixed_app(url)
    admin = app.services.admin
    await admin.add_to_blacklist("admin", BLOCKED, "spam caller")
    await admin.add_to_blacklist("admin", "+33612999002", "wrong number")
    support = await queue_row(app.services, "Support")
    await admin.add_bot("admin", support.id, "on_start", "Appointment reminder")
    await app.services.people.create_group("alice", "Spamwatch")
    await app.services.people.create_group("bruno", "Partners")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_admin(app, pilot)
        await show_tab(app, pilot, "audit")
        await wait_until(pilot, lambda: table(app, "audit").row_count == 5, 3)
        status = text_of(screen.query_one("#admin-status", Static))
        assert "5 events shown" in status, status

        async def filtered(field: str, value: str, *, typed: bool = False) -> list[tuple[str, str]]:
            box = screen.query_one(f"#audit-{field}", Input)
            if typed:  # keystrokes into the focused filter
                box.focus()
                box.value = ""
                await pilot.pause()
                await pilot.press(*value)
            else:
                box.value = value
            await wait_until(pilot, lambda: box.value == value, 2)
            await pilot.pause()
            await settle(app, pilot)
            t = table(app, "audit")
            return [
                (str(t.get_cell(r.key, "who")), str(t.get_cell(r.key, "action")))
                for r in t.ordered_rows
            ]

        rows = await filtered("who", "alice", typed=True)
        assert rows == [("alice", "group.created")]
        rows = await filtered("who", "admin")
        assert [a for _, a in rows] == ["bot.added", "blacklist.added", "blacklist.added"]
        await filtered("who", "")
        rows = await filtered("action", "group")
        assert sorted(w for w, _ in rows) == ["alice", "bruno"]
        rows = await filtered("action", "blacklist.")
        assert [a for _, a in rows] == ["blacklist.added", "blacklist.added"]
        await filtered("action", "")
        rows = await filtered("text", "spam")  # in a detail: a reason, a group's name
        assert sorted(w for w, _ in rows) == ["admin", "alice"]
        t = table(app, "audit")
        assert any(str(t.get_cell(r.key, "target")) == BLOCKED for r in t.ordered_rows)
        # Filters combine.
        rows = await filtered("action", "group")
        assert rows == [("alice", "group.created")]
        status = text_of(screen.query_one("#admin-status", Static))
        assert "1 event shown" in status, status
        no_unexpected_error(app)


async def test_older_pressed_as_a_filter_is_typed_shows_the_new_filters_first_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A typed filter reads once typing pauses; "older" ( ] ) in that pause cancels the
    waiting read (the same worker group) and reads the new filter's first page instead of
    adding older rows below the old filter's."""
    monkeypatch.setattr(base, "TYPING_PAUSE_SECONDS", 1.0)
    app = fixed_app(await demo_url(tmp_path))
    admin = app.services.admin
    await admin.add_to_blacklist("admin", BLOCKED, "spam caller")
    await app.services.people.create_group("alice", "Spamwatch")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_admin(app, pilot)
        await show_tab(app, pilot, "audit")
        await wait_until(pilot, lambda: table(app, "audit").row_count == 2, 3)
        box = screen.query_one("#audit-action", Input)
        box.value = "group."
        await pilot.pause()  # the keystroke's read now waits for the typing to pause
        screen.action_older()
        await wait_until(pilot, lambda: column(app, "audit", "action") == ["group.created"], 0.8)
        await settle(app, pilot)
        assert column(app, "audit", "action") == ["group.created"]
        no_unexpected_error(app)


def screen_text(app: BannerApp) -> str:
    """What the terminal shows, as plain lines."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def test_audit_trail_shows_the_whole_time(tmp_path: Path) -> None:
    app = fixed_app(await demo_url(tmp_path))
    await app.services.admin.add_to_blacklist("admin", BLOCKED, "spam caller")
    async with app.run_test(size=SIZE) as pilot:
        await open_admin(app, pilot)
        await show_tab(app, pilot, "audit")
        await wait_until(pilot, lambda: table(app, "audit").row_count == 1, 3)
        assert column(app, "audit", "at") == ["02 Nov 10:00"]
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
