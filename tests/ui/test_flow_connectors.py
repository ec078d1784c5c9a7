"""The SMS connectors through the pilot (issue #20; SMPP, issue #21): the administration's
Connectors tab (its table, the form with Test connection before Save, each refusal beside its
field, Remove, a connector's numbers at its provider), the queue form's connector choice, and
the supervisor dashboard's per-connector figures.  SMPP's Test connection goes to a fake
gateway factory (:class:`FakeGateway`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import (
    Button,
    DataTable,
    Input,
    OptionList,
    Select,
    Static,
    Switch,
    TabbedContent,
)

from bannertui.domain.actor import Actor
from bannertui.gateway import http_gateway
from bannertui.services import Services
from bannertui.services.connectors import ConnectorFigures
from bannertui.services.gateway import (
    ConnectionCheck,
    ConnectionReport,
    ProviderConfig,
    SmppConfig,
    TwilioConfig,
)
from bannertui.store.database import Database
from bannertui.store.secrets import ENV_VAR
from bannertui.testing import (
    DEMO_NOW,
    demo_app,
    demo_url,
    notifications,
    text_of,
    wait_until,
    workers_done,
)
from bannertui.ui.app import BannerApp
from bannertui.ui.screens.admin import AdminScreen, QueueDialog
from bannertui.ui.screens.admin.connectors import ConnectorDialog, ConnectorNumbersDialog
from bannertui.ui.screens.banner import BannerScreen
from bannertui.ui.screens.confirm import ConfirmDialog
from bannertui.ui.screens.supervisor import SupervisorScreen

SIZE = (100, 40)
ADMIN = Actor("admin")
#: The worker that opens a confirmation and waits for its answer: it ends with the dialog.
CONFIRMING = frozenset({"action_remove"})
UNREACHABLE_URL = "https://127.0.0.1:1/x"


@pytest.fixture(autouse=True)
def _private_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Secrets are written beside the configuration file: the test's, never the user's."""
    monkeypatch.setenv("BANNERTUI_CONFIG", str(tmp_path / "conf" / "config.toml"))
    monkeypatch.delenv(ENV_VAR, raising=False)


def fixed_app(url: str, login: str = "admin", gateways: Any = http_gateway) -> BannerApp:
    return BannerApp(
        Services(Database(url), clock=lambda: DEMO_NOW, gateways=gateways), Actor(login)
    )


class FakeGateway:
    """A gateway factory whose adapters answer ``report`` to Test connection (the SMPP
    adapter's own tests are elsewhere); the configurations it was given are kept."""

    def __init__(self, report: ConnectionReport) -> None:
        self.report = report
        self.configs: list[ProviderConfig | TwilioConfig | SmppConfig] = []

    def __call__(self, config: ProviderConfig | TwilioConfig | SmppConfig) -> Any:
        self.configs.append(config)
        return self

    async def test_connection(self) -> ConnectionReport:
        return self.report

    async def aclose(self) -> None:
        pass


BOUND = ConnectionReport(ConnectionCheck.REACHABLE, "bound as acme")
SMPP = {"host": "smsc.example.net", "system_id": "acme"}


def connectors_table(app: BannerApp) -> DataTable[Any]:
    screen = next(s for s in app.screen_stack if isinstance(s, AdminScreen))
    return screen.query_one("#admin-connectors", DataTable)


def column(app: BannerApp, key: str) -> list[str]:
    t = connectors_table(app)
    return [str(t.get_cell(row.key, key)) for row in t.ordered_rows]


def shown_errors(dialog: Any) -> dict[str, str]:
    return {
        str(e.id): text_of(e) for e in dialog.query(".field-error").results(Static) if e.display
    }


async def wait_screen(
    app: BannerApp, pilot: Pilot[None], kind: type, *, skip: frozenset[str] = frozenset()
) -> Any:
    await wait_until(pilot, lambda: isinstance(app.screen, kind) and app.screen.is_mounted)
    await workers_done(pilot, skip=skip)
    return app.screen


async def open_connectors(app: BannerApp, pilot: Pilot[None]) -> AdminScreen:
    """F10, the Connectors tab shown with its rows, the table focused."""
    await wait_screen(app, pilot, BannerScreen)
    await pilot.press("f10")
    screen = await wait_screen(app, pilot, AdminScreen)
    screen.query_one(TabbedContent).active = "tab-connectors"
    table = connectors_table(app)
    await wait_until(pilot, lambda: table.row_count >= 2 and table.display)
    table.focus()
    await wait_until(pilot, lambda: app.focused is table)
    await workers_done(pilot)
    assert isinstance(screen, AdminScreen)
    return screen


