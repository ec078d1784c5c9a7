"""What every bannertui screen shares: the one error policy for its workers."""

from __future__ import annotations

from typing import Any, TypeVar

from textual.app import App
from textual.screen import ModalScreen, Screen
from textual.worker import Worker, WorkerState

from bannertui.domain.errors import BannerError

R = TypeVar("R")


def report_worker_error(screen: Screen[Any] | App[Any], event: Worker.StateChanged) -> None:
    """Expected refusals → a notification with the SPEC name; anything else → a notification
    naming the exception (never markup: the text may carry provider or user input)."""
    if event.state is not WorkerState.ERROR:
        return
    error = event.worker.error
    if isinstance(error, BannerError):
        screen.notify(error.message, severity="error", markup=False)
    else:
        screen.notify(
            f"Unexpected error: {type(error).__name__}: {error}",
            title="bannertui",
            severity="error",
            markup=False,
            timeout=15,
        )


class BaseScreen(Screen[R]):
    """Worker.StateChanged does not bubble: each screen reports its own workers' errors."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_worker_error(self, event)


class BaseModal(ModalScreen[R]):
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_worker_error(self, event)
