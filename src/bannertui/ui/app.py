"""BannerApp: wiring, styles, global bindings and the one error policy for workers."""

from __future__ import annotations

from textual.app import App
from textual.binding import Binding
from textual.worker import Worker, WorkerState

from bannertui.domain.errors import BannerError
from bannertui.services import Services
from bannertui.ui.resources import stylesheet
from bannertui.ui.screens.banner import BannerScreen


class BannerApp(App[None]):
    TITLE = "bannertui"
    CSS_PATH = [stylesheet("app.tcss"), stylesheet("banner.tcss")]
    BINDINGS = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("question_mark", "show_help_panel", "Keys", id="app.help"),
    ]

    def __init__(self, services: Services, login: str) -> None:
        super().__init__()
        self.services = services
        self.login = login

    def on_mount(self) -> None:
        self.push_screen(BannerScreen(self.services, self.login))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Expected refusals become a notification naming the cause; nothing is swallowed."""
        if event.state is not WorkerState.ERROR:
            return
        error = event.worker.error
        if isinstance(error, BannerError):
            self.notify(error.message, severity="error", markup=False)
        else:
            self.notify(
                f"Unexpected error: {type(error).__name__}: {error}",
                severity="error",
                markup=False,
                timeout=10,
            )