async def cursor_to(app: BannerApp, pilot: Pilot[None], row_key: str) -> None:
    table = connectors_table(app)
    index = table.get_row_index(row_key)
    table.move_cursor(row=index, animate=False)
    await wait_until(pilot, lambda: table.cursor_row == index)


async def new_connector(app: BannerApp, pilot: Pilot[None]) -> ConnectorDialog:
    await pilot.press("n")
    dialog = await wait_screen(app, pilot, ConnectorDialog)
    assert isinstance(dialog, ConnectorDialog)
    return dialog


def no_unexpected_error(app: BannerApp) -> None:
    unexpected = [n for n in notifications(app) if "Unexpected error" in n]
    assert not unexpected, unexpected


async def test_the_tab_lists_the_demo_connectors(tmp_path: Path) -> None:
    app = fixed_app(await demo_url(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await open_connectors(app, pilot)
        assert column(app, "name") == ["Carrier HTTPS", "Twilio"]
        assert column(app, "type") == ["https-json", "twilio"]
        assert column(app, "configured") == ["yes", "yes"]
        figures = await app.services.connectors.figures(ADMIN)
        assert column(app, "numbers") == [str(f.numbers) for f in figures] == ["3", "1"]
        assert column(app, "queues") == [str(f.queues) for f in figures]
        assert column(app, "sent") == [str(f.sent) for f in figures]
        no_unexpected_error(app)


async def test_save_waits_for_a_successful_test_against_the_simulator(tmp_path: Path) -> None:
    app = demo_app(tmp_path, "admin", simulator=True)
    async with app.run_test(size=SIZE) as pilot:
        connectors = app.services.connectors

        # The runtime points connector 1 at its simulator once it has started.
        def stopped() -> list[str]:
            return [n for n in notifications(app) if "Background services stopped" in n]

        await wait_until(
            pilot, lambda: getattr(app.runtime, "twilio", None) is not None or bool(stopped())
        )
        assert not stopped(), stopped()
        first = await connectors.get(ADMIN, 1)
        url, ca_file = str(first.settings["url"]), str(first.settings["ca_file"])
        assert url != "https://127.0.0.1:8443/v1/sms"  # the seed's
        await open_connectors(app, pilot)
        dialog = await new_connector(app, pilot)
        save = dialog.query_one("#save", Button)
        assert dialog.query_one("#c-https").display
        assert not dialog.query_one("#c-twilio").display
        dialog.query_one("#c-name", Input).value = "Backup HTTPS"
        dialog.query_one("#c-url", Input).value = UNREACHABLE_URL
        dialog.query_one("#c-ca", Input).value = ca_file
        assert save.disabled
        await pilot.press("ctrl+s")  # no test yet: refused, nothing written
        await wait_until(
            pilot, lambda: "Test connection first" in text_of(dialog.query_one("#dialog-error"))
        )

        result = dialog.query_one("#c-result", Static)
        dialog.query_one("#c-test", Button).press()
        await wait_until(pilot, lambda: text_of(result).startswith("unreachable"))
        assert save.disabled

        dialog.query_one("#c-url", Input).value = url
        dialog.query_one("#c-test", Button).press()
        await wait_until(pilot, lambda: not save.disabled)
        assert text_of(result).startswith("reachable"), text_of(result)
        dialog.query_one("#c-url", Input).value = url + "x"  # a change asks for a new test
        await wait_until(pilot, lambda: save.disabled)
        dialog.query_one("#c-url", Input).value = url
        await wait_until(pilot, lambda: not save.disabled)
        save.press()
        await wait_screen(app, pilot, AdminScreen)
        await wait_until(pilot, lambda: "Backup HTTPS" in column(app, "name"))
        added = await connectors.get(ADMIN, "Backup HTTPS")
        assert (added.settings["url"], added.settings["ca_file"]) == (url, ca_file)
        events = await app.services.admin.audit_trail(ADMIN, action="connector.added")
        assert [e.target for e in events] == ["Backup HTTPS"]

        # The Twilio connector's numbers at its (simulated) provider; one it does not own
        # is refused with the service's words.
        twilio = await connectors.get(ADMIN, "Twilio")
        await cursor_to(app, pilot, str(twilio.id))
        await pilot.press("p")
        numbers = await wait_screen(app, pilot, ConnectorNumbersDialog)
        listed = numbers.query_one("#cn-list", OptionList)
        await wait_until(pilot, lambda: listed.option_count == 1)
        assert "+33757000011 · in the account" in str(listed.get_option_at_index(0).prompt)
        numbers.query_one("#cn-number", Input).value = "+33757000077"
        await pilot.press("ctrl+s")
        refusal = "is not a number of the Twilio account of Twilio"
        error = numbers.query_one("#dialog-error", Static)
        await wait_until(pilot, lambda: refusal in text_of(error))
        assert text_of(error).startswith("Invalid connector: +33757000077")
        assert app.screen is numbers
        assert "+33757000077" not in await connectors.numbers_of("Twilio")
        no_unexpected_error(app)


async def test_twilio_fields_and_a_refused_account_sid_beside_its_field(tmp_path: Path) -> None:
    app = fixed_app(await demo_url(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await open_connectors(app, pilot)
        dialog = await new_connector(app, pilot)
        dialog.query_one("#c-type", Select).value = "twilio"
        await wait_until(pilot, lambda: dialog.query_one("#c-twilio").display)
        assert not dialog.query_one("#c-https").display
        assert dialog.query_one("#c-token", Input).password
        dialog.query_one("#c-name", Input).value = "Twilio EU"
        dialog.query_one("#c-account_sid", Input).value = "AC123"
        dialog.query_one("#c-test", Button).press()
        await wait_until(pilot, lambda: "err-account_sid" in shown_errors(dialog))
        assert "AC followed by 32 hex" in shown_errors(dialog)["err-account_sid"]
        assert list(shown_errors(dialog)) == ["err-account_sid"]
        assert dialog.query_one("#save", Button).disabled
        assert [n for _, n in await app.services.connectors.names(ADMIN)] == [
            "Carrier HTTPS",
            "Twilio",
        ]
        assert await app.services.admin.audit_trail(ADMIN, action="connector.") == []
        no_unexpected_error(app)


async def test_smpp_fields_refusals_beside_them_then_test_and_save(tmp_path: Path) -> None:
    fake = FakeGateway(BOUND)
    app = fixed_app(await demo_url(tmp_path), gateways=fake)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_connectors(app, pilot)
        dialog = await new_connector(app, pilot)
        dialog.query_one("#c-type", Select).value = "smpp"
        await wait_until(pilot, lambda: dialog.query_one("#c-smpp").display)
        for other in ("#c-https", "#c-twilio", "#c-ca-row"):  # (SMPP has no CA file)
            assert not dialog.query_one(other).display, other
        tls = dialog.query_one("#c-tls", Switch)
        assert not tls.value
        assert dialog.query_one("#c-bind_mode", Select).value == "transceiver"
        assert dialog.query_one("#c-concat", Select).value == "udh8"
        assert dialog.query_one("#c-bind-password", Input).password
        for key in ("host", "port", "system_id", "system_type"):
            assert dialog.query_one(f"#c-{key}", Input).value == ""
        for key in ("source_ton", "source_npi", "window", "throughput"):
            assert dialog.query_one(f"#c-{key}", Input).value == ""

        # Each refusal beside its field; nothing tested, nothing written.
        dialog.query_one("#c-name", Input).value = "[b]SMSC[/b]"
        dialog.query_one("#c-host", Input).value = "smsc example"
        dialog.query_one("#c-port", Input).value = "99999"
        dialog.query_one("#c-system_id", Input).value = "acme"
        dialog.query_one("#c-window", Input).value = "0"
        dialog.query_one("#c-test", Button).press()
        await wait_until(pilot, lambda: "err-window" in shown_errors(dialog))
        errors = shown_errors(dialog)
        assert list(errors) == ["err-host", "err-port", "err-window"]
        assert errors["err-host"] == "host: not a host name or an IP address"
        assert errors["err-port"] == "port: the port must be 1–65535"
        assert errors["err-window"] == "window: the window must be 1–100"
        assert "3 fields to correct" in text_of(dialog.query_one("#dialog-error"))
        assert fake.configs == []

        # The bind password is required: refused beside its own Input.
        dialog.query_one("#c-host", Input).value = "smsc.example.net"
        dialog.query_one("#c-port", Input).value = ""
        dialog.query_one("#c-window", Input).value = "20"
        dialog.query_one("#c-test", Button).press()
        await wait_until(pilot, lambda: "err-bind_password" in shown_errors(dialog))
        assert shown_errors(dialog) == {
            "err-bind_password": "secret: the bind password is required"
        }
        assert fake.configs == []

        # A test that binds enables Save; any change (the TLS switch, a choice) asks again.
        save = dialog.query_one("#save", Button)
        dialog.query_one("#c-bind-password", Input).value = "b1nd-pw"
        dialog.query_one("#c-concat", Select).value = "udh16"
        dialog.query_one("#c-test", Button).press()
        await wait_until(pilot, lambda: not save.disabled)
        assert shown_errors(dialog) == {}
        assert text_of(dialog.query_one("#c-result")) == "reachable: bound as acme"
        (config,) = fake.configs
        assert isinstance(config, SmppConfig)
        assert (config.host, config.port, config.window, config.concat) == (
            "smsc.example.net",
            2775,
            20,
            "udh16",
        )
        assert config.password == "b1nd-pw"
        tls.toggle()
        await wait_until(pilot, lambda: save.disabled)
        tls.toggle()
        await wait_until(pilot, lambda: not save.disabled)
        dialog.query_one("#c-bind_mode", Select).value = "pair"
        await wait_until(pilot, lambda: save.disabled)
        dialog.query_one("#c-test", Button).press()
        await wait_until(pilot, lambda: not save.disabled)
        save.press()
        await wait_screen(app, pilot, AdminScreen)
        await wait_until(pilot, lambda: "[b]SMSC[/b]" in column(app, "name"))
        assert column(app, "type")[-1] == "smpp"
        added = await app.services.connectors.get(ADMIN, "[b]SMSC[/b]")
        assert dict(added.settings) == {
            "host": "smsc.example.net",
            "port": 2775,
            "tls": False,
            "system_id": "acme",
            "system_type": "",
            "bind_mode": "pair",
            "concat": "udh16",
            "source_ton": 1,
            "source_npi": 1,
            "window": 20,
            "throughput": 0,
        }
        assert added.secrets().get() == "b1nd-pw"
        assert "b1nd-pw" not in str(added.settings)
        events = await app.services.admin.audit_trail(ADMIN, action="connector.added")
        assert [e.target for e in events] == ["[b]SMSC[/b]"]
        no_unexpected_error(app)


async def test_an_smpp_connector_edited_and_its_numbers(tmp_path: Path) -> None:
    fake = FakeGateway(ConnectionReport(ConnectionCheck.BIND_REFUSED, "ESME_RINVPASWD"))
    url = await demo_url(tmp_path)
    app = fixed_app(url, gateways=fake)
    async with app.run_test(size=SIZE) as pilot:
        connectors = app.services.connectors
        rec = await connectors.add(
            ADMIN,
            name="SMSC",
            kind="smpp",
            settings={**SMPP, "port": 3550, "tls": True, "bind_mode": "pair"},
            secret="saved-pw",
        )
        await connectors.add_number(ADMIN, rec.id, "+33757000080")
        await open_connectors(app, pilot)
        await wait_until(pilot, lambda: "SMSC" in column(app, "name"))
        await cursor_to(app, pilot, str(rec.id))
        await pilot.press("e")
        dialog = await wait_screen(app, pilot, ConnectorDialog)
        assert dialog.query_one("#c-type", Select).disabled
        assert dialog.query_one("#c-smpp").display
        assert dialog.query_one("#c-host", Input).value == "smsc.example.net"
        assert dialog.query_one("#c-port", Input).value == "3550"
        assert dialog.query_one("#c-window", Input).value == "10"
        assert dialog.query_one("#c-tls", Switch).value
        assert dialog.query_one("#c-bind_mode", Select).value == "pair"
        assert dialog.query_one("#c-bind-password", Input).value == ""  # never shown

        dialog.query_one("#c-source_ton", Input).value = "9"
        dialog.query_one("#c-test", Button).press()
        await wait_until(pilot, lambda: "err-source_ton" in shown_errors(dialog))
        assert shown_errors(dialog) == {
            "err-source_ton": "source_ton: the type of number (TON) must be 0–6"
        }
        # A bind the SMSC refuses (with the saved password): said, Save stays off.
        dialog.query_one("#c-source_ton", Input).value = "5"
        result = dialog.query_one("#c-result", Static)
        dialog.query_one("#c-test", Button).press()
        await wait_until(pilot, lambda: text_of(result).startswith("bind refused"))
        assert text_of(result) == "bind refused: ESME_RINVPASWD"
        assert result.has_class("-bad")
        assert dialog.query_one("#save", Button).disabled
        config = fake.configs[-1]
        assert isinstance(config, SmppConfig)
        assert (config.connector_id, config.password, config.source_ton) == (rec.id, "saved-pw", 5)
        await pilot.press("escape")
        await wait_screen(app, pilot, AdminScreen)
        assert (await connectors.get(ADMIN, rec.id)).settings == rec.settings

        # Its numbers: SMPP lists none at the carrier; the account's are shown, one is typed.
        await pilot.press("p")
        numbers = await wait_screen(app, pilot, ConnectorNumbersDialog)
        listed = numbers.query_one("#cn-list", OptionList)
        await wait_until(pilot, lambda: listed.option_count == 1)
        assert "+33757000080 · in the account" in str(listed.get_option_at_index(0).prompt)
        status = text_of(numbers.query_one("#cn-status", Static))
        assert status.startswith("SMPP cannot list the carrier's numbers")
        numbers.query_one("#cn-number", Input).value = "+33757000081"
        await pilot.press("ctrl+s")
        await wait_screen(app, pilot, AdminScreen)
        assert await connectors.numbers_of(rec.id) == ["+33757000080", "+33757000081"]
        no_unexpected_error(app)


async def test_removing_a_connector_in_use_is_refused_by_name(tmp_path: Path) -> None:
    app = fixed_app(await demo_url(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await open_connectors(app, pilot)
        await cursor_to(app, pilot, "1")
        await pilot.press("d")
        confirm = await wait_screen(app, pilot, ConfirmDialog, skip=CONFIRMING)
        assert "Carrier HTTPS" in text_of(confirm.query_one("#question", Static))
        await pilot.press("y")
        await wait_until(pilot, lambda: any("Connector in use" in n for n in notifications(app)))
        assert len(await app.services.connectors.names(ADMIN)) == 2
        assert column(app, "name") == ["Carrier HTTPS", "Twilio"]
        no_unexpected_error(app)


async def test_the_queue_form_offers_the_connectors_and_refuses_a_foreign_number(
    tmp_path: Path,
) -> None:
    app = fixed_app(await demo_url(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_connectors(app, pilot)
        screen.query_one(TabbedContent).active = "tab-queues"
        queues = screen.query_one("#admin-queues", DataTable)
        (support,) = [
            r for r in await app.services.admin.queues(ADMIN) if r.settings.name == "Support"
        ]
        await wait_until(pilot, lambda: str(support.id) in queues.rows and queues.display)
        queues.focus()
        queues.move_cursor(row=queues.get_row_index(str(support.id)), animate=False)
        await wait_until(pilot, lambda: app.focused is queues)
        await pilot.press("e")
        dialog = await wait_screen(app, pilot, QueueDialog)
        pick = dialog.query_one("#q-connector", Select)
        await wait_until(pilot, lambda: len(pick._options) >= 3)  # the blank one, then the names
        assert [str(v) for _, v in pick._options if isinstance(v, str)] == [
            "Carrier HTTPS",
            "Twilio",
        ]
        assert pick.value == "Carrier HTTPS"
        pick.value = "Twilio"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: "err-number" in shown_errors(dialog))
        assert "is not a number of the connector Twilio" in shown_errors(dialog)["err-number"]
        assert app.screen is dialog
        after = next(r for r in await app.services.admin.queues(ADMIN) if r.id == support.id)
        assert after == support
        no_unexpected_error(app)


async def test_the_dashboard_shows_each_connectors_last_hour(tmp_path: Path) -> None:
    app = fixed_app(await demo_url(tmp_path), "sam")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_screen(app, pilot, BannerScreen)
        await pilot.press("f7")
        screen = await wait_screen(app, pilot, SupervisorScreen)
        await wait_until(pilot, lambda: screen.connectors is not None)
        shown = text_of(screen.query_one("#connectors", Static))
        for figures in screen.connectors:
            assert figures.name in shown
            assert f"{figures.sent} sent · {figures.failed} failed" in shown
        assert [f.name for f in screen.connectors] == ["Carrier HTTPS", "Twilio"]
        # A failure's reason (the provider's words) is shown as text, on one line.
        failing = ConnectorFigures(
            1, "Carrier [b]HTTPS[/b]", "https-json", 3, 2, "Refused\n[red]x", 3, 2
        )
        screen.show_connectors([failing])
        shown = text_of(screen.query_one("#connectors", Static))
        assert "Carrier [b]HTTPS[/b]" in shown
        assert "3 sent · 2 failed" in shown
        assert "Refused [red]x" in shown
        no_unexpected_error(app)
