"""People (SPEC I8): contacts and groups — create, edit, delete, import from CSV — with a
search (I9) and the groups on the left as filters."""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Button, DataTable, Input, Label, OptionList, ProgressBar, Static
from textual.widgets.option_list import Option

from bannertui.domain.actor import Actor
from bannertui.domain.errors import BannerError
from bannertui.domain.text import one_line, plural
from bannertui.services import Services
from bannertui.services.people import ContactRow, GroupRow, ImportReport
from bannertui.services.people.csv_import import decode_csv
from bannertui.ui.safe import line, rich_plain
from bannertui.ui.screens.base import BaseModal, BaseScreen, typing_pause
from bannertui.ui.screens.confirm import ConfirmDialog
from bannertui.ui.widgets.footer import KeyFooter
from bannertui.ui.widgets.row_table import RowTable

ALL = "all"
#: Contacts on one page (``]`` and ``[`` page through any number of them, keyset).
PAGE = 100
#: The biggest contacts file read for an import.
MAX_IMPORT_BYTES = 50 * 1024 * 1024


class PeopleScreen(BaseScreen[None]):
    BINDINGS = [
        Binding("escape", "back", "Banner", id="people.back"),
        Binding("n", "new", "New contact", id="people.new"),
        Binding("e", "edit", "Edit", id="people.edit", show=False),
        Binding("d,delete", "delete", "Delete", id="people.delete", show=False),
        Binding("G", "new_group", "New group", id="people.new_group", show=False),
        Binding("D", "delete_group", "Delete group", id="people.delete_group", show=False),
        Binding("i", "import_csv", "Import CSV", id="people.import", show=False),
        Binding("slash", "search", "Search", id="people.search"),
        Binding("right_square_bracket", "next_page", "Next page", id="people.next", show=False),
        Binding(
            "left_square_bracket", "previous_page", "Prev page", id="people.previous", show=False
        ),
    ]

    def __init__(self, services: Services, actor: Actor) -> None:
        super().__init__()
        self.services = services
        self.actor = actor
        self.group: int | None = None
        self.groups: list[GroupRow] = []
        self.rows: list[ContactRow] = []
        self._groups_stale = True  # the groups list is read again by the next load
        #: ``after`` keys of the pages before the current one, and the current one's.
        self._keys: list[tuple[str, int] | None] = [None]
        self._more = False

    def compose(self) -> ComposeResult:
        with Horizontal(id="people-body"):
            yield OptionList(Option("All contacts", id=ALL), id="views", markup=False)
            with Vertical(id="people-main"):
                yield Input(placeholder="/ search name, company, email or number", id="search")
                yield Static(id="people-status")
                yield RowTable(id="contacts")
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one("#contacts", DataTable)
        table.add_column("Name", key="name", width=20)
        table.add_column("Number", key="number", width=16)
        table.add_column("Company", key="company", width=14)
        table.add_column("Groups", key="groups")
        table.focus()
        self.load(groups=True)

    # --- loading ---------------------------------------------------------------------------

    def load(self, groups: bool = False, typed: bool = False) -> None:
        """Read the contacts (and, with ``groups``, the groups list) again.  A keystroke's
        load waits for the typing to pause; any later load cancels one still waiting or
        reading, and reads the groups too when an earlier one was asked to and did not."""
        if groups:
            self._groups_stale = True
        self._load(typed)

    @work(group="people-load", exclusive=True, exit_on_error=False)
    async def _load(self, typed: bool) -> None:
        await typing_pause(typed)
        people = self.services.people
        if self._groups_stale:
            self.groups = await people.groups(self.actor)
            self._groups_stale = False
            views = self.query_one("#views", OptionList)
            highlighted = views.highlighted
            views.clear_options()
            views.add_options(
                [Option("All contacts", id=ALL)]
                + [Option(line(f"{g.name} ({g.members})"), id=str(g.id)) for g in self.groups]
            )
            ids = [None] + [g.id for g in self.groups]
            if self.group not in ids:
                self.group = None
            views.highlighted = ids.index(self.group) if highlighted is not None else 0
        search = self.query_one("#search", Input).value
        rows = await people.contacts(
            self.actor, search, group_id=self.group, limit=PAGE + 1, after=self._keys[-1]
        )
        if not rows and len(self._keys) > 1:  # the page's rows went (deleted): back to the first
            self._keys = [None]
            rows = await people.contacts(self.actor, search, group_id=self.group, limit=PAGE + 1)
        total = await people.contact_count(self.actor, search, group_id=self.group)
        self._more = len(rows) > PAGE
        self.rows = rows[:PAGE]
        table = self.query_one("#contacts", DataTable)
        current = self._current()
        table.clear()
        for c in self.rows:
            table.add_row(
                rich_plain(one_line(c.display_name, 20)),
                c.number,
                rich_plain(one_line(c.company, 14)),
                rich_plain(one_line(", ".join(c.groups), 30)),
                key=str(c.id),
            )
        if current is not None and str(current.id) in table.rows:
            table.move_cursor(row=table.get_row_index(str(current.id)), animate=False)
        n = len(self.rows)
        first = (len(self._keys) - 1) * PAGE + 1
        status = plural(total, "contact")
        if n and (self._more or len(self._keys) > 1):
            status += f" · {first:,}–{first + n - 1:,}"
        if self._more:
            status += " · ] next page"
        if len(self._keys) > 1:
            status += " · [ previous"
        self.query_one("#people-status", Static).update(Content(status))

    def action_next_page(self) -> None:
        if self._more and self.rows:
            self._keys.append(self.rows[-1].page_key)
            self.load()

    def action_previous_page(self) -> None:
        if len(self._keys) > 1:
            self._keys.pop()
            self.load()

    def _current(self) -> ContactRow | None:
        table = self.query_one("#contacts", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((c for c in self.rows if str(c.id) == key), None)

    @on(Input.Changed, "#search")
    def _search(self) -> None:
        self._keys = [None]
        self.load(typed=True)

    @on(Input.Submitted, "#search")
    def _searched(self) -> None:
        self._keys = [None]
        self.load()  # now, not after the typing pause: Enter next opens a row of this list
        self.query_one("#contacts", DataTable).focus()

    def action_search(self) -> None:
        self.query_one("#search", Input).focus()

    @on(OptionList.OptionHighlighted, "#views")
    def _group_chosen(self, event: OptionList.OptionHighlighted) -> None:
        group = None if event.option.id in (None, ALL) else int(event.option.id)
        if group != self.group:
            self.group = group
            self._keys = [None]
            self.load()

    def action_back(self) -> None:
        self.dismiss(None)

    # --- contacts --------------------------------------------------------------------------

    def action_new(self) -> None:
        self.app.push_screen(ContactDialog(self.services, self.actor, None), self._saved)

    @on(DataTable.RowSelected, "#contacts")
    def action_edit(self) -> None:
        current = self._current()
        if current is not None:
            self.app.push_screen(ContactDialog(self.services, self.actor, current), self._saved)

    def _saved(self, row: ContactRow | None) -> None:
        if row is not None:
            self.notify(f"Saved {one_line(row.display_name)}", markup=False)
            self.load(groups=True)

    def action_delete(self) -> None:
        current = self._current()
        if current is not None:
            self.delete(current)

    @work(group="people-action", exclusive=True, exit_on_error=False)
    async def delete(self, contact: ContactRow) -> None:
        ok = await self.app.push_screen_wait(
            ConfirmDialog(
                "Delete contact",
                line(f"Delete {contact.display_name} ({contact.number})? Messages stay."),
                confirm="Delete",
            )
        )
        if ok:
            await self.services.people.delete_contact(self.actor, contact.id)
            self.notify(f"Deleted {one_line(contact.display_name)}", markup=False)
            self.load(groups=True)

    # --- groups ----------------------------------------------------------------------------

    def action_new_group(self) -> None:
        self.app.push_screen(GroupDialog(self.services, self.actor), self._group_saved)

    def _group_saved(self, group: GroupRow | None) -> None:
        if group is not None:
            self.notify(f"Group {one_line(group.name)} created", markup=False)
            self.load(groups=True)

    def action_delete_group(self) -> None:
        group = next((g for g in self.groups if g.id == self.group), None)
        if group is None:
            self.notify("Highlight a group on the left first", severity="warning")
            return
        self.delete_group(group)

    @work(group="people-action", exclusive=True, exit_on_error=False)
    async def delete_group(self, group: GroupRow) -> None:
        ok = await self.app.push_screen_wait(
            ConfirmDialog(
                "Delete group",
                line(f"Delete the group {group.name}? Its {group.members} contacts stay."),
                confirm="Delete group",
            )
        )
        if ok:
            await self.services.people.delete_group(self.actor, group.id)
            self.group = None
            self.load(groups=True)

    # --- import ----------------------------------------------------------------------------

    def action_import_csv(self) -> None:
        self.app.push_screen(ImportDialog(self.services, self.actor), self._imported)

    def _imported(self, report: ImportReport | None) -> None:
        if report is not None:
            self.load(groups=True)


class ContactDialog(BaseModal[ContactRow | None]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="contact.cancel"),
        Binding("ctrl+s", "save", "Save", id="contact.save", priority=True),
    ]

    FIELDS = (
        ("first_name", "First"),
        ("last_name", "Last"),
        ("number", "Number"),
        ("email", "Email"),
        ("company", "Company"),
        ("groups", "Groups"),
    )

    def __init__(self, services: Services, actor: Actor, contact: ContactRow | None) -> None:
        super().__init__()
        self.services = services
        self.actor = actor
        self.contact = contact

    def compose(self) -> ComposeResult:
        c = self.contact
        values = {
            "first_name": c.first_name if c else "",
            "last_name": c.last_name if c else "",
            "number": c.number if c else "",
            "email": c.email if c else "",
            "company": c.company if c else "",
            "groups": ", ".join(c.groups) if c else "",
        }
        title = "Edit contact" if c else "New contact"
        with Vertical(classes="dialog", id="contact-dialog"):
            yield Static(Content.styled(title, "bold"), classes="dialog-title")
            for key, label in self.FIELDS:
                with Horizontal(classes="field-row"):
                    yield Label(label, classes="field-label")
                    placeholder = {
                        "number": "+33612345678",
                        "groups": "VIP, Paris (new names create groups)",
                    }.get(key, "")
                    yield Input(values[key], placeholder=placeholder, id=f"contact-{key}")
            yield Static(id="dialog-error", classes="error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save ^S", id="save", variant="primary")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#contact-first_name", Input).focus()

    def _value(self, key: str) -> str:
        return self.query_one(f"#contact-{key}", Input).value

    @on(Input.Submitted)
    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        self.save()

    @work(group="contact-save", exclusive=True, exit_on_error=False)
    async def save(self) -> None:
        people = self.services.people
        groups = [g.strip() for g in self._value("groups").split(",") if g.strip()]
        fields = {k: self._value(k) for k, _ in self.FIELDS if k != "groups"}
        try:
            if self.contact is None:
                row = await people.create_contact(self.actor, groups=groups, **fields)
            else:
                row = await people.update_contact(
                    self.actor, self.contact.id, groups=groups, **fields
                )
        except BannerError as exc:
            self.query_one("#dialog-error", Static).update(line(exc.message))
            return
        self.dismiss(row)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class GroupDialog(BaseModal[GroupRow | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="group.cancel")]

    def __init__(self, services: Services, actor: Actor) -> None:
        super().__init__()
        self.services = services
        self.actor = actor

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="group-dialog"):
            yield Static(Content.styled("New group", "bold"), classes="dialog-title")
            with Horizontal(classes="field-row"):
                yield Label("Name", classes="field-label")
                yield Input(id="group-name")
            yield Static(id="dialog-error", classes="error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Create", id="create", variant="primary")
                yield Button("Cancel", id="cancel")

    @on(Input.Submitted)
    @on(Button.Pressed, "#create")
    def _create(self) -> None:
        self.create(self.query_one("#group-name", Input).value)

    @work(group="group-create", exclusive=True, exit_on_error=False)
    async def create(self, name: str) -> None:
        try:
            group = await self.services.people.create_group(self.actor, name)
        except BannerError as exc:
            self.query_one("#dialog-error", Static).update(line(exc.message))
            return
        self.dismiss(group)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


