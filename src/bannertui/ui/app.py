"""BannerApp: wiring, styles, global bindings and the one error policy for workers."""

from __future__ import annotations

from textual.app import App
from textual.binding import Binding

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
