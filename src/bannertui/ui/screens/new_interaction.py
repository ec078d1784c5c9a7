"""New interaction (SPEC B2, B3, B5): channel, recipient with live validation, routing by
permissions, then the queue (Smart) — or on to the Direct form.

Enter continues from every field (issue #23 item 7): the routing follows the arrows, the
queue's list opens with Down or Space, and a queue is chosen in advance, so a Smart SMS takes
``n``, the number, Enter.  The fields are checked in their order, the number first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Select, Static

from bannertui.domain.actor import Actor
from bannertui.domain.errors import (
    BannerError,
    CountryNotAuthorized,
    InvalidNumber,
    NoQueueConfigured,
)
from bannertui.domain.phone import partial_hint, warm_up
from bannertui.domain.routing import RoutingMode, SendMode
from bannertui.services import Services
from bannertui.services.agents import AgentContext, OutboundOptions
from bannertui.ui.safe import line
from bannertui.ui.screens.base import BaseModal


@dataclass(frozen=True)
class NewResult:
    """What the dialog decided: a Smart interaction was opened, or Direct to this number."""

    mode: SendMode
    number: str
    interaction_id: int | None = None


class MarkedRadioButton(RadioButton):
    """A radio button whose mark says, without colour, whether it is chosen: ● or ○."""

    ON = "●"
    OFF = "○"

    def __init__(self, label: str, value: bool = False, *, id: str | None = None) -> None:
        super().__init__(label, value, id=id)
        self.BUTTON_INNER = self.ON if value else self.OFF

    def watch_value(self) -> None:
        self.BUTTON_INNER = self.ON if self.value else self.OFF
        super().watch_value()


class RoutingChoice(RadioSet):
    """The routing radios: the arrows choose (the mark follows them), so Enter, the dialog's,
    goes on with what is shown; Space still presses the highlighted one."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down,right", "choose(1)", "Next option", show=False, id="routing.next"),
        Binding("up,left", "choose(-1)", "Previous option", show=False, id="routing.previous"),
    ]

    def action_choose(self, step: int) -> None:
        if step > 0:
            self.action_next_button()
        else:
            self.action_previous_button()
        for button in self.query("RadioButton.-selected").results(RadioButton):
            if not button.value:
                button.value = True


