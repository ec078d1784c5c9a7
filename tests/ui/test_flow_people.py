"""People through the pilot (SPEC I8, I9): the contacts list and its search, creating, editing
and deleting contacts, groups as filters, and importing a CSV file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from textual import events
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, OptionList, Static

from bannertui.testing import (
    WAIT_FLOOR_SECONDS,
    app_for,
    demo_url,
    notifications,
    text_of,
    wait_until,
    workers_done,
)
from bannertui.ui.app import BannerApp
from bannertui.ui.screens import base
from bannertui.ui.screens.banner import BannerScreen
from bannertui.ui.screens.confirm import ConfirmDialog
from bannertui.ui.screens.people import ContactDialog, GroupDialog, ImportDialog, PeopleScreen

SIZE = (80, 24)
DEMO_NAMES = ["Inès Petit", "Jan Peeters", "Léa Moreau", "Nina Graf", "Thomas Bernard"]


# --- helpers -------------------------------------------------------------------------------------


def no_unexpected_error(app: BannerApp) -> None:
    unexpected = [n for n in notifications(app) if "Unexpected error" in n]
    assert not unexpected, unexpected


def people(app: BannerApp) -> PeopleScreen:
    return next(s for s in app.screen_stack if isinstance(s, PeopleScreen))


def table(app: BannerApp) -> DataTable[Any]:
    return people(app).query_one("#contacts", DataTable)


def names(app: BannerApp) -> list[str]:
    t = table(app)
    return [str(t.get_cell(row.key, "name")) for row in t.ordered_rows]


def row_of(app: BannerApp, name: str) -> dict[str, str]:
    t = table(app)
    for row in t.ordered_rows:
        if str(t.get_cell(row.key, "name")) == name:
            return {c: str(t.get_cell(row.key, c)) for c in ("name", "number", "company", "groups")}
    raise KeyError(name)


def group_labels(app: BannerApp) -> list[str]:
    views = people(app).query_one("#views", OptionList)
    return [str(views.get_option_at_index(i).prompt) for i in range(views.option_count)]


def status_text(app: BannerApp) -> str:
    return text_of(people(app).query_one("#people-status", Static))


def dialog_title(app: BannerApp) -> str:
    return text_of(app.screen.query_one(".dialog-title", Static))


def dialog_error(app: BannerApp) -> str:
    return text_of(app.screen.query_one("#dialog-error", Static))


async def settle(app: BannerApp, pilot: Pilot[None]) -> None:
    """Every worker the app has now done (bannertui.testing's timeout, 30 s), then a pause."""
    await workers_done(pilot)
    await pilot.pause()


#: The worker that opens the delete confirmation and waits for its answer.
CONFIRMING = frozenset({"delete"})


async def wait_screen(
    app: BannerApp, pilot: Pilot[None], kind: type, *, skip: frozenset[str] = frozenset()
) -> Any:
    """Wait until a ``kind`` screen is on top and mounted (its widgets composed, its on_mount
    run), then until the app's workers end, except those named in ``skip``."""
    await wait_until(pilot, lambda: isinstance(app.screen, kind) and app.screen.is_mounted)
    await workers_done(pilot, skip=skip)
    return app.screen


async def open_people(app: BannerApp, pilot: Pilot[None]) -> PeopleScreen:
    await wait_screen(app, pilot, BannerScreen)
    await pilot.press("f6")
    screen = await wait_screen(app, pilot, PeopleScreen)
    await wait_until(pilot, lambda: len(names(app)) == len(screen.rows) > 0)
    await settle(app, pilot)
    assert isinstance(screen, PeopleScreen)
    return screen


async def cursor_to(app: BannerApp, pilot: Pilot[None], name: str) -> None:
    t = table(app)
    t.focus()
    index = names(app).index(name)
    t.move_cursor(row=index, animate=False)
    await wait_until(pilot, lambda: app.focused is t and t.cursor_row == index)


async def fill_contact(app: BannerApp, pilot: Pilot[None], **fields: str) -> ContactDialog:
    """Fill the contact dialog on top and press Ctrl+S; returns once it has answered: closed,
    or an error shown other than the one before (the callers' refusals differ)."""
    dialog = app.screen
    assert isinstance(dialog, ContactDialog)
    before = dialog_error(app)
    for key, value in fields.items():
        dialog.query_one(f"#contact-{key}", Input).value = value
    await pilot.press("ctrl+s")
    await wait_until(pilot, lambda: app.screen is not dialog or dialog_error(app) != before)
    return dialog


async def highlight_group(app: BannerApp, pilot: Pilot[None], label_start: str) -> None:
    views = people(app).query_one("#views", OptionList)
    views.focus()
    await wait_until(pilot, lambda: app.focused is views)
    target = next(i for i, label in enumerate(group_labels(app)) if label.startswith(label_start))

    def moved_from(start: int | None) -> Callable[[], bool]:
        return lambda: views.highlighted != start

    while (at := views.highlighted) != target:
        await pilot.press("down" if (at or 0) < target else "up")
        # one key handled before the next is chosen (a late one would overshoot)
        await wait_until(pilot, moved_from(at))
    await settle(app, pilot)


# --- the list and its search ---------------------------------------------------------------------


async def test_f6_lists_the_demo_contacts_and_groups(tmp_path: Path) -> None:
    url = await demo_url(tmp_path)
    app = app_for(url, "alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_people(app, pilot)
        assert names(app) == DEMO_NAMES
        assert row_of(app, "Léa Moreau") == {
            "name": "Léa Moreau",
            "number": "+33612000001",
            "company": "Moreau SARL",
            "groups": "VIP",
        }
        assert row_of(app, "Thomas Bernard")["groups"] == "Newsletter, VIP"
        assert group_labels(app) == ["All contacts", "Newsletter (3)", "VIP (2)"]
        assert status_text(app) == "5 contacts"
        no_unexpected_error(app)


async def test_search_narrows_the_list(tmp_path: Path) -> None:
    url = await demo_url(tmp_path)
    app = app_for(url, "alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_people(app, pilot)
        await pilot.press("slash")
        search = people(app).query_one("#search", Input)
        await wait_until(pilot, lambda: app.focused is search)
        await pilot.press(*"moreau")
        await wait_until(pilot, lambda: names(app) == ["Léa Moreau"])
        assert status_text(app) == "1 contact"
        search.value = ""
        await wait_until(pilot, lambda: names(app) == DEMO_NAMES)
        await pilot.press(*"+41 78")  # digits of a number
        await wait_until(pilot, lambda: names(app) == ["Nina Graf"])
        await pilot.press("enter")  # back to the table
        await wait_until(pilot, lambda: app.focused is table(app))
        no_unexpected_error(app)


async def test_typing_a_search_reads_the_contacts_once_it_pauses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Six keystrokes in a row, one read of the contacts (not one per keystroke): the field's
    worker waits TYPING_PAUSE_SECONDS, and the next keystroke cancels it.  The keys come as
    a fast typist's do, in one burst (the pilot's ``press`` waits for the app to be idle
    after each key: on a loaded machine that took longer than the pause, and each key read
    the contacts); the pause is 1 s."""
    monkeypatch.setattr(base, "TYPING_PAUSE_SECONDS", 1.0)
    url = await demo_url(tmp_path)
    app = app_for(url, "alice")
    reads: list[str] = []

    def count(_conn: Any, _cur: Any, statement: str, *_a: Any) -> None:
        # The page of contacts (its rows' groups are a second statement, not counted).
        page = statement.lstrip().startswith("SELECT") and "LIMIT" in statement
        if page and "FROM contact" in statement:
            reads.append(statement)

    async with app.run_test(size=SIZE) as pilot:
        await open_people(app, pilot)
        await pilot.press("slash")
        search = people(app).query_one("#search", Input)
        await wait_until(pilot, lambda: app.focused is search)
        engine = app.services.db.engine.sync_engine
        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            for key in "moreau":  # as the terminal delivers them: all queued at once
                app.post_message(events.Key(key, key))
            await wait_until(pilot, lambda: names(app) == ["Léa Moreau"])
            await settle(app, pilot)
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
        assert len(reads) == 1, reads
        no_unexpected_error(app)


async def test_enter_in_the_search_reads_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Enter moves to the table: the search is read then, not after the typing pause, so
    the next Enter opens a row of the list the agent asked for, not of the one before.
    (The pause is made longer than any wait here: the list can only come from Enter.)"""
    monkeypatch.setattr(base, "TYPING_PAUSE_SECONDS", 2 * WAIT_FLOOR_SECONDS)
    app = app_for(await demo_url(tmp_path), "alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_people(app, pilot)
        await pilot.press("slash")
        search = people(app).query_one("#search", Input)
        await wait_until(pilot, lambda: app.focused is search)
        await pilot.press(*"moreau", "enter")
        await wait_until(pilot, lambda: names(app) == ["Léa Moreau"])
        await wait_until(pilot, lambda: app.focused is table(app))
        no_unexpected_error(app)


# --- contacts ------------------------------------------------------------------------------------


async def test_n_creates_a_contact_that_appears_in_the_table(tmp_path: Path) -> None:
    url = await demo_url(tmp_path)
    app = app_for(url, "alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_people(app, pilot)
        await pilot.press("n")
        await wait_screen(app, pilot, ContactDialog)
        assert dialog_title(app) == "New contact"
        await fill_contact(
            app,
            pilot,
            first_name="Zoé",
            last_name="Roux",
            number="+33 6 12 34 56 78",
            company="Roux & Fils",
            groups="VIP, Family",
        )
        await wait_screen(app, pilot, PeopleScreen)
        await wait_until(pilot, lambda: "Zoé Roux" in names(app))
        assert row_of(app, "Zoé Roux") == {
            "name": "Zoé Roux",
            "number": "+33612345678",
            "company": "Roux & Fils",
            "groups": "Family, VIP",
        }
        await wait_until(pilot, lambda: "Family (1)" in group_labels(app))
        assert "VIP (3)" in group_labels(app)
        assert "Saved Zoé Roux" in notifications(app)
        stored = await app.services.people.contact_by_number(app.actor, "+33612345678")
        assert stored is not None
        assert stored.company == "Roux & Fils"
        no_unexpected_error(app)


async def test_contact_dialog_refuses_a_duplicate_and_an_invalid_number(tmp_path: Path) -> None:
    url = await demo_url(tmp_path)
    app = app_for(url, "alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_people(app, pilot)
        await pilot.press("n")
        await wait_screen(app, pilot, ContactDialog)
        await fill_contact(app, pilot, first_name="Again", number="+33612000001")
        await wait_until(pilot, lambda: "Duplicate contact" in dialog_error(app))
        assert "Léa Moreau" in dialog_error(app)
        assert isinstance(app.screen, ContactDialog)
        await fill_contact(app, pilot, number="12345")
        await wait_until(pilot, lambda: "Invalid number" in dialog_error(app))
        assert isinstance(app.screen, ContactDialog)
        await pilot.press("escape")
        # Back, and every worker ended (a reload the cancel started would be done).
        await wait_screen(app, pilot, PeopleScreen)
        await settle(app, pilot)
        assert names(app) == DEMO_NAMES
        assert len(await app.services.people.contacts(app.actor)) == 5
        no_unexpected_error(app)


async def test_e_edits_the_highlighted_contact(tmp_path: Path) -> None:
    url = await demo_url(tmp_path)
    app = app_for(url, "alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_people(app, pilot)
        await cursor_to(app, pilot, "Jan Peeters")
        await pilot.press("e")
        dialog = await wait_screen(app, pilot, ContactDialog)
        assert dialog_title(app) == "Edit contact"
        assert dialog.query_one("#contact-number", Input).value == "+32470123456"
        assert dialog.query_one("#contact-company", Input).value == "Peeters BV"
        await fill_contact(app, pilot, company="Peeters NV", groups="Newsletter")
        await wait_screen(app, pilot, PeopleScreen)
        await wait_until(pilot, lambda: row_of(app, "Jan Peeters")["company"] == "Peeters NV")
        assert row_of(app, "Jan Peeters")["groups"] == "Newsletter"
        await wait_until(pilot, lambda: "Newsletter (4)" in group_labels(app))
        contact = await app.services.people.contact_by_number(app.actor, "+32470123456")
        assert contact is not None
        assert (contact.company, contact.groups) == ("Peeters NV", ("Newsletter",))
        no_unexpected_error(app)


async def test_d_deletes_after_confirmation(tmp_path: Path) -> None:
    url = await demo_url(tmp_path)
    app = app_for(url, "alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_people(app, pilot)
        await cursor_to(app, pilot, "Nina Graf")
        await pilot.press("d")
        confirm = await wait_screen(app, pilot, ConfirmDialog, skip=CONFIRMING)
        assert dialog_title(app) == "Delete contact"
        assert "Nina Graf (+41781234567)" in text_of(confirm.query_one("#question", Static))
        await pilot.click("#cancel")
        # Back, and the delete worker has ended (it would have deleted before ending).
        await wait_screen(app, pilot, PeopleScreen)
        await settle(app, pilot)
        assert "Nina Graf" in names(app)
        assert await app.services.people.contact_by_number(app.actor, "+41781234567") is not None

        await pilot.press("d")
        await wait_screen(app, pilot, ConfirmDialog, skip=CONFIRMING)
        await pilot.click("#confirm")
        await wait_screen(app, pilot, PeopleScreen)
        await wait_until(pilot, lambda: "Nina Graf" not in names(app))
        assert len(names(app)) == 4
        assert await app.services.people.contact_by_number(app.actor, "+41781234567") is None
        await wait_until(pilot, lambda: "Newsletter (2)" in group_labels(app))
        no_unexpected_error(app)


# --- groups --------------------------------------------------------------------------------------


async def test_g_creates_a_group_and_highlighting_a_group_filters(tmp_path: Path) -> None:
    url = await demo_url(tmp_path)
    app = app_for(url, "alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_people(app, pilot)
        await pilot.press("G")
        dialog = await wait_screen(app, pilot, GroupDialog)
        assert dialog_title(app) == "New group"
        name = dialog.query_one("#group-name", Input)
        name.focus()
        await wait_until(pilot, lambda: app.focused is name)
        await pilot.press(*"Partners", "enter")
        await wait_screen(app, pilot, PeopleScreen)
        await wait_until(pilot, lambda: "Partners (0)" in group_labels(app))
        assert group_labels(app) == ["All contacts", "Newsletter (3)", "Partners (0)", "VIP (2)"]
        assert any(g.name == "Partners" for g in await app.services.people.groups(app.actor))

        await highlight_group(app, pilot, "VIP")
        await wait_until(pilot, lambda: names(app) == ["Léa Moreau", "Thomas Bernard"])
        await highlight_group(app, pilot, "Partners")
        await wait_until(pilot, lambda: names(app) == [])
        assert status_text(app) == "0 contacts"
        await highlight_group(app, pilot, "All contacts")
        await wait_until(pilot, lambda: names(app) == DEMO_NAMES)

        # a second group with the same name (any case) is refused in the dialog
        table(app).focus()
        await wait_until(pilot, lambda: app.focused is table(app))
        await pilot.press("G")
        dialog = await wait_screen(app, pilot, GroupDialog)
        name = dialog.query_one("#group-name", Input)
        name.focus()
        await wait_until(pilot, lambda: app.focused is name)
        await pilot.press(*"vip", "enter")
        await wait_until(pilot, lambda: "Duplicate group" in dialog_error(app))
        await pilot.press("escape")
        await wait_screen(app, pilot, PeopleScreen)
        no_unexpected_error(app)


# --- import --------------------------------------------------------------------------------------


CSV = (
    "first_name,last_name,number,company,groups\n"
    "Ana,Lopez,+34612345678,Lopez SL,Spain;VIP\n"
    "Bad,Number,12345,,\n"
    "Copy,Of Lea,+33612000001,,\n"
    "Zed,Zeta,+33612000077,,\n"
)


async def start_import(app: BannerApp, pilot: Pilot[None], path: Path) -> ImportDialog:
    """Open the import dialog and submit ``path``; the caller waits for the report or the
    error the import leads to."""
    await pilot.press("i")
    dialog = await wait_screen(app, pilot, ImportDialog)
    field = dialog.query_one("#import-path", Input)
    field.focus()
    field.value = str(path)
    await wait_until(pilot, lambda: app.focused is field)
    await pilot.press("enter")
    assert isinstance(dialog, ImportDialog)
    return dialog


async def test_import_reports_created_rows_and_each_rejected_row(tmp_path: Path) -> None:
    url = await demo_url(tmp_path)
    csv_file = tmp_path / "contacts.csv"
    csv_file.write_text(CSV, encoding="utf-8")
    app = app_for(url, "alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_people(app, pilot)
        dialog = await start_import(app, pilot, csv_file)
        result = dialog.query_one("#import-result", Static)
        await wait_until(pilot, lambda: "Created" in text_of(result))
        report = text_of(result)
        assert "Created 2 contacts and 1 group" in report
        assert "Rejected 2 rows:" in report
        assert "line 3: 12345: Invalid number" in report
        assert "line 4: +33612000001: Duplicate contact" in report
        assert "line 2" not in report
        assert "line 5" not in report
        assert dialog_error(app) == ""
        await pilot.click("#close")
        await wait_screen(app, pilot, PeopleScreen)
        await wait_until(pilot, lambda: "Ana Lopez" in names(app))
        assert "Zed Zeta" in names(app)
        assert len(names(app)) == 7
        assert row_of(app, "Ana Lopez")["groups"] == "Spain, VIP"
        await wait_until(pilot, lambda: "Spain (1)" in group_labels(app))
        no_unexpected_error(app)


async def test_import_of_a_missing_file_says_invalid_csv(tmp_path: Path) -> None:
    url = await demo_url(tmp_path)
    app = app_for(url, "alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_people(app, pilot)
        missing = tmp_path / "nowhere.csv"
        dialog = await start_import(app, pilot, missing)
        await wait_until(pilot, lambda: "Invalid CSV" in dialog_error(app))
        assert "nowhere.csv" in dialog_error(app)
        await settle(app, pilot)  # the import worker has ended: no report comes after
        assert text_of(dialog.query_one("#import-result", Static)) == ""
        await pilot.press("escape")
        await wait_screen(app, pilot, PeopleScreen)
        await settle(app, pilot)
        assert names(app) == DEMO_NAMES
        no_unexpected_error(app)


async def test_brackets_page_through_any_number_of_contacts(tmp_path: Path) -> None:
    # Issue #19 (I8): the list stopped at "500 contacts (the first 500…)" with 10,005 stored.
    from bannertui.domain.contacts import search_key
    from bannertui.store.database import Database
    from bannertui.store.models import Contact

    url = await demo_url(tmp_path)
    db = Database(url)
    try:
        async with db.write() as session:
            rows = []
            for i in range(250):
                first, last, number = f"Zed{i:03d}", "Paged", f"+3361300{i:04d}"
                key = search_key(first, last, "", "", number)
                rows.append(
                    {"first_name": first, "last_name": last, "number": number, "search_key": key}
                )
            await session.execute(sa.insert(Contact), rows)
    finally:
        await db.dispose()
    app = app_for(url, "alice")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_people(app, pilot)
        assert status_text(app) == "255 contacts · 1–100 · ] next page"
        first = names(app)
        assert len(first) == 100
        table(app).focus()
        await pilot.press("right_square_bracket")
        await wait_until(pilot, lambda: "101–200" in status_text(app))
        second = names(app)
        assert "] next page" in status_text(app)
        assert "[ previous" in status_text(app)
        await pilot.press("right_square_bracket")
        await wait_until(pilot, lambda: "201–255" in status_text(app))
        third = names(app)
        assert "next page" not in status_text(app)
        every = [c.display_name for c in await app.services.people.contacts(app.actor, limit=1000)]
        assert first + second + third == every  # in order, none lost or repeated
        await pilot.press("left_square_bracket")
        await wait_until(pilot, lambda: "101–200" in status_text(app))
        assert names(app) == second
        # a search starts again from its first page
        await pilot.press("slash")
        await pilot.press(*"zed24")
        await wait_until(pilot, lambda: status_text(app) == "10 contacts")
        assert screen.rows[0].display_name == "Zed240 Paged"
        no_unexpected_error(app)


async def test_a_second_file_never_shows_the_first_files_report(tmp_path: Path) -> None:
    # Issue #19: the import dialog kept the previous file's report under a new error; and a
    # Windows (cp1252) file with French headers was refused as "not UTF-8 (byte 29)".
    url = await demo_url(tmp_path)
    french = tmp_path / "contacts-fr.csv"
    french.write_bytes(
        "Prénom;Nom;Téléphone;Société\r\nInès;Lefèvre;+33 6 99 00 00 01;Café Lumière\r\n".encode(
            "cp1252"
        )
    )
    app = app_for(url, "alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_people(app, pilot)
        dialog = await start_import(app, pilot, french)
        result = dialog.query_one("#import-result", Static)
        await wait_until(pilot, lambda: "Created 1 contact" in text_of(result))
        assert dialog_error(app) == ""
        field = dialog.query_one("#import-path", Input)
        field.value = str(tmp_path / "nowhere.csv")
        field.focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: "nowhere.csv" in dialog_error(app))
        await settle(app, pilot)
        assert text_of(result) == ""
        assert not dialog.query_one("#import-progress").display
    ines = await app.services.people.contact_by_number(app.actor, "+33699000001")
    assert ines is not None
    assert (ines.display_name, ines.company) == ("Inès Lefèvre", "Café Lumière")
