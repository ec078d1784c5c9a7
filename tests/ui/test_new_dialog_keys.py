"""The New dialog from the keyboard (issue #23 item 7): Enter continues from every field, the
fields are checked in their order, and a Smart SMS takes n, the number, Enter.

Before the fix a Smart SMS took n, the number and six more keys (Enter: "Choose a
distribution queue.", Enter: the list opens on its blank prompt, Down, Enter, Tab to
Continue, Enter); a Direct one five (Tab, Down, Enter, Tab, Enter)."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Button, Input, RadioButton, RadioSet, Select, Static
from textual.widgets._footer import FooterKey
from textual.worker import Worker

from bannertui.testing import demo_app, wait_for_screen, wait_until, workers_done
from bannertui.ui.app import BannerApp
from bannertui.ui.screens.banner import BannerScreen
from bannertui.ui.screens.direct_form import DirectSmsDialog
from bannertui.ui.screens.new_interaction import NewInteractionDialog
from bannertui.ui.widgets.conversation import ConversationPane
from bannertui.ui.widgets.interaction_list import InteractionList

SIZE = (80, 24)
NUMBER = "+33612000008"
#: Workers that wait on the dialog they opened: not waited for.
WAITING_ON_A_DIALOG = frozenset({"start_new"})


def banner(app: BannerApp) -> BannerScreen:
    return next(s for s in app.screen_stack if isinstance(s, BannerScreen))


def error_text(dialog: NewInteractionDialog) -> str:
    return str(dialog.query_one("#dialog-error", Static).render())


def opened_numbers(app: BannerApp) -> list[str]:
    return [i.remote_number for i in banner(app).query_one(InteractionList).items]


def banner_loaded(app: BannerApp) -> bool:
    """The Banner shows its agent, and the pane of the highlighted interaction if any."""
    screen = app.screen
    if not isinstance(screen, BannerScreen) or not str(screen.query_one("#agent-info").render()):
        return False
    listed = bool(screen.query_one(InteractionList).items)
    return bool(screen.query(".interaction-pane")) == listed


async def open_new(app: BannerApp, pilot: Pilot[None]) -> NewInteractionDialog:
    await wait_until(pilot, lambda: banner_loaded(app))
    await workers_done(pilot)
    await pilot.press("n")
    await wait_for_screen(pilot, "NewInteractionDialog", skip=WAITING_ON_A_DIALOG)
    dialog = app.screen
    assert isinstance(dialog, NewInteractionDialog)
    await wait_until(pilot, lambda: app.focused is dialog.query_one("#recipient", Input))
    return dialog


async def type_number(pilot: Pilot[None], dialog: NewInteractionDialog, number: str) -> None:
    """Most of the number at once, the last digit typed (keys are slow in the pilot)."""
    recipient = dialog.query_one("#recipient", Input)
    recipient.value = number[:-1]
    recipient.cursor_position = len(recipient.value)
    await pilot.press(number[-1])
    await wait_until(pilot, lambda: recipient.value == number)


async def enter_did_something(
    app: BannerApp, pilot: Pilot[None], dialog: NewInteractionDialog
) -> None:
    """After Enter: the dialog went on (closed), said why not, or opened the queue's list."""
    await wait_until(
        pilot,
        lambda: (
            app.screen is not dialog
            or error_text(dialog) != ""
            or dialog.query_one("#queue", Select).expanded
        ),
    )


async def smart_opened(app: BannerApp, pilot: Pilot[None], number: str) -> None:
    """The dialog closed on a new Smart conversation with ``number``, its editor focused."""
    await wait_until(
        pilot,
        lambda: (
            isinstance(app.screen, BannerScreen)
            and number in opened_numbers(app)
            and any(p.item.remote_number == number for p in app.screen.query(ConversationPane))
        ),
    )


async def test_smart_sms_takes_n_the_number_and_enter(tmp_path: Path) -> None:
    """Failed before the fix: Enter said "Choose a distribution queue." and moved to the
    queue (no queue was chosen in advance)."""
    app = demo_app(tmp_path, login="alice")
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_new(app, pilot)  # n
        await type_number(pilot, dialog, NUMBER)  # the number
        keys_after_the_number = ["enter"]
        await pilot.press(*keys_after_the_number)
        await enter_did_something(app, pilot, dialog)
        assert app.screen is not dialog, error_text(dialog)
        await smart_opened(app, pilot, NUMBER)
        assert len(keys_after_the_number) == 1


async def test_a_queue_is_chosen_in_advance_and_enter_on_it_continues(tmp_path: Path) -> None:
    """Failed before the fix: the queue was blank, and Enter on it opened its list."""
    app = demo_app(tmp_path, login="alice")
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_new(app, pilot)
        select = dialog.query_one("#queue", Select)
        assert isinstance(select.value, int), "no queue chosen in advance"
        await type_number(pilot, dialog, NUMBER)
        select.focus()
        await wait_until(pilot, lambda: app.focused is select)
        await pilot.press("enter")
        await smart_opened(app, pilot, NUMBER)
        assert not select.expanded


