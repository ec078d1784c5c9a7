"""Untrusted text on screen: SMS bodies, numbers, queue and template names, provider errors and
error notifications show literally — never as markup, never as terminal control sequences,
never with a control, format or bidi character of their own in what the terminal is sent."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import regex
import sqlalchemy as sa
from sqlmodel import col
from textual.content import Content
from textual.pilot import Pilot
from textual.widgets import Input, OptionList, Select, Static
from textual.widgets._select import SelectCurrent
from textual.widgets._toast import Toast

from bannertui.domain.enums import Channel, InteractionStatus
from bannertui.services import Services
from bannertui.store.database import Database
from bannertui.store.models import (
    Agent,
    Contact,
    Interaction,
    Message,
    Queue,
    QueueAgent,
    Template,
    TemplateQueue,
)
from bannertui.testing import (
    DEMO_NOW,
    app_for,
    prepare_demo_database_async,
    shown_pane,
    text_of,
    wait_until,
    workers_done,
)
from bannertui.ui.app import BannerApp
from bannertui.ui.screens.banner import BannerScreen
from bannertui.ui.screens.confirm import ConfirmDialog
from bannertui.ui.screens.inbox import InboxScreen
from bannertui.ui.screens.message_detail import MessageDialog
from bannertui.ui.screens.new_interaction import NewInteractionDialog
from bannertui.ui.screens.supervisor import SupervisorScreen
from bannertui.ui.widgets.conversation import ConversationPane
from bannertui.ui.widgets.thread import ThreadView

LEA = "+33612000001"
ALICE_ID = 1  # the demo's first agent
SUPPORT_NUMBER = "+33757000010"
RAW_CONTROLS = ("\x1b", "\x07", "\x9b", "\u202e")

BODIES = {
    "markup": "[bold]x[/bold]",
    "click": "[@click=app.quit]q[/]",
    "csi": "\x1b[31mred",
    "osc": "\x1b]0;t\x07title",
    "c1": "\x9bc1",
    "bidi": "\u202eevil",
}

#: By their Unicode properties: control (Cc), format (Cf), line and paragraph separators
#: (Zl, Zp) and the bidi controls.
UNSAFE = regex.compile(r"[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Bidi_Control}]")
EVERY_UNSAFE = tuple(
    chr(cp) for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF and UNSAFE.match(chr(cp))
)


def hostile(tag: str) -> str:
    """Every one of them, between visible letters, in ``<tag>`` … ``</tag>``."""
    return f"<{tag}>" + "x".join(EVERY_UNSAFE) + f"</{tag}>"


#: As an SMS body: the receiver refuses a NUL, so none is ever stored.
HOSTILE_SMS = hostile("sms").replace("\x00", "")


def banner(app: BannerApp) -> BannerScreen:
    return next(s for s in app.screen_stack if isinstance(s, BannerScreen))


def styles_of(widget: Static) -> list[str]:
    visual = widget.visual
    assert isinstance(visual, Content)
    return [str(span.style) for span in visual.spans]


def no_raw_controls(text: str) -> None:
    for raw in RAW_CONTROLS:
        assert raw not in text, repr(raw)


def sent_to_terminal(app: BannerApp) -> str:
    """The text of every line the terminal is sent for the whole screen (with the screens
    under a dialog), as the driver writes it, one line each: the segments' text, without
    the escape sequences Textual itself adds around it for styles and cursor moves."""
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    lines = getattr(update, "strips", None)
    assert lines is not None, update
    return "\n".join("".join(segment.text for strip in line for segment in strip) for line in lines)


def no_unsafe_sent(app: BannerApp) -> str:
    """What the terminal is sent, checked: no code point of UNSAFE but the line breaks
    between lines."""
    sent = sent_to_terminal(app)
    found = sorted({f"U+{ord(c):04X}" for line in sent.split("\n") for c in UNSAFE.findall(line)})
    assert not found, "sent raw: " + " ".join(found)
    return sent


async def demo_with(tmp_path: Path, change: Callable[[Any], Awaitable[None]]) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.sqlite3'}"
    await prepare_demo_database_async(url)
    db = Database(url)
    try:
        async with db.write() as session:
            await change(session)
    finally:
        await db.dispose()
    return url


async def conversation_open(app: BannerApp, pilot: Pilot[None]) -> ConversationPane:
    """Wait for the first load: the first interaction's pane with its thread, and every
    worker ended."""
    await wait_until(pilot, lambda: isinstance(app.screen, BannerScreen))
    await wait_until(pilot, lambda: shown_pane(banner(app)) is not None)
    pane = shown_pane(banner(app))

    def thread_loaded() -> bool:
        views = pane.query(ThreadView)  # none until the pane is composed
        return bool(views) and bool(views.first(ThreadView).messages)

    await wait_until(pilot, thread_loaded)
    await workers_done(pilot)
    return pane


def pane_of(app: BannerApp, number: str) -> ConversationPane | None:
    """The open pane if it is ``number``'s and composed (None while panes are switched)."""
    pane = shown_pane(banner(app))
    if pane is None:
        return None
    return pane if pane.item.remote_number == number and pane.is_mounted else None


