"""Every key, defined once: the help screen, the command palette and ``docs/keys.md`` are
built from the ``Binding`` objects of the app, its screens and widgets (SPEC X3; issue #23).

A Binding says the key, the action and the footer's word.  :data:`COMMANDS` adds, by the
binding's id, what the footer has no room for: the line the help and ``docs/keys.md`` show,
the palette's title (none: not in the palette), what the agent's profile must allow
(:class:`Need`), and where the command makes sense.  :data:`SECTIONS` says which bindings go
under which heading.  ``tests/ui/test_keys_doc.py`` checks that every binding is described,
that nothing here names a binding that is gone, and that ``docs/keys.md`` is what
:func:`markdown` makes::

    python -m bannertui.ui.keymap --write docs/keys.md   # after changing a binding
    python -m bannertui.ui.keymap --check docs/keys.md   # exit status 1 when out of date
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.dom import DOMNode
from textual.keys import format_key, key_to_character
from textual.screen import ModalScreen, Screen

from bannertui.domain.errors import BannerError
from bannertui.domain.routing import SendMode, allowed_modes

if TYPE_CHECKING:
    from bannertui.services.agents import AgentContext


# --- what an agent's profile must allow ---------------------------------------------------------


def _modes(ctx: AgentContext) -> tuple[SendMode, ...]:
    """The send modes the profile allows (none without outgoing messaging): SPEC B1/B3's
    rule, :func:`bannertui.domain.routing.allowed_modes`."""
    try:
        return allowed_modes(ctx.permissions)
    except BannerError:
        return ()


@dataclass(frozen=True, slots=True)
class Need:
    """What the agent's role or profile must allow for a command (docs/permissions.md).  The
    rules are the services' own (:class:`~bannertui.services.agents.AgentContext`'s
    ``is_supervisor`` and ``is_admin``, the domain's :func:`allowed_modes`); the palette
    offers a command only to an agent they allow, the help says who may use it."""

    label: str
    allows: Callable[[AgentContext], bool]


SUPERVISORS = Need("supervisors and administrators", lambda ctx: ctx.is_supervisor)
ADMINISTRATORS = Need("administrators", lambda ctx: ctx.is_admin)
MESSAGING = Need("outgoing messaging", lambda ctx: ctx.permissions.messaging)
NEW_SMS = Need("Direct or Smart SMS", lambda ctx: bool(_modes(ctx)))
DIRECT = Need("Direct SMS", lambda ctx: SendMode.DIRECT in _modes(ctx))
SMART = Need("Smart SMS", lambda ctx: SendMode.SMART in _modes(ctx))


# --- what the help and the palette say of each binding ------------------------------------------


@dataclass(frozen=True, slots=True)
class Command:
    """What a binding does, beyond its footer word."""

    #: One line for the help screen and docs/keys.md (and the palette's help line).
    help: str
    #: The palette's name for it; None: not in the palette (moving, typing, the palette).
    title: str | None = None
    #: What the agent's profile must allow (the palette offers it only then).
    need: Need | None = None
    #: An app command the palette offers over a dialog too (the screen-changing ones do
    #: nothing there: a dialog is finished or cancelled first).
    over_dialogs: bool = True
    #: An app command that shows this screen (by class name): not offered on it.
    shows: str | None = None
    #: When the palette offers it, asked of the node that has the binding (its screen, or
    #: its widget on the screen): what ``check_action`` cannot tell.
    when: Callable[[Any], bool] | None = None


def _has_older(thread: Any) -> bool:
    return bool(getattr(thread, "has_older", False))


def _has_interactions(banner: Any) -> bool:
    lists = banner.query("InteractionList")
    return bool(lists and getattr(lists.first(), "items", None))


#: By binding id (``Owner:action`` for Textual's own bindings, which have none).  A binding
#: with the same owner and action as one listed (``f1`` beside ``?``) shares its entry.
COMMANDS: dict[str, Command] = {
    # Everywhere (the app's priority bindings win over a focused widget's)
    "app.quit": Command("Quit at once (what you typed is kept as drafts)", "Quit"),
    "app.help": Command("Every key, by screen (this help)", "Keys", shows="HelpScreen"),
    "dialog.help": Command("In a dialog too: every key, by screen (this help)"),
    "app.palette": Command("Command palette: this screen's commands, by name"),
    "app.focus_next": Command("Next field, list or button (what you type next goes there)"),
    "app.focus_previous": Command("Previous field, list or button"),
    "app.send_sms": Command(
        "Send SMS to numbers, contacts or groups, now or scheduled",
        "Send SMS",
        DIRECT,
        over_dialogs=False,
        shows="ComposeDialog",
    ),
    "app.inbox": Command(
        "Inbox: every SMS, by view", "Inbox", over_dialogs=False, shows="InboxScreen"
    ),
    "app.people": Command(
        "People: contacts and groups", "People", over_dialogs=False, shows="PeopleScreen"
    ),
    "app.supervisor": Command(
        "Supervisor dashboard: queues, agents, connectors, volume, failures",
        "Supervisor dashboard",
        SUPERVISORS,
        over_dialogs=False,
        shows="SupervisorScreen",
    ),
    "app.admin": Command(
        "Administration: queues, bots, blacklist, templates, profiles, numbers, connectors,"
        " audit trail",
        "Administration",
        ADMINISTRATORS,
        over_dialogs=False,
        shows="AdminScreen",
    ),
    "Screen:screen.copy_text": Command("Copy the selected text"),
    # The Banner
    "banner.new": Command("New interaction: an SMS, Direct or Smart", "New interaction", NEW_SMS),
    "banner.next": Command(
        "Next open interaction, ready to write", "Next interaction", when=_has_interactions
    ),
    "banner.previous": Command(
        "Previous open interaction, ready to write", "Previous interaction", when=_has_interactions
    ),
    "banner.open": Command("Open the highlighted interaction: its editor takes the focus"),
    "banner.list": Command("Back to the list of interactions"),
    "banner.refresh": Command("Reload from the database now", "Refresh"),
    "list.down": Command("Next interaction in the list"),
    "list.up": Command("Previous interaction in the list"),
    "list.first": Command("First interaction in the list"),
    "list.last": Command("Last interaction in the list"),
    "InteractionList:select": Command("Open the highlighted interaction and write"),
    "banner.send": Command("Send the message (asks first)", "Send message", SMART),
    "banner.replace": Command("Replace the chosen template's $variables", "Replace variables"),
    "banner.close": Command("Close the interaction (asks first)", "Close interaction"),
    "banner.archive": Command(
        "Close and archive the interaction (asks first)", "Archive interaction"
    ),
    "thread.older": Command("Load older messages (the thread)", "Load older", when=_has_older),
    "banner.sms_caller": Command(
        "SMS to the caller: a separate interaction", "SMS to caller", NEW_SMS
    ),
    "banner.hang_up": Command("Hang up: end the call", "Hang up"),
    # The inbox
    "inbox.back": Command("Back to the Banner", "Back to the Banner"),
    "inbox.toggle": Command("Select or unselect the message (then the next)", "Select / unselect"),
    "inbox.all": Command("Select the page", "Select the page"),
    "inbox.view": Command("Select the whole view, every page", "Select the whole view"),
    "inbox.clear": Command("Clear the selection", "Clear the selection"),
    "inbox.reply": Command("Reply to the selected messages", "Reply", DIRECT),
    "inbox.forward": Command("Forward one message", "Forward", DIRECT),
    "inbox.delete": Command("Delete the selected messages (asks first)", "Delete", MESSAGING),
    "inbox.restore": Command("Restore from Deleted communications", "Restore", MESSAGING),
    "inbox.resend": Command(
        "Resend the failed messages (asks first for several)", "Resend failed", MESSAGING
    ),
    "inbox.filter": Command("Search and filter: number, contact, text, dates", "Filter"),
    "inbox.next": Command("Next page", "Next page"),
    "inbox.previous": Command("Previous page", "Previous page"),
    "DataTable:select_cursor": Command("Open the message in full"),
    "table.first": Command("First row of the table"),
    "table.last": Command("Last row of the table"),
    "message.close": Command("Close", "Close"),
    "message.reply": Command("Reply to this message", "Reply", DIRECT),
    "message.forward": Command("Forward this message", "Forward", DIRECT),
    "message.delete": Command("Delete this message (asks first)", "Delete", MESSAGING),
    "message.restore": Command("Restore this message", "Restore", MESSAGING),
    "message.resend": Command("Resend this failed message", "Resend", MESSAGING),
    "filter.cancel": Command("Cancel", "Cancel"),
    "filter.apply": Command("Apply the filter", "Apply the filter"),
    "filter.clear": Command("Clear every field", "Clear all"),
    # People
    "people.back": Command("Back to the Banner", "Back to the Banner"),
    "people.new": Command("New contact", "New contact"),
    "people.edit": Command("Edit the highlighted contact", "Edit contact"),
    "people.delete": Command("Delete the highlighted contact (asks first)", "Delete contact"),
    "people.new_group": Command("New group", "New group"),
    "people.delete_group": Command("Delete the highlighted group (asks first)", "Delete group"),
    "people.import": Command("Import contacts from a CSV file", "Import CSV"),
    "people.next": Command("Next page of contacts", "Next page"),
    "people.previous": Command("Previous page of contacts", "Previous page"),
    "people.search": Command("Search: name, company, email or number", "Search"),
    "contact.cancel": Command("Cancel", "Cancel"),
    "contact.save": Command("Save the contact", "Save"),
    "group.cancel": Command("Cancel", "Cancel"),
    "import.close": Command("Close", "Close"),
    # Supervisor dashboard, administration
    "supervisor.back": Command("Back to the Banner", "Back to the Banner"),
    "supervisor.refresh": Command("Reload the dashboard now", "Refresh"),
    "admin.back": Command("Back to the Banner", "Back to the Banner"),
    "admin.new": Command(
        "New (queue, bot, blacklist entry, template, profile, number, connector)", "New"
    ),
    "admin.edit": Command(
        "Edit the highlighted queue, template, profile, number or connector", "Edit"
    ),
    "admin.members": Command("The highlighted queue's members", "Members"),
    "admin.provider_numbers": Command(
        "The highlighted connector's numbers at its provider: add one to the account",
        "Connector numbers",
    ),
    "admin.remove": Command("Remove the highlighted row (asks first)", "Remove"),
    "admin.toggle": Command("Turn the highlighted bot on or off", "Bot on/off"),
    "admin.older": Command("Older audit trail entries", "Older entries"),
    "form.cancel": Command("Cancel", "Cancel"),
    "form.save": Command("Save", "Save"),
    # The forms of the Banner and Send SMS
    "new.continue": Command("Continue, from any field (the queue list, when open, takes it)"),
    "new.cancel": Command("Cancel", "Cancel"),
    "routing.next": Command("Routing: the next one (the mark follows)"),
    "routing.previous": Command("Routing: the previous one"),
    "direct.cancel": Command("Cancel", "Cancel"),
    "direct.send": Command("Send the Direct SMS", "Send"),
    "direct.replace": Command("Replace the chosen template's $variables", "Replace variables"),
    "compose.cancel": Command("Cancel", "Cancel"),
    "compose.send": Command("Send, or schedule, the SMS", "Send"),
    "confirm.cancel": Command("No: cancel", "Cancel"),
    "confirm.yes": Command("Yes (where the question says so)"),
    "confirm.no": Command("No (where the question says so)"),
    "help.close": Command("Close this help"),
}


# --- which bindings, under which heading ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Part:
    """Bindings of one class (by its name: imported when first needed, see :func:`owners`):
    its own ``BINDINGS`` (``ids``: only these), or those of ``actions`` it inherits from
    Textual."""

    owner: str
    ids: tuple[str, ...] | None = None
    actions: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    parts: tuple[Part, ...]
    #: Said under the heading (docs/keys.md and the help).
    note: str = ""


_BANNER_LIST = ("banner.new", "banner.new2", "banner.next", "banner.previous")
SECTIONS: tuple[Section, ...] = (
    Section(
        "Everywhere",
        # (Textual's tab and shift+tab of every screen: the app's, priority, come first)
        (
            Part("BannerApp"),
            Part("BaseModal"),
            Part("Screen", ("Screen:screen.copy_text",)),
        ),
        "The F-keys and ctrl+ keys work from any field; ? only where you are not typing.",
    ),
    Section(
        "Banner: the list of interactions",
        (
            Part("BannerScreen", (*_BANNER_LIST, "banner.open", "banner.list", "banner.refresh")),
            Part("InteractionList"),
            Part("InteractionList", actions=("select",)),
        ),
        "Letters act in the list, never while you type in a conversation.",
    ),
    Section(
        "Banner: a Smart SMS conversation",
        (
            Part(
                "BannerScreen", ("banner.send", "banner.replace", "banner.close", "banner.archive")
            ),
            Part("ThreadView"),
        ),
    ),
    Section(
        "Banner: a voice call", (Part("BannerScreen", ("banner.sms_caller", "banner.hang_up")),)
    ),
    Section(
        "New interaction", (Part("NewInteractionDialog"), Part("RoutingChoice")), "enter continues."
    ),
    Section("Direct SMS", (Part("DirectSmsDialog"),)),
    Section("Send SMS", (Part("ComposeDialog"),)),
    Section(
        "Inbox",
        (Part("InboxScreen"), Part("DataTable", actions=("select_cursor",))),
        "Letters act in the table and the views, never in a field.",
    ),
    Section(
        "Tables",
        (Part("RowTable"),),
        "In the inbox, people, the dashboard and administration; the arrows, page up and"
        " page down move too.",
    ),
    Section("Inbox: a message", (Part("MessageDialog"),)),
    Section("Inbox: search and filter", (Part("FilterDialog"),)),
    Section("People", (Part("PeopleScreen"),)),
    Section("People: a contact", (Part("ContactDialog"),)),
    Section("People: a group", (Part("GroupDialog"),)),
    Section("People: import", (Part("ImportDialog"),)),
    Section(
        "Supervisor dashboard",
        (Part("SupervisorScreen"),),
        "SL %: of the last 24 hours' conversations, the share attended (given to an agent)"
        " within the queue's Target; one still waiting past it counts as late.  Those that"
        " arrived while the queue was closed are left out, and counted under Closed.",
    ),
    Section("Administration", (Part("AdminScreen"),)),
    Section("Administration: a form", (Part("AdminForm"),)),
    Section(
        "Questions",
        (Part("ConfirmDialog"),),
        "enter answers with the focused button; y and n only answer questions that never"
        " come while you type (not Close or Archive).",
    ),
    Section("This help", (Part("HelpScreen"),)),
)


def owners() -> dict[str, type[DOMNode]]:
    """The classes :data:`SECTIONS` names (imported here: the screens import this module)."""
    from textual.widgets import DataTable

    from bannertui.ui.app import BannerApp
    from bannertui.ui.screens.admin import AdminForm, AdminScreen
    from bannertui.ui.screens.banner import BannerScreen
    from bannertui.ui.screens.base import BaseModal
    from bannertui.ui.screens.compose import ComposeDialog
    from bannertui.ui.screens.confirm import ConfirmDialog
    from bannertui.ui.screens.direct_form import DirectSmsDialog
    from bannertui.ui.screens.help import HelpScreen
    from bannertui.ui.screens.inbox import InboxScreen
    from bannertui.ui.screens.inbox_filter import FilterDialog
    from bannertui.ui.screens.message_detail import MessageDialog
    from bannertui.ui.screens.new_interaction import NewInteractionDialog, RoutingChoice
    from bannertui.ui.screens.people import ContactDialog, GroupDialog, ImportDialog, PeopleScreen
    from bannertui.ui.screens.supervisor import SupervisorScreen
    from bannertui.ui.widgets.interaction_list import InteractionList
    from bannertui.ui.widgets.row_table import RowTable
    from bannertui.ui.widgets.thread import ThreadView

    classes: list[type[DOMNode]] = [
        BannerApp,
        Screen,
        BannerScreen,
        InteractionList,
        ThreadView,
        NewInteractionDialog,
        BaseModal,
        RoutingChoice,
        DirectSmsDialog,
        ComposeDialog,
        InboxScreen,
        DataTable,
        RowTable,
        MessageDialog,
        FilterDialog,
        PeopleScreen,
        ContactDialog,
        GroupDialog,
        ImportDialog,
        SupervisorScreen,
        AdminScreen,
        AdminForm,
        ConfirmDialog,
        HelpScreen,
    ]
    return {cls.__name__: cls for cls in classes}


def own_bindings(owner: type[DOMNode]) -> list[Binding]:
    """The bindings ``owner`` itself declares (not those it inherits); Textual's internal
    ones (``system``) left out."""
    declared = [b for b in owner.__dict__.get("BINDINGS", ()) if isinstance(b, Binding)]
    return [b for b in declared if not b.system]


def inherited_bindings(owner: type[DOMNode], actions: tuple[str, ...]) -> list[Binding]:
    """The bindings of ``actions`` that ``owner`` has from its bases (the nearest first)."""
    found: dict[str, Binding] = {}
    for cls in owner.__mro__:
        for b in getattr(cls, "__dict__", {}).get("BINDINGS", ()):
            if isinstance(b, Binding) and b.action in actions and b.action not in found:
                found[b.action] = b
    return [found[a] for a in actions if a in found]


def entry_id(owner: type[DOMNode], binding: Binding) -> str:
    """The key of :data:`COMMANDS` for ``binding``: its id, else ``Owner:action``."""
    return binding.id or f"{owner.__name__}:{binding.action}"


@dataclass(frozen=True, slots=True)
class Row:
    """One line of a key table: the bindings of one action of one class (``?`` and F1)."""

    owner: type[DOMNode]
    bindings: tuple[Binding, ...]
    command: Command

    @property
    def id(self) -> str:
        return entry_id(self.owner, self.bindings[0])

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(entry_id(self.owner, b) for b in self.bindings)

    @property
    def action(self) -> str:
        return self.bindings[0].action

    @property
    def keys(self) -> str:
        return " / ".join(key_display(k) for b in self.bindings for k in binding_keys(b))

    @property
    def text(self) -> str:
        return self.command.help

    @property
    def needs(self) -> str:
        """Who may, or what their profile must allow ("" for everyone)."""
        need = self.command.need
        return need.label if need is not None else ""


@dataclass(frozen=True, slots=True)
class Table:
    section: Section
    rows: tuple[Row, ...] = field(default=())


def _rows(owner: type[DOMNode], bindings: list[Binding]) -> Iterator[Row]:
    grouped: dict[str, list[Binding]] = {}
    for b in bindings:
        grouped.setdefault(b.action, []).append(b)
    for group in grouped.values():
        ids = [entry_id(owner, b) for b in group]
        command = next((COMMANDS[i] for i in ids if i in COMMANDS), None)
        if command is None:
            first = group[0]
            command = Command(first.tooltip or first.description or first.action)
        yield Row(owner, tuple(group), command)


def tables() -> list[Table]:
    """:data:`SECTIONS` filled with the bindings as they are now."""
    classes = owners()
    result = []
    for section in SECTIONS:
        rows: list[Row] = []
        for part in section.parts:
            owner = classes[part.owner]
            if part.actions is not None:
                chosen = inherited_bindings(owner, part.actions)
            else:
                chosen = [
                    b
                    for b in own_bindings(owner)
                    if part.ids is None or entry_id(owner, b) in part.ids
                ]
            rows.extend(_rows(owner, chosen))
        result.append(Table(section, tuple(rows)))
    return result


# --- keys as people read them -------------------------------------------------------------------

_NAMES = {"escape": "escape", "enter": "enter", "delete": "delete", "space": "space", "tab": "tab"}


def binding_keys(binding: Binding) -> list[str]:
    return [k.strip() for k in binding.key.split(",") if k.strip()]


def key_display(key: str) -> str:
    """``ctrl+down`` → ``ctrl+↓``, ``f10`` → ``F10``, ``question_mark`` → ``?``."""
    *modifiers, name = key.split("+")
    if name[:1] == "f" and name[1:].isdigit():
        shown = name.upper()
    else:
        shown = _NAMES.get(name) or format_key(name)
    return "+".join([*modifiers, shown])


def is_printable(key: str) -> bool:
    """A key that types a character (``n``, ``?``, ``[``, ``A``, space) rather than a command
    key (F-keys, ctrl+, escape, enter, tab)."""
    character = key_to_character(key)
    return character is not None and character.isprintable()


# --- the help and docs/keys.md ------------------------------------------------------------------

BEGIN = "<!-- keys:begin (generated: python -m bannertui.ui.keymap --write docs/keys.md) -->"
END = "<!-- keys:end -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown() -> str:
    """The key tables of docs/keys.md, one per section."""
    out: list[str] = []
    for table in tables():
        out += [f"### {table.section.title}", ""]
        if table.section.note:
            out += [table.section.note, ""]
        out += [
            "| Keys | What it does | Who may | Palette | Binding |",
            "|---|---|---|---|---|",
        ]
        for row in table.rows:
            keys = " / ".join(f"`{key_display(k)}`" for b in row.bindings for k in binding_keys(b))
            cells = (row.text, row.needs or "everyone", row.command.title or "—")
            ids = ", ".join(f"`{i}`" for i in row.ids)
            out.append(f"| {keys} | {' | '.join(_cell(c) for c in cells)} | {ids} |")
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def generated_part(document: str) -> str | None:
    """What is between the markers in ``document`` (None: no markers)."""
    start, end = document.find(BEGIN), document.find(END)
    if start < 0 or end < start:
        return None
    return document[start + len(BEGIN) : end].strip("\n") + "\n"


def with_generated_part(document: str) -> str:
    """``document`` with the tables between its markers made anew (appended when none)."""
    block = f"{BEGIN}\n\n{markdown()}\n{END}"
    start, end = document.find(BEGIN), document.find(END)
    if start < 0 or end < start:
        return document.rstrip("\n") + "\n\n" + block + "\n"
    return document[:start] + block + document[end + len(END) :]


# --- the palette ----------------------------------------------------------------------------------


def _nodes(app: App[Any], screen: Screen[Any], owner: type[DOMNode]) -> list[DOMNode]:
    """Where ``owner``'s bindings act for a palette opened over ``screen``."""
    if isinstance(app, owner):
        return [app]
    if isinstance(screen, owner):
        return [screen]
    if issubclass(owner, (Screen, App)):
        return []
    found = screen.query(owner.__name__)
    return [found.first()] if found else []


def _enabled(node: DOMNode, action: str) -> bool:
    """What the binding's node says of its action now (hidden and dimmed keys: no)."""
    from textual.actions import parse

    _, name, parameters = parse(action)
    return bool(node.check_action(name, parameters))


def _runner(app: App[Any], node: DOMNode, binding: Binding) -> Callable[[], Any]:
    """What the palette runs: the binding's action on its node, as its key would."""
    return partial(app.run_action, binding.action, node)


def palette(
    app: App[Any], screen: Screen[Any], ctx: AgentContext | None
) -> Iterator[SystemCommand]:
    """The commands for a palette opened over ``screen``: the app's and that screen's (its
    widgets' too), each once, only those the agent may run (``ctx``: None until the Banner
    has read the agent; commands that need a permission wait for it) and only those that do
    something there now."""
    modal = isinstance(screen, ModalScreen)
    seen: set[str] = set()
    for table in tables():
        for row in table.rows:
            command = row.command
            if command.title is None or command.title in seen:
                continue
            if command.need is not None and (ctx is None or not command.need.allows(ctx)):
                continue
            if command.shows is not None and type(screen).__name__ == command.shows:
                continue
            for node in _nodes(app, screen, row.owner):
                if node is app and modal and not command.over_dialogs:
                    continue
                if not _enabled(node, row.action):
                    continue
                if command.when is not None and not command.when(node):
                    continue
                seen.add(command.title)
                yield SystemCommand(
                    command.title,
                    f"{command.help} ({row.keys})",
                    _runner(app, node, row.bindings[0]),
                )
                break


# --- python -m bannertui.ui.keymap ----------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bannertui.ui.keymap", description="The key tables of docs/keys.md."
    )
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--markdown", action="store_true", help="print the tables")
    group.add_argument("--write", metavar="PATH", type=Path, help="rewrite the tables in PATH")
    group.add_argument("--check", metavar="PATH", type=Path, help="exit 1 if PATH is stale")
    args = parser.parse_args(argv)
    if args.markdown:
        sys.stdout.write(markdown())
        return 0
    path: Path = args.write or args.check
    document = path.read_text(encoding="utf-8") if path.exists() else ""
    if args.check:
        if generated_part(document) != markdown():
            print(f"{path}: the key tables are out of date (--write {path})", file=sys.stderr)
            return 1
        return 0
    path.write_text(with_generated_part(document), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
