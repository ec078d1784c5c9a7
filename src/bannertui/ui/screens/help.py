"""The help screen (SPEC X3): every key binding, by where it works."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from bannertui.ui.screens.base import BaseModal

SECTIONS: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "Everywhere",
        [
            ("F5", "Send SMS to numbers, contacts or groups (now or scheduled)"),
            ("F4", "Inbox: every SMS by view"),
            ("F6", "People: contacts and groups"),
            ("F7", "Supervisor dashboard (supervisors and administrators)"),
            ("F10", "Administration: queues, bots, blacklist, audit trail (administrators)"),
            ("ctrl+p", "Command palette: every action by name"),
            ("? / F1", "This help"),
            ("ctrl+q / q", "Quit (q when not typing)"),
        ],
    ),
    (
        "Banner",
        [
            ("n / F2", "New interaction (SMS)"),
            ("ctrl+↓ / ctrl+↑", "Next / previous interaction"),
            ("j / k, g / G", "Move in the list of interactions"),
            ("enter", "Open the highlighted interaction and write"),
            ("escape", "Back to the list"),
            ("r", "Refresh now"),
        ],
    ),
    (
        "Smart SMS conversation",
        [
            ("ctrl+s", "Send (asks for confirmation)"),
            ("ctrl+r", "Replace variables of the chosen template"),
            ("[", "Load older messages (or scroll to the top)"),
            ("F8", "Close the interaction"),
            ("F9", "Archive the interaction"),
            ("tab / shift+tab", "Next / previous field"),
        ],
    ),
    (
        "Voice call",
        [("F3", "SMS to the caller (a separate interaction)"), ("F8", "Hang up")],
    ),
    (
        "Inbox",
        [
            ("↑ / ↓, tab", "Move in the table; tab to the views and back"),
            ("space", "Select / unselect the message (then the next)"),
            ("ctrl+a / A / x", "Select the page / the whole view / clear"),
            ("enter", "Open the message in full"),
            ("r / f", "Reply to the selection / forward one message"),
            ("d / u", "Delete (asks first) / restore from Deleted communications"),
            ("R", "Resend failed messages (asks first for several)"),
            ("/", "Search and filter: number, contact, text, dates"),
            ("] / [", "Next / previous page"),
            ("escape", "Back to the Banner"),
        ],
    ),
    (
        "People",
        [
            ("n / e / d", "New / edit / delete a contact"),
            ("G / D", "New group / delete the highlighted group"),
            ("i", "Import contacts from a CSV file"),
            ("/", "Search"),
            ("escape", "Back to the Banner"),
        ],
    ),
    (
        "Dialogs",
        [
            ("ctrl+s", "Send (Direct SMS, Send SMS) / save / apply"),
            ("enter", "Continue / confirm"),
            ("escape", "Cancel"),
        ],
    ),
]


def help_content() -> Content:
    parts: list[Content] = []
    for title, rows in SECTIONS:
        parts.append(Content.styled(f"{title}\n", "bold $accent"))
        for keys, what in rows:
            parts.append(Content.assemble((f"  {keys:<18}", "bold"), what, "\n"))
        parts.append(Content("\n"))
    return Content.assemble(*parts)


class HelpScreen(BaseModal[None]):
    BINDINGS = [
        Binding("escape", "dismiss_help", "Close", id="help.close"),
        Binding("question_mark", "dismiss_help", "Close", show=False, id="help.close2"),
        Binding("q", "dismiss_help", "Close", show=False, id="help.close3"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog wide", id="help-dialog"):
            yield Static(Content.styled("Keys", "bold"), classes="dialog-title")
            yield Static(help_content(), id="help-body")

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