async def test_the_queue_list_opens_with_down_and_enter_there_chooses(tmp_path: Path) -> None:
    """Enter continues, but the queue's list still opens (Down, Space), and in the open list
    Enter chooses the option (it does not continue)."""
    app = demo_app(tmp_path, login="alice")
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_new(app, pilot)
        await type_number(pilot, dialog, NUMBER)
        select = dialog.query_one("#queue", Select)
        first = select.value
        select.focus()
        await wait_until(pilot, lambda: app.focused is select)
        await pilot.press("down")
        await wait_until(pilot, lambda: select.expanded)
        await pilot.press("down", "enter")  # the second queue
        await wait_until(pilot, lambda: not select.expanded)
        assert app.screen is dialog, "Enter in the open list continued"
        assert select.value != first
        await pilot.press("space")
        await wait_until(pilot, lambda: select.expanded)
        await pilot.press("escape")  # closes the list, not the dialog
        await wait_until(pilot, lambda: not select.expanded)
        assert app.screen is dialog
        await pilot.press("enter")
        await enter_did_something(app, pilot, dialog)
        assert not select.expanded, "Enter on the queue opened its list"
        await smart_opened(app, pilot, NUMBER)
        new = next(p for p in banner(app).query(ConversationPane) if p.item.remote_number == NUMBER)
        assert new.item.queue_id == select.value


async def test_direct_takes_tab_down_enter_after_the_number(tmp_path: Path) -> None:
    """The arrows choose the routing (the mark follows them) and Enter continues.  Failed
    before the fix: Enter on the radios only toggled them (five keys were needed)."""
    app = demo_app(tmp_path, login="alice")
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_new(app, pilot)
        await type_number(pilot, dialog, NUMBER)
        routing = dialog.query_one("#routing", RadioSet)
        await pilot.press("tab")
        await wait_until(pilot, lambda: app.focused is routing)
        await pilot.press("down")
        direct_radio = routing.query_one("#route-direct", RadioButton)
        await wait_until(pilot, lambda: direct_radio.has_class("-selected"))
        assert direct_radio.value, "Down highlighted Direct without choosing it"
        await pilot.press("enter")
        await wait_for_screen(pilot, "DirectSmsDialog", skip=WAITING_ON_A_DIALOG)
        direct = app.screen
        assert isinstance(direct, DirectSmsDialog)
        assert direct.number == NUMBER


async def test_enter_on_the_routing_radios_continues(tmp_path: Path) -> None:
    """Failed before the fix: Enter on the radios did nothing visible (it re-pressed Smart)."""
    app = demo_app(tmp_path, login="alice")
    started: list[str] = []

    def hook(message: object) -> None:
        if isinstance(message, Worker.StateChanged) and message.worker.name == "proceed":
            started.append(message.worker.name)

    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        dialog = await open_new(app, pilot)
        await type_number(pilot, dialog, NUMBER)
        routing = dialog.query_one("#routing", RadioSet)
        routing.focus()
        await wait_until(pilot, lambda: app.focused is routing)
        await pilot.press("enter")  # handled once the pilot returns
        assert started, "Enter on the routing radios did not continue"
        await smart_opened(app, pilot, NUMBER)


async def test_an_empty_number_is_reported_first_by_its_name(tmp_path: Path) -> None:
    """Fields are checked in their order: the number before the queue.  Failed before the
    fix: "Choose a distribution queue."."""
    app = demo_app(tmp_path, login="bruno")  # Smart only
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_new(app, pilot)
        await pilot.press("enter")  # To is empty
        await enter_did_something(app, pilot, dialog)
        assert error_text(dialog).startswith("Invalid number"), error_text(dialog)
        assert app.focused is dialog.query_one("#recipient", Input)
        assert app.screen is dialog
        # From a later field too: the number is named, and gets the focus back.
        dialog.query_one("#queue", Select).focus()
        await wait_until(pilot, lambda: app.focused is dialog.query_one("#queue", Select))
        dialog.query_one("#dialog-error", Static).update("")
        await pilot.press("enter")
        await enter_did_something(app, pilot, dialog)
        assert error_text(dialog).startswith("Invalid number"), error_text(dialog)
        await wait_until(pilot, lambda: app.focused is dialog.query_one("#recipient", Input))


async def test_enter_on_cancel_still_cancels(tmp_path: Path) -> None:
    app = demo_app(tmp_path, login="alice")
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_new(app, pilot)
        await type_number(pilot, dialog, NUMBER)
        cancel = dialog.query_one("#cancel", Button)
        cancel.focus()
        await wait_until(pilot, lambda: app.focused is cancel)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, BannerScreen))
        await workers_done(pilot)
        assert NUMBER not in opened_numbers(app)


async def test_routing_marks_the_choice_without_colour(tmp_path: Path) -> None:
    """Failed before the fix: both radios drew the same ● (their colour alone differed)."""
    app = demo_app(tmp_path, login="alice")
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_new(app, pilot)

        def marks() -> tuple[str, str]:
            smart, direct = dialog.query_one("#routing", RadioSet).query(RadioButton)
            return str(smart.render()), str(direct.render())

        smart, direct = marks()
        assert "●" in smart, smart
        assert "○" not in smart, smart
        assert "○" in direct, direct
        assert "●" not in direct, direct
        await pilot.click("#route-direct")
        await wait_until(pilot, lambda: "●" in marks()[1])
        smart, direct = marks()
        assert "○" in smart, smart
        assert "●" in direct, direct


async def test_the_dialog_footer_says_continue_and_keys(tmp_path: Path) -> None:
    """Failed before the fix: "esc Cancel" alone (no Enter, no Keys hint)."""
    app = demo_app(tmp_path, login="alice")
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_new(app, pilot)
        await wait_until(pilot, lambda: bool(dialog.query(FooterKey)))
        shown = [(k.key_display, k.description) for k in dialog.query(FooterKey)]
        descriptions = [d for _, d in shown]
        assert "Continue" in descriptions, shown
        assert "Keys" in descriptions, shown
        assert "Cancel" in descriptions, shown