class NewInteractionDialog(BaseModal[NewResult | None]):
    BINDINGS = [
        Binding("enter", "continue", "Continue", priority=True, id="new.continue"),
        Binding("escape", "cancel", "Cancel", id="new.cancel"),
    ]

    def __init__(
        self,
        services: Services,
        actor: Actor,
        ctx: AgentContext,
        options: OutboundOptions,
        number: str = "",
    ) -> None:
        super().__init__()
        self.services = services
        self.actor = actor
        self.ctx = ctx
        self.options = options
        self.prefill = number

    def compose(self) -> ComposeResult:
        allowed = self.ctx.allowed_regions
        countries = "every country" if allowed is None else ", ".join(sorted(allowed)) or "none"
        queues = [(line(q.name, 40), q.id) for q in self.options.queues if q.id is not None]
        with Vertical(classes="dialog", id="new-dialog"):
            yield Static(Content.styled("New interaction", "bold"), classes="dialog-title")
            with Horizontal(classes="field-row"):
                yield Label("Channel", classes="field-label")
                # One channel: shown (B2), never a stop of Tab.
                channel = RadioSet(
                    MarkedRadioButton("SMS", value=True, id="channel-sms"),
                    id="channel",
                    compact=True,
                )
                channel.can_focus = False
                yield channel
            with Horizontal(classes="field-row"):
                yield Label("To", classes="field-label")
                yield Input(
                    self.prefill,
                    placeholder="+33 6 12 34 56 78 (international, mobile)",
                    id="recipient",
                    restrict=r"[0-9+()\-. /]*",
                    max_length=40,
                    compact=True,
                )
            yield Static(id="recipient-hint", classes="hint indented")
            yield Static(
                Content.styled(f"Authorized: {countries}", "$text-muted"),
                id="authorized",
                classes="hint indented",
            )
            if self.options.mode is RoutingMode.SELECTOR:
                with Horizontal(classes="field-row"):
                    yield Label("Routing", classes="field-label")
                    yield RoutingChoice(
                        MarkedRadioButton(
                            "Smart: a conversation in a queue", value=True, id="route-smart"
                        ),
                        MarkedRadioButton("Direct: a one-off SMS", id="route-direct"),
                        id="routing",
                        compact=True,
                    )
            with Horizontal(classes="field-row", id="queue-row"):
                yield Label("Queue", classes="field-label")
                # The first of the agent's queues is chosen in advance (Down or Space opens
                # the list); a blank only when there is none to choose.
                yield Select[int](
                    queues,
                    prompt="Choose a distribution queue",
                    allow_blank=not queues,
                    value=queues[0][1] if queues else Select.NULL,
                    compact=True,
                    id="queue",
                )
            yield Static(id="dialog-error", classes="error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Continue ⏎", id="continue", variant="primary", compact=True)
                yield Button("Cancel esc", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.run_worker(warm_up, thread=True, group="warm-up", exit_on_error=False)
        self.query_one("#recipient", Input).focus()
        self._show_hint(self.prefill)
        self._show_queue()

    @property
    def mode(self) -> SendMode:
        if self.options.mode is RoutingMode.DIRECT:
            return SendMode.DIRECT
        if self.options.mode is RoutingMode.SMART:
            return SendMode.SMART
        pressed = self.query_one("#routing", RadioSet).pressed_button
        return (
            SendMode.DIRECT
            if pressed is not None and pressed.id == "route-direct"
            else SendMode.SMART
        )

    def _show_queue(self) -> None:
        smart = self.mode is SendMode.SMART
        self.query_one("#queue-row").display = smart

    @on(RadioSet.Changed, "#routing")
    def _routing(self, _event: RadioSet.Changed) -> None:
        self._show_queue()

    @on(Input.Changed, "#recipient")
    def _typed(self, event: Input.Changed) -> None:
        self._show_hint(event.value)
        self._error("")

    def _show_hint(self, value: str) -> None:
        hint = partial_hint(value, allowed_regions=self.ctx.allowed_regions)
        widget = self.query_one("#recipient-hint", Static)
        bad = hint.startswith(("Invalid number", "Country not authorized"))
        widget.set_class(bad, "-bad")
        widget.update(Content(hint))

    def _error(self, text: str) -> None:
        self.query_one("#dialog-error", Static).update(line(text))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Enter continues, except on Cancel (it cancels) and in the queue's open list (it
        chooses the option)."""
        if action == "continue":
            focused = self.focused
            if focused is not None and focused.id == "cancel":
                return False
            if any(select.expanded for select in self.query(Select)):
                return False
        return True

    @on(Input.Submitted, "#recipient")
    @on(Button.Pressed, "#continue")
    def action_continue(self) -> None:
        number = self.query_one("#recipient", Input).value
        queue = self.query_one("#queue", Select).value
        self.proceed(number, self.mode, queue if isinstance(queue, int) else None)

    @work(group="new-continue", exclusive=True, exit_on_error=False)
    async def proceed(self, number: str, mode: SendMode, queue_id: int | None) -> None:
        """The fields in their order: the number, then (Smart) the queue."""
        try:
            e164 = await self.services.outbound.check_recipient(self.actor, number)
            if mode is SendMode.DIRECT:
                self.dismiss(NewResult(SendMode.DIRECT, e164))
                return
            if queue_id is None:
                raise NoQueueConfigured("you are a member of no distribution queue")
            interaction = await self.services.outbound.start_smart(self.actor, e164, queue_id)
        except BannerError as exc:
            self._error(exc.message)
            if isinstance(exc, InvalidNumber | CountryNotAuthorized):
                self.query_one("#recipient", Input).focus()
            elif isinstance(exc, NoQueueConfigured):
                self.query_one("#queue", Select).focus()
            raise
        self.dismiss(NewResult(SendMode.SMART, e164, interaction.id))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
