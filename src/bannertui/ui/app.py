"""BannerApp: wiring, styles, global bindings and the one error policy for workers."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, Protocol

from textual.app import App
from textual.binding import Binding
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
    CSS_PATH = [stylesheet("app.tcss"), stylesheet("banner.tcss")]
    BINDINGS = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("question_mark", "show_help_panel", "Keys", id="app.help"),
    ]

    def __init__(self, services: Services, login: str, runtime: Runtime | None = None) -> None:
        super().__init__()
        self.services = services
        self.login = login
        self.runtime = runtime

    def on_mount(self) -> None:
        if self.runtime is not None:
            self.run_worker(
                self.runtime.run(), name="runtime", group="runtime", exit_on_error=False
            )
        self.push_screen(BannerScreen(self.services, self.login))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_worker_error(self, event)