def dialog_up(app: BannerApp) -> bool:
    """The new-interaction dialog is on top, composed."""
    return isinstance(app.screen, NewInteractionDialog) and app.screen.is_mounted


async def alice_id(session: Any) -> int:
    return int(await session.scalar(sa.select(col(Agent.id)).where(col(Agent.login) == "alice")))


# --- SMS bodies


async def test_message_bodies_show_literally_with_placeholders(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.sqlite3'}"
    await prepare_demo_database_async(url)
    other = Services(Database(url))
    try:
        app = app_for(url, "alice")
        async with app.run_test(size=(110, 60)) as pilot:
            pane = await conversation_open(app, pilot)
            # the replies arrive while the app runs (another process: the webhook receiver)
            for key, body in BODIES.items():
                await other.inbound.receive(LEA, SUPPORT_NUMBER, f"<{key}>{body}</{key}>", key)
            body_widget = pane.query_one("#thread-body", Static)
            await wait_until(pilot, lambda: "<bidi>" in text_of(body_widget))
            thread = text_of(body_widget)
            assert "<markup>[bold]x[/bold]</markup>" in thread
            assert "<click>[@click=app.quit]q[/]</click>" in thread
            assert "<csi>␛[31mred</csi>" in thread
            assert "<osc>␛]0;t␇title</osc>" in thread
            assert "<c1>\ufffdc1</c1>" in thread
            assert "<bidi>\ufffdevil</bidi>" in thread
            no_raw_controls(thread)
            styles = " ".join(styles_of(body_widget))
            assert "click" not in styles
            assert "link" not in styles
            # what reaches the terminal (painted a frame or more after the thread's update)
            await wait_until(pilot, lambda: "␛[31mred" in app.export_screenshot())
            screen = app.export_screenshot()
            assert "[bold]x[/bold]" in screen
            assert "␛[31mred" in screen
            no_raw_controls(screen)
            # clicking the would-be link does nothing
            view = pane.query_one(ThreadView)
            await pilot.click(body_widget, offset=(10, 0))
            await wait_until(pilot, lambda: app.focused is view)  # the click has landed
            await pilot.pause(0.3)  # no wait can show that nothing happened: a margin
            assert app.is_running
    finally:
        await other.db.dispose()


async def test_provider_error_of_a_failed_message_shows_literally(tmp_path: Path) -> None:
    async def failed(session: Any) -> None:
        last = await session.scalar(
            sa.select(Message)
            .where(col(Message.remote_number) == LEA, col(Message.direction) == "outbound")
            .order_by(col(Message.id).desc())
        )
        last.status = "failed"
        last.folder = "failed"
        last.error = "[red]boom\x1b[0m"

    app = app_for(await demo_with(tmp_path, failed), "alice")
    async with app.run_test(size=(100, 30)) as pilot:
        pane = await conversation_open(app, pilot)
        thread = text_of(pane.query_one("#thread-body", Static))
        assert "failed: [red]boom␛[0m" in thread
        no_raw_controls(thread)


# --- numbers and names


NUMBER = "[red]+3361[/]\x1b"  # 16 characters at most
QUEUE = "[b]Queue[/b]\x1b[2J\u202e"


async def test_number_and_queue_name_with_markup_show_literally(tmp_path: Path) -> None:
    async def odd_interaction(session: Any) -> None:
        queue = Queue(name=QUEUE)
        session.add(queue)
        await session.flush()
        session.add(
            Interaction(
                channel=Channel.SMS,
                status=InteractionStatus.PROGRESSING,
                queue_id=queue.id,
                agent_id=await alice_id(session),
                remote_number=NUMBER,
                created_at=DEMO_NOW,
                unread=2,
            )
        )

    app = app_for(await demo_with(tmp_path, odd_interaction), "alice")
    async with app.run_test(size=(120, 30)) as pilot:
        await conversation_open(app, pilot)
        lst = banner(app).query_one("#interactions", OptionList)
        assert lst.option_count == 2
        label = str(lst.get_option_at_index(1).prompt)
        assert "[red]+3361[/]␛" in label
        assert "[b]Queue[/b]" in label
        no_raw_controls(label)
        await pilot.press("ctrl+down")
        await wait_until(pilot, lambda: pane_of(app, NUMBER) is not None)
        shown = pane_of(app, NUMBER)
        assert shown is not None
        title = text_of(shown.query_one("#conversation-title", Static))
        assert "[red]+3361[/]␛" in title
        assert "[b]Queue[/b]␛[2J\ufffd" in title
        no_raw_controls(title)
        assert app.is_running


async def test_a_contacts_name_with_markup_shows_literally_in_list_title_and_thread(
    tmp_path: Path,
) -> None:
    """The Banner names a conversation by its contact (as the inbox does): that name is
    someone's typing, or an import's, shown literally like a number."""

    async def odd_name(session: Any) -> None:
        lea = await session.scalar(sa.select(Contact).where(col(Contact.number) == LEA))
        lea.first_name = "[red]Eve[/]\x1b[2J"
        lea.last_name = "\u202eX"

    app = app_for(await demo_with(tmp_path, odd_name), "alice")
    async with app.run_test(size=(120, 30)) as pilot:
        pane = await conversation_open(app, pilot)
        listed = banner(app).query_one("#interactions", OptionList)
        label = str(listed.get_option_at_index(0).prompt)
        title = text_of(pane.query_one("#conversation-title", Static))
        thread = text_of(pane.query_one("#thread-body", Static))
        for shown in (label, title, thread):
            assert "[red]Eve[/]␛[2J \ufffdX" in shown, shown
            no_raw_controls(shown)
        assert f"({LEA})" in title
        await wait_until(pilot, lambda: "[red]Eve[/]" in app.export_screenshot())
        screen = app.export_screenshot()
        assert "[red]Eve[/]" in screen
        no_raw_controls(screen)


async def test_template_name_with_markup_shows_literally_in_the_template_select(
    tmp_path: Path,
) -> None:
    name = "[@click=app.quit]Quit[/] [b]B[/b]"

    async def odd_template(session: Any) -> None:
        template = Template(name=name, text="Hello $firstname")
        session.add(template)
        await session.flush()
        session.add(TemplateQueue(template_id=template.id, queue_id=1))  # Support

    app = app_for(await demo_with(tmp_path, odd_template), "alice")
    async with app.run_test(size=(100, 30)) as pilot:
        pane = await conversation_open(app, pilot)
        panel = pane.query_one("#template-panel")
        await wait_until(pilot, lambda: any(t.name == name for t in panel.templates))  # type: ignore[attr-defined]
        select = pane.query_one("#template-select", Select)
        select.value = next(t.id for t in panel.templates if t.name == name)  # type: ignore[attr-defined]
        label = select.query_one(SelectCurrent).query_one("#label", Static)
        await wait_until(pilot, lambda: name in text_of(label))
        await pilot.pause()  # the label repaints with the name before the click
        await pilot.click(label, offset=(1, 0))
        await wait_until(pilot, lambda: select.expanded)  # the click has landed: the list opens
        await pilot.pause(0.3)  # no wait can show that nothing else happened: a margin
        assert app.is_running, "clicking the template's name quit the app"
        assert name in text_of(label)


async def test_queue_name_with_markup_shows_literally_in_the_queue_select(
    tmp_path: Path,
) -> None:
    async def odd_queue(session: Any) -> None:
        queue = Queue(name="[b]Night[/b]")
        session.add(queue)
        await session.flush()
        session.add(QueueAgent(queue_id=queue.id, agent_id=ALICE_ID))  # her queues are offered

    app = app_for(await demo_with(tmp_path, odd_queue), "alice")
    async with app.run_test(size=(100, 30)) as pilot:
        await conversation_open(app, pilot)
        await pilot.press("escape", "n")
        await wait_until(pilot, lambda: dialog_up(app))
        dialog = app.screen
        select = dialog.query_one("#queue", Select)
        select.value = next(q.id for q in dialog.options.queues if q.name == "[b]Night[/b]")  # type: ignore[attr-defined]
        label = select.query_one(SelectCurrent).query_one("#label", Static)
        await wait_until(pilot, lambda: "[b]Night[/b]" in text_of(label))
        assert "[b]Night[/b]" in text_of(label)


# --- error notifications


async def test_error_notification_shows_brackets_literally(tmp_path: Path) -> None:
    async def markup_queue(session: Any) -> None:
        # A queue without SMS number: choosing it is "No queue configured", naming the queue.
        queue = Queue(name="Night [b]shift[/b] [@click=app.quit]x[/]")
        session.add(queue)
        await session.flush()
        session.add(QueueAgent(queue_id=queue.id, agent_id=ALICE_ID))  # her queues are offered

    app = app_for(await demo_with(tmp_path, markup_queue), "alice")
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await conversation_open(app, pilot)
        await pilot.press("escape", "n")
        await wait_until(pilot, lambda: dialog_up(app))
        dialog = app.screen
        recipient = dialog.query_one("#recipient", Input)
        recipient.value = "+3361200000"
        recipient.cursor_position = len(recipient.value)
        await pilot.press("8")
        await wait_until(pilot, lambda: recipient.value == "+33612000008")
        dialog.query_one("#queue", Select).value = next(
            q.id
            for q in dialog.options.queues  # type: ignore[attr-defined]
            if q.name.startswith("Night")
        )
        await pilot.pause()  # the form repaints with the choice before the click
        await pilot.click("#continue")
        expected = (
            "No queue configured: queue 'Night [b]shift[/b] [@click=app.quit]x[/]'"
            " has no SMS number"
        )
        await wait_until(pilot, lambda: any(str(n.message) == expected for n in app._notifications))
        notification = next(n for n in app._notifications if str(n.message) == expected)
        assert notification.severity == "error"
        assert notification.markup is False
        assert expected in text_of(dialog.query_one("#dialog-error", Static))
        await wait_until(pilot, lambda: bool(app.screen.query(Toast)))
        toast = app.screen.query(Toast).last()
        assert "[b]shift[/b]" in str(toast.render())
        assert "[@click=app.quit]x[/]" in str(toast.render())
        await pilot.click(toast, offset=(20, 1))
        await wait_until(pilot, lambda: notification not in app._notifications)  # dismissed
        await pilot.pause(0.3)  # no wait can show that nothing else happened: a margin
        assert app.is_running


# --- every control, format and bidi character, through every screen that shows them


async def hostile_names(session: Any) -> None:
    """Léa's name, a queue's name, Alice's name and the provider error of every failed message
    (the latest message made one): every unsafe code point, written straight to the
    database, as another tool could."""
    lea = await session.scalar(sa.select(Contact).where(col(Contact.number) == LEA))
    lea.first_name = hostile("name")
    lea.last_name = "Z"
    session.add(Queue(name=hostile("queue")))
    alice = await session.scalar(sa.select(Agent).where(col(Agent.login) == "alice"))
    alice.display_name = hostile("agent")
    last = await session.scalar(sa.select(Message).order_by(col(Message.id).desc()))
    last.status = "failed"
    last.folder = "failed"
    await session.flush()
    for failed in await session.scalars(sa.select(Message).where(col(Message.status) == "failed")):
        failed.error = hostile("error")


async def receive_hostile_sms(url: str) -> None:
    other = Services(Database(url))
    try:
        await other.inbound.receive(LEA, SUPPORT_NUMBER, HOSTILE_SMS, "every-unsafe")
    finally:
        await other.db.dispose()


async def test_no_control_or_format_character_reaches_the_terminal_from_the_banner(
    tmp_path: Path,
) -> None:
    """The conversation thread (body and contact name), the list, the title, and the
    notification that names the contact when the conversation is closed."""
    url = await demo_with(tmp_path, hostile_names)
    app = app_for(url, "alice")
    async with app.run_test(size=(160, 60), notifications=True) as pilot:
        pane = await conversation_open(app, pilot)
        await receive_hostile_sms(url)  # arrives while the app runs
        body_widget = pane.query_one("#thread-body", Static)
        await wait_until(pilot, lambda: "</sms>" in text_of(body_widget))
        await wait_until(pilot, lambda: "</sms>" in sent_to_terminal(app))
        sent = no_unsafe_sent(app)
        for shown in ("<sms>x␁x␂x", "<name>␀x␁x␂x", "<agent>␀x␁x", "x\ufffdx"):
            assert shown in sent, shown
        await pilot.press("f8")  # close: "Interaction with <name> closed."
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await wait_until(pilot, lambda: "the conversation with <name>" in sent_to_terminal(app))
        no_unsafe_sent(app)  # the question names the customer, safely
        await pilot.press("enter")
        await wait_until(pilot, lambda: bool(app.screen.query(Toast)))
        await wait_until(pilot, lambda: "closed." in sent_to_terminal(app))
        no_unsafe_sent(app)
        assert any(
            "<name>" in str(n.message) and "closed" in str(n.message) for n in app._notifications
        )


async def test_no_control_or_format_character_reaches_the_terminal_from_the_inbox(
    tmp_path: Path,
) -> None:
    """The inbox's table and preview line (contact, text, failure reason), then the
    message in full."""
    url = await demo_with(tmp_path, hostile_names)
    await receive_hostile_sms(url)
    app = app_for(url, "alice")
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, BannerScreen))
        await workers_done(pilot)
        await pilot.press("f4")
        await wait_until(pilot, lambda: isinstance(app.screen, InboxScreen))
        await workers_done(pilot)
        # the table's row and the preview line under it (the newest message is highlighted)
        await wait_until(pilot, lambda: "<sms>x␁x" in sent_to_terminal(app))
        assert "<name>␀x" in no_unsafe_sent(app)
        # the failed one (the rows are newest first: it is further down): its reason on the
        # preview line
        screen = app.screen
        assert isinstance(screen, InboxScreen)
        assert screen.page is not None
        rows = list(screen.page.rows)
        failed = next(i for i, r in enumerate(rows) if r.status == "failed")
        await pilot.press(*["down"] * failed)
        await wait_until(pilot, lambda: "<error>␀x" in sent_to_terminal(app))
        no_unsafe_sent(app)
        await pilot.press(*["up"] * failed, "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, MessageDialog))
        await wait_until(pilot, lambda: "</sms>" in sent_to_terminal(app))  # in full
        sent = no_unsafe_sent(app)
        assert "Contact: <name>␀x" in sent


async def test_no_control_or_format_character_reaches_the_terminal_from_the_dashboard(
    tmp_path: Path,
) -> None:
    """The supervisor's queues, agents and latest failures (the provider's reason)."""
    url = await demo_with(tmp_path, hostile_names)
    app = app_for(url, "sam")
    async with app.run_test(size=(250, 40)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, BannerScreen))
        await workers_done(pilot)
        await pilot.press("f7")
        await wait_until(pilot, lambda: isinstance(app.screen, SupervisorScreen))
        screen = app.screen
        assert isinstance(screen, SupervisorScreen)
        await wait_until(pilot, lambda: screen.board is not None)
        await wait_until(pilot, lambda: "</error>" in sent_to_terminal(app))
        sent = no_unsafe_sent(app)
        for shown in ("<queue>␀x", "<agent>␀x", "<error>␀x"):
            assert shown in sent, shown
