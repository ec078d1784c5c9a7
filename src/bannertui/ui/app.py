"""BannerApp: wiring, styles, global bindings, the command palette and the worker error policy."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine, Iterable
from typing import Any, Protocol

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker

from bannertui.services import Services
from bannertui.ui.resources import stylesheet
from bannertui.ui.screens.banner import BannerScreen
from bannertui.ui.screens.base import report_worker_error


class Runtime(Protocol):
    """Background processes run inside the app (the demo's simulator, webhook, dispatcher)."""

    def run(self) -> Coroutine[Any, Any, None]: ...


class BannerApp(App[None]):
    TITLE = "bannertui"
    CSS_PATH = [stylesheet("app.tcss"), stylesheet("banner.tcss"), stylesheet("dialogs.tcss")]
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", id="app.quit", priority=True),
        Binding("q", "quit", "Quit", show=False, id="app.quit2"),
        Binding("question_mark", "help", "Keys", id="app.help"),
        Binding("f1", "help", "Keys", show=False, id="app.help2"),
    ]

    def __init__(self, services: Services, login: str, runtime: Runtime | None = None) -> None:
        super().__init__()
        self.services = services
        self.login = login
        self.runtime = runtime
        self._runtime_task: asyncio.Task[None] | None = None

    def on_mount(self) -> None:
        if self.runtime is not None:
            # A plain task, not a worker: it runs for the app's whole life, and testers'
            # `workers.wait_for_complete()` must not wait for it.
            self._runtime_task = asyncio.create_task(self.runtime.run(), name="bannertui-runtime")
            self._runtime_task.add_done_callback(self._runtime_ended)
        self.push_screen(BannerScreen(self.services, self.login))

    def _runtime_ended(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            error = task.exception()
            self.notify(
                f"Background services stopped: {type(error).__name__}: {error}",
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

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_worker_error(self, event)

    def action_help(self) -> None:
        from bannertui.ui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def _banner(self) -> BannerScreen | None:
        for screen in self.screen_stack:
            if isinstance(screen, BannerScreen):
                return screen
        return None

    def _on_banner(self, action: str) -> None:
        banner = self._banner()
        if banner is not None and self.screen is banner:
            self.call_later(self.run_action, action, banner)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """X3: every action of the Banner by name (ctrl+p)."""
        yield SystemCommand(
            "New interaction", "Send an SMS: Direct or Smart (n)", lambda: self._on_banner("new")
        )
        yield SystemCommand(
            "Next interaction",
            "Select the next open interaction (ctrl+↓)",
            lambda: self._on_banner("next_interaction"),
        )
        yield SystemCommand(
            "Previous interaction",
            "Select the previous one (ctrl+↑)",
            lambda: self._on_banner("previous_interaction"),
        )
        yield SystemCommand(
            "Send message",
            "Send the message of this conversation (ctrl+s)",
            lambda: self._on_banner("pane('send')"),
        )
        yield SystemCommand(
            "Replace variables",
            "Fill the template's $variables (ctrl+r)",
            lambda: self._on_banner("pane('replace')"),
        )
        yield SystemCommand(
            "Close interaction",
            "Close this conversation (F8)",
            lambda: self._on_banner("pane('end')"),
        )
        yield SystemCommand(
            "Archive interaction",
            "Close and archive it (F9)",
            lambda: self._on_banner("pane('archive')"),
        )
        yield SystemCommand(
            "SMS to caller",
            "From a voice call: SMS the caller (F3)",
            lambda: self._on_banner("pane('sms')"),
        )
        yield SystemCommand(
            "Hang up", "End the voice call (F8)", lambda: self._on_banner("pane('end')")
        )
        yield SystemCommand(
            "Refresh", "Reload from the database (r)", lambda: self._on_banner("refresh")
        )
        yield SystemCommand("Keys", "Show every key binding (?)", self.action_help)
        yield from super().get_system_commands(screen)