def read_contacts_file(path: Path) -> str:
    """The file's text (UTF-8, or the encoding recognised: Windows-1252, Latin-1, …), or a
    BannerError naming what is wrong."""
    from bannertui.domain.errors import InvalidCsv

    try:
        size = path.stat().st_size
        if size > MAX_IMPORT_BYTES:
            raise InvalidCsv(f"{path.name} is {size:,} bytes; {MAX_IMPORT_BYTES:,} at most")
        return decode_csv(path.read_bytes(), path.name)
    except FileNotFoundError:
        raise InvalidCsv(f"no file {str(path)!r}") from None
    except IsADirectoryError:
        raise InvalidCsv(f"{str(path)!r} is a folder") from None
    except PermissionError:
        raise InvalidCsv(f"{str(path)!r} cannot be read (permission denied)") from None


class ImportDialog(BaseModal[ImportReport | None]):
    """Import contacts from a CSV file; shows the report (rejected rows and why)."""

    BINDINGS = [Binding("escape", "close", "Close", id="import.close")]

    def __init__(self, services: Services, actor: Actor) -> None:
        super().__init__()
        self.services = services
        self.actor = actor
        self.report: ImportReport | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide", id="import-dialog"):
            yield Static(Content.styled("Import contacts (CSV)", "bold"), classes="dialog-title")
            yield Static(
                Content(
                    "A header row is required: number (or phone, mobile), and any of "
                    "first_name, last_name, email, company, groups (separated by ;), in "
                    "English, French, Spanish, German or Portuguese (Prénom, Téléfono, "
                    "Vorname…); UTF-8, Windows or Latin-1 text."
                ),
                classes="hint",
            )
            with Horizontal(classes="field-row"):
                yield Label("File", classes="field-label")
                yield Input(placeholder="path/to/contacts.csv", id="import-path")
            yield Static(id="dialog-error", classes="error")
            yield ProgressBar(id="import-progress", show_eta=False)
            with VerticalScroll(id="import-report"):
                yield Static(id="import-result")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Import", id="import", variant="primary")
                yield Button("Close", id="close")

    @on(Input.Submitted)
    @on(Button.Pressed, "#import")
    def _import(self) -> None:
        path = self.query_one("#import-path", Input).value.strip()
        if path:
            self.run_import(Path(path).expanduser())

    def on_mount(self) -> None:
        self.query_one("#import-progress").display = False

    @work(group="import", exclusive=True, exit_on_error=False)
    async def run_import(self, path: Path) -> None:
        error = self.query_one("#dialog-error", Static)
        result = self.query_one("#import-result", Static)
        bar = self.query_one("#import-progress", ProgressBar)
        # A new file: nothing of the one before stays on screen (its report under this
        # file's error read as this file's: issue #19).
        error.update("")
        result.update("")
        bar.update(total=None, progress=0)
        bar.display = True

        def progress(done: int, total: int) -> None:
            bar.update(total=total, progress=done)
            result.update(Content(f"Reading line {done:,} of {total:,}…"))

        try:
            text = await asyncio.to_thread(read_contacts_file, path)
            report = await self.services.people.import_csv(self.actor, text, progress=progress)
        except BannerError as exc:
            error.update(line(exc.message))
            result.update("")
            return
        finally:
            bar.display = False
        self.report = report

        lines = [f"Created {plural(report.created, 'contact')}"]
        if report.groups_created:
            lines[0] += f" and {plural(report.groups_created, 'group')}"
        if report.rejected:
            lines.append(f"Rejected {len(report.rejected):,} rows:")
            for r in report.rejected[:200]:
                lines.append(one_line(f"  line {r.line}: {r.number or '(no number)'}: {r.reason}"))
            if len(report.rejected) > 200:
                lines.append(f"  … and {len(report.rejected) - 200:,} more")
        self.query_one("#import-result", Static).update(Content("\n".join(lines)))

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        self.dismiss(self.report)
