"""BannerApp: wiring, styles, global bindings, the command palette and the worker error policy."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine, Iterable
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar, overload

from rich.console import RenderableType
from textual import events, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import ModalScreen, Screen, ScreenResultCallbackType
from textual.widget import AwaitMount, Widget
from textual.widgets import Input, TextArea
from textual.worker import Worker

from bannertui.domain.actor import Actor
from bannertui.domain.enums import Role
from bannertui.domain.text import one_line, plural
from bannertui.services import Services
from bannertui.ui import keymap
from bannertui.ui.resources import stylesheet
from bannertui.ui.screens.banner import BannerScreen
from bannertui.ui.screens.base import report_worker_error
from bannertui.ui.textual_fixes import apply as apply_textual_fixes

if TYPE_CHECKING:
    from bannertui.services.inbox import SendReport

#: On quitting, the longest wait for the widgets being built to be mounted, and how often it
#: looks (they take milliseconds; the bound only keeps a widget that never mounts from
#: holding the quit).
QUIT_SETTLE_SECONDS = 1.0
QUIT_CHECK_SECONDS = 0.01
#: The longest keys typed after a bound key wait for it to run in its field (it runs as soon
#: as the field has taken the keys before it: milliseconds).
HOLD_SECONDS = 1.0

S = TypeVar("S")

apply_textual_fixes()


class Runtime(Protocol):
    """Background processes run inside the app (the demo's simulator, webhook, dispatcher)."""

    def run(self) -> Coroutine[Any, Any, None]: ...


class BannerApp(App[None]):
    TITLE = "bannertui"
    CSS_PATH = [
        stylesheet("app.tcss"),
        stylesheet("banner.tcss"),
        stylesheet("dialogs.tcss"),
        stylesheet("inbox.tcss"),
        stylesheet("supervisor.tcss"),
    ]
    #: The F-keys, like ctrl+q and ctrl+p, are the app's everywhere: priority bindings, so a
    #: focused widget's own binding of the same key does not shadow them (a TextArea binds
    #: F6 to select the line and F7 to select all: issue #23 item 5).  ``?`` is printable: an
    #: ordinary binding, a field takes it as text.  There is no bare ``q``: every screen has
    #: fields, and a ``q`` typed where the focus was not quit the app (issue #23 item 1);
    #: ctrl+q quits at once (drafts are kept).
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", id="app.quit", priority=True),
        # Textual adds this one when the app has none: ours (the same, with an id), to have
        # a line in the help like every other key.
        Binding(
            "ctrl+p",
            "command_palette",
            "palette",
            show=False,
            id="app.palette",
            priority=True,
            tooltip="Open the command palette",
        ),
        # Tab and shift+tab move the focus as the app reads them: as a screen binding they
        # ran once the key had gone round the focused field, and the keys typed right after
        # still went into the field being left (issue #23 item 10).
        Binding("tab", "focus_next", "Next field", show=False, id="app.focus_next", priority=True),
        Binding(
            "shift+tab",
            "focus_previous",
            "Previous field",
            show=False,
            id="app.focus_previous",
            priority=True,
        ),
        Binding("question_mark", "help", "Keys", id="app.help"),
        Binding("f1", "help", "Keys", id="app.help2", priority=True),
        Binding("f5", "send_sms", "Send SMS", id="app.send_sms", priority=True),
        Binding("f4", "inbox", "Inbox", id="app.inbox", priority=True),
        Binding("f6", "people", "People", show=False, id="app.people", priority=True),
        Binding("f7", "supervisor", "Supervisor", show=False, id="app.supervisor", priority=True),
        Binding("f10", "admin", "Admin", show=False, id="app.admin", priority=True),
    ]
    #: Set on quitting (ctrl+q, any ``exit()``): from then on what is typed does nothing
    #: and no screen is pushed.  Textual refuses every mount once ``exit()`` is called
    #: (``is_attached`` is False while the app closes): ``q?`` in one burst pushed the help
    #: while the app closed, and its footer raised MountError (issue #23 item 2).
    exiting = False

    def __init__(self, services: Services, actor: Actor, runtime: Runtime | None = None) -> None:
        super().__init__()
        self.services = services
        self.actor = actor
        self.runtime = runtime
        self._runtime_task: asyncio.Task[None] | None = None

    def on_mount(self) -> None:
        if self.runtime is not None:
            # A plain task, not a worker: it runs for the app's whole life, and testers'
            # `workers.wait_for_complete()` must not wait for it.  Started with the app, as
            # the Banner's first read: started later, its first write (the account pointed
            # at the simulator) made the Banner reload while a fast typist's first keys
            # arrived (tests/terminal/test_fast_keys.py, under load).
            self._runtime_task = asyncio.create_task(self.runtime.run(), name="bannertui-runtime")
            self._runtime_task.add_done_callback(self._runtime_ended)
        self.push_screen(BannerScreen(self.services, self.actor))

    def _runtime_ended(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            error = task.exception()
            self.notify(
                one_line(f"Background services stopped: {type(error).__name__}: {error}"),
                severity="error",
                markup=False,
                timeout=30,
            )

    async def on_unmount(self) -> None:
        task = self._runtime_task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        # Close the pooled connections on this loop, while it runs: left to the garbage
        # collector they would be closed after the loop is gone (and their threads kept).
        # The Database stays usable: a later query opens a new pool.
        await self.services.db.dispose()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_worker_error(self, event)

    # --- quitting --------------------------------------------------------------------------

    async def action_quit(self) -> None:
        """ctrl+q: stop taking keys and screens at once, then exit once every widget on
        the screens is built.  Textual refuses every mount from ``exit()`` on: a pane or a
        screen still being composed then (ctrl+q while the first conversation opened, or
        in the same burst as F4) raised MountError."""
        if self.exiting:
            return
        self.exiting = True
        deadline = time.monotonic() + QUIT_SETTLE_SECONDS

        def exit_when_built() -> None:
            if self._building() and time.monotonic() < deadline:
                self.set_timer(QUIT_CHECK_SECONDS, exit_when_built)
            else:
                self.exit()

        exit_when_built()

    def _building(self) -> bool:
        """A widget of the screens is composed or mounted right now."""
        return any(
            not widget.is_mounted
            for screen in self.screen_stack
            for widget in screen.walk_children(Widget, with_self=True)
        )

    def exit(
        self,
        result: None = None,
        return_code: int = 0,
        message: RenderableType | None = None,
    ) -> None:
        self.exiting = True
        super().exit(result, return_code, message)

    async def on_event(self, event: events.Event) -> None:
        """Once quitting, the keys (and clicks) that follow do nothing: those typed in the
        same burst as ctrl+q (and those still on their way up from a widget) run no action.

        Keys reach a text field in the order typed, each acting where the focus is when its
        turn comes (issue #23 items 7 and 10).  Textual forwards a key to the focused field's
        message queue and goes on with the next one; a key the field leaves to the bindings
        (tab, backspace, home, ctrl+u, enter, ctrl+s, an F-key) ran either at once, before
        the letters typed before it were in the field ("+336… enter" continued with an empty
        number), or once it had gone round the field's parents and back, after the letters
        typed behind it ("abc⌫d" gave "abc"; letters typed after Tab went into the field
        being left).  Here such a key runs in the field's own queue, after the keys before
        it, and the keys typed after it wait until it has run (held, then sent again)."""
        if self.exiting and isinstance(event, events.InputEvent):
            return
        if isinstance(event, (events.Key, events.Paste)) and not event.is_forwarded:
            if self._holding():
                assert self._held is not None
                self._held.append(event)
                return
            if isinstance(event, events.Key) and self._bound_in_field(event):
                field = self.focused
                assert field is not None
                self._held = []
                self._held_since = time.monotonic()
                self._held_by = field
                field.call_later(self._field_key, event.key, field)
                return
        await super().on_event(event)

    #: The keys typed since a bound key was sent to run in its field, in order (None: no
    #: key is held).  ``_held_by``: that field, until the key has run (then None: the held
    #: keys wait for :meth:`_drain`, in the app's queue, and those typed meanwhile join them).
    _held: list[events.Key | events.Paste] | None = None
    _held_by: Widget | None = None
    _held_since = 0.0

    def _holding(self) -> bool:
        """Keys wait for a bound key to run in its field, but not for a field that went
        (its queue closed with the key in it), nor longer than HOLD_SECONDS."""
        if self._held is None:
            return False
        field = self._held_by
        if field is not None and not (
            field.is_attached and time.monotonic() - self._held_since < HOLD_SECONDS
        ):
            self._held_by = None
            self.call_later(self._drain)
        return True

    async def _field_key(self, key: str, field: Widget) -> None:
        """In the field's queue: the bindings of ``key`` as Textual runs them (priority ones
        from the app down, then from the focused widget up); then the keys held go on."""
        try:
            if not self.exiting and not await self._check_bindings(key, priority=True):
                await self._check_bindings(key)
        finally:
            if self._held_by is field:  # (not a hold given up on, then another one's)
                self._held_by = None
                self.call_later(self._drain)

    async def _drain(self) -> None:
        """In the app's queue: the held keys, in their order, as if they came now; one of
        them may hold the rest again."""
        if self._held is None or self._held_by is not None:
            return  # drained already, or a newer hold is waiting for its field
        held, self._held = self._held, None
        for index, event in enumerate(held):
            if self._held is not None:
                self._held.extend(held[index:])
                return
            await self.on_event(event)

    def _bound_in_field(self, event: events.Key) -> bool:
        """A text field has the focus and leaves ``event`` to the bindings (it inserts
        printable keys itself; a text area, enter and an indenting tab too)."""
        focused = self.focused
        if event.is_printable:
            return False
        if isinstance(focused, Input):
            return True
        if isinstance(focused, TextArea):
            return not (
                event.key == "enter" or (event.key == "tab" and focused.tab_behavior == "indent")
            )
        return False

    @overload
    def push_screen(
        self,
        screen: Screen[S] | str,
        callback: ScreenResultCallbackType[S] | None = None,
        wait_for_dismiss: Literal[False] = False,
        *,
        mode: str | None = None,
    ) -> AwaitMount: ...

    @overload
    def push_screen(
        self,
        screen: Screen[S] | str,
        callback: ScreenResultCallbackType[S] | None = None,
        wait_for_dismiss: Literal[True] = True,
        *,
        mode: str | None = None,
    ) -> asyncio.Future[S]: ...

    def push_screen(
        self,
        screen: Screen[S] | str,
        callback: ScreenResultCallbackType[S] | None = None,
        wait_for_dismiss: bool = False,
        *,
        mode: str | None = None,
    ) -> AwaitMount | asyncio.Future[S]:
        """No screen once quitting: a worker that ends while the app closes (a dialog after
        a read, a screen after a permission check) would mount it on a closing app.  A
        worker waiting on the dialog is cancelled (it ends with the app anyway)."""
        if self.exiting:
            if wait_for_dismiss:
                refused: asyncio.Future[S] = asyncio.get_running_loop().create_future()
                refused.cancel()
                return refused
            return AwaitMount(self.screen, [])
        if wait_for_dismiss:
            return super().push_screen(screen, callback, wait_for_dismiss=True, mode=mode)
        return super().push_screen(screen, callback, mode=mode)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """F4 is not offered on the Inbox itself (room in an 80-column footer)."""
        if action == "inbox":
            return type(self.screen).__name__ != "InboxScreen"
        return True

    def action_help(self) -> None:
        from bannertui.ui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    @work(group="send-sms", exclusive=True, exit_on_error=False)
    async def action_send_sms(self) -> None:
        """I2: the compose dialog, from any screen (not over another dialog), once SPEC B1's
        prerequisites hold (an agent without outgoing messaging is told so now, not at
        ctrl+s; the error toast comes from the worker's failure)."""
        from bannertui.domain.routing import SendMode
        from bannertui.ui.screens.compose import ComposeDialog, ComposeRequest

        if isinstance(self.screen, ModalScreen):
            return
        await self.services.agents.outbound_options(self.actor, SendMode.DIRECT, new=False)
        if isinstance(self.screen, ModalScreen):  # another dialog opened meanwhile
            return
        self.push_screen(ComposeDialog(self.services, self.actor, ComposeRequest()), self._sms_sent)

    def _sms_sent(self, report: SendReport | None) -> None:
        if report is None:
            return
        n = len(report.message_ids)
        when = (
            f" scheduled for {report.scheduled_at.astimezone():%Y-%m-%d %H:%M}"
            if report.scheduled_at
            else " queued"
        )
        self.notify(f"{n} SMS{when} · {plural(report.credits, 'credit')}", markup=False)

    def action_inbox(self) -> None:
        from bannertui.ui.screens.inbox import InboxScreen

        self._switch_to(InboxScreen, lambda: InboxScreen(self.services, self.actor))

    def action_people(self) -> None:
        from bannertui.ui.screens.people import PeopleScreen

        self._switch_to(PeopleScreen, lambda: PeopleScreen(self.services, self.actor))

    @work(group="app-supervisor", exclusive=True, exit_on_error=False)
    async def action_supervisor(self) -> None:
        """S1: the dashboard, for supervisors and administrators (refused by name otherwise)."""
        from bannertui.ui.screens.supervisor import SupervisorScreen

        if isinstance(self.screen, (ModalScreen, SupervisorScreen)):
            return
        ctx = await self.services.agents.context(self.actor)
        if ctx.profile.role not in (Role.SUPERVISOR, Role.ADMIN):
            self.notify(
                "Not allowed: the dashboard is for supervisors and administrators",
                severity="error",
                markup=False,
            )
            return
        self._switch_to(SupervisorScreen, lambda: SupervisorScreen(self.services, self.actor))

    @work(group="app-admin", exclusive=True, exit_on_error=False)
    async def action_admin(self) -> None:
        """The Maker area, for administrators (refused by name otherwise)."""
        from bannertui.ui.screens.admin import AdminScreen

        if isinstance(self.screen, (ModalScreen, AdminScreen)):
            return
        ctx = await self.services.agents.context(self.actor)
        if ctx.profile.role != Role.ADMIN:
            self.notify(
                "Not allowed: administration is for administrators",
                severity="error",
                markup=False,
            )
            return
        self._switch_to(AdminScreen, lambda: AdminScreen(self.services, self.actor))

    def _switch_to(self, kind: type[Screen[Any]], make: Callable[[], Screen[Any]]) -> None:
        """Show the screen of ``kind`` over the Banner: the one already open, or a new one.
        Not from a dialog (finish or cancel it first)."""
        if isinstance(self.screen, (ModalScreen, kind)):
            return
        while len(self.screen_stack) > 1 and not isinstance(self.screen, BannerScreen):
            self.pop_screen()
        self.push_screen(make())

    def _banner(self) -> BannerScreen | None:
        for screen in self.screen_stack:
            if isinstance(screen, BannerScreen):
                return screen
        return None

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """X3: the commands of the screen the palette was opened over (ctrl+p), built from
        the bindings (see :mod:`bannertui.ui.keymap`): each once, only those the agent may
        run (their role and profile as the Banner last read them) and those that do
        something there now.  Textual's own follow, but for those of the same name (its
        "Keys" is a help panel; its "Quit" is ours)."""
        banner = self._banner()
        ours = list(keymap.palette(self, screen, banner.ctx if banner is not None else None))
        yield from ours
        titles = {command.title for command in ours}
        for command in super().get_system_commands(screen):
            if command.title not in titles and command.title not in ("Keys", "Quit"):
                yield command
