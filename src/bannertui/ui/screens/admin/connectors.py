"""The account's SMS connectors (issue #20; SMPP, issue #21): a connector's form (its type's
fields, *Test connection* before *Save*, as the Provider tab) and its numbers at the
provider."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import (
    Button,
    Checkbox,
    Input,
    OptionList,
    Select,
    Static,
    Switch,
)
from textual.widgets.option_list import Option

from bannertui.domain.actor import Actor
from bannertui.domain.connectors import FIELDS, SMPP_DEFAULTS
from bannertui.domain.enums import ConnectorType
from bannertui.domain.errors import BannerError, InvalidCaFile
from bannertui.domain.text import one_line
from bannertui.services import Services
from bannertui.services.connectors import ConnectorRecord
from bannertui.ui.safe import line
from bannertui.ui.screens.admin.form import AdminForm, field_error, field_row

HTTPS_JSON = ConnectorType.HTTPS_JSON.value
TWILIO = ConnectorType.TWILIO.value
SMPP = ConnectorType.SMPP.value

#: The SMPP settings typed in an Input: label and placeholder (an empty one means the
#: default, :data:`~bannertui.domain.connectors.SMPP_DEFAULTS`).
SMPP_INPUTS = {
    "host": ("Host", "the SMSC's host name or IP address"),
    "port": ("Port", "2775"),
    "system_id": ("System ID", "given by the carrier (up to 15 characters)"),
    "system_type": ("System type", "(optional) up to 12 characters"),
    "source_ton": ("Source TON", "1: international (0-6)"),
    "source_npi": ("Source NPI", "1: ISDN / E.164 (0-18)"),
    "window": ("Window", "10 submits in flight (1-100)"),
    "throughput": ("Throughput (per second)", "0: no limit"),
}
#: The SMPP settings chosen in a Select: label and (prompt, value) choices.
SMPP_SELECTS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "bind_mode": (
        "Bind mode",
        (("transceiver: one bind", "transceiver"), ("pair: transmitter + receiver", "pair")),
    ),
    "concat": (
        "Long texts joined by",
        (
            ("UDH, 8-bit reference", "udh8"),
            ("UDH, 16-bit reference", "udh16"),
            ("SAR TLVs", "sar"),
        ),
    ),
}
#: The switches of each on/off setting (``auth_enabled`` is the Checkbox ``#c-auth``).
SWITCHES = {"tls": "#c-tls"}

#: The Input of each text setting (``auth_enabled`` is the Checkbox ``#c-auth``).
INPUTS = {
    "url": "#c-url",
    "login": "#c-login",
    "account_sid": "#c-account_sid",
    "api_key_sid": "#c-api_key_sid",
    "messaging_service_sid": "#c-messaging_service_sid",
    "api_base": "#c-api_base",
    "public_url": "#c-public_url",
    "ca_file": "#c-ca",
    **{key: f"#c-{key}" for key in SMPP_INPUTS},
}
#: Where each type's secret is typed.
SECRET_INPUT = {HTTPS_JSON: "#c-password", TWILIO: "#c-token", SMPP: "#c-bind-password"}
#: Where a refusal of a type's ``secret`` is shown (``#err-<this>``; Twilio's is the plain
#: ``#err-secret``, beside its auth token).
SECRET_ERROR = {SMPP: "bind_password"}

#: What Test connection and Save see: the type, its settings, the secret typed and (Twilio
#: with an API key SID) the API key's secret typed.
Values = tuple[str, tuple[tuple[str, Any], ...], str | None, str | None]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _shown(value: Any) -> str:
    """A saved setting in its Input (SMPP's numbers are ints; None is empty)."""
    if value is None or isinstance(value, bool):
        return ""
    return str(value)


class ConnectorDialog(AdminForm):
    """Add a connector, or (``record``) edit one: its type's fields only, *Test connection*
    before *Save* (Save is enabled by a successful test of exactly the connection values
    shown, as on the Provider tab), each refusal beside its field.  The secret (password,
    auth token, bind password) is never shown: typed, it replaces the saved one; empty, it is
    kept.  The form scrolls when the terminal is shorter than it (SMPP's fields at 80×24)."""

    def __init__(
        self,
        services: Services,
        actor: Actor,
        record: ConnectorRecord | None,
    ) -> None:
        super().__init__()
        self.services = services
        self.actor = actor
        self.record = record
        self._tested: Values | None = None

    def compose(self) -> ComposeResult:
        r = self.record
        s: Mapping[str, Any] = r.settings if r else {}
        kind = r.type.value if r else HTTPS_JSON
        title = f"Connector {one_line(r.name)}" if r else "New connector"
        with VerticalScroll(classes="dialog wide", id="connector-dialog", can_focus=False):
            yield Static(Content.styled(title, "bold"), classes="dialog-title")
            yield field_row("Name", Input(r.name if r else "", id="c-name", compact=True))
            yield field_error("name")
            yield field_row(
                "Enabled",
                Checkbox(
                    "sends (off: its messages wait)",
                    value=r.enabled if r else True,
                    id="c-enabled",
                    compact=True,
                ),
            )
            yield field_row(
                "Type",
                Select(
                    [(t.value, t.value) for t in ConnectorType],
                    value=kind,
                    allow_blank=False,
                    id="c-type",
                    compact=True,
                    # The type of a saved connector is what its settings and numbers are for.
                    disabled=r is not None,
                ),
            )
            with Vertical(id="c-https", classes="connector-fields"):
                yield field_row(
                    "URL",
                    Input(
                        _text(s.get("url")),
                        placeholder="https://sms.example.com/v1/send",
                        id="c-url",
                        compact=True,
                    ),
                )
                yield field_error("url")
                yield field_row(
                    "Authentication",
                    Checkbox(
                        "login and password",
                        bool(s.get("auth_enabled")),
                        id="c-auth",
                        compact=True,
                    ),
                )
                yield field_row(
                    "Login",
                    Input(
                        _text(s.get("login")),
                        placeholder="letters, digits, _ + . @ -",
                        id="c-login",
                        compact=True,
                    ),
                )
                yield field_error("login")
                yield field_row("Password", self._secret("c-password"))
            with Vertical(id="c-twilio", classes="connector-fields"):
                for key, label, placeholder in (
                    ("account_sid", "Account SID", "AC + 32 hex"),
                    ("api_key_sid", "API key SID", "(optional) SK + 32 hex"),
                    ("messaging_service_sid", "Messaging Service SID", "(optional) MG + 32 hex"),
                    ("api_base", "API base", "https://api.twilio.com"),
                    ("public_url", "Public URL", "where Twilio reaches our receiver"),
                ):
                    yield field_row(
                        label,
                        Input(
                            _text(s.get(key)),
                            placeholder=placeholder,
                            id=f"c-{key}",
                            compact=True,
                        ),
                    )
                    yield field_error(key)
                yield field_row("Auth token", self._secret("c-token"))
                yield field_error("secret")
                yield field_row("API key secret", self._secret("c-key-secret"))
                yield field_error("key_secret")
            with Vertical(id="c-smpp", classes="connector-fields"):
                yield from self._smpp_fields(s if kind == SMPP else {})
            # (SMPP's TLS verifies against the system's CAs only: no CA file)
            with Vertical(id="c-ca-row", classes="connector-fields"):
                yield field_row(
                    "CA file",
                    Input(
                        _text(s.get("ca_file")),
                        placeholder="(system CAs)",
                        id="c-ca",
                        compact=True,
                    ),
                )
                yield field_error("ca_file")
            yield Static(id="c-result", classes="hint")
            yield Static(id="dialog-error", classes="error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Test connection", id="c-test", variant="primary", compact=True)
                yield Button("Save ^S", id="save", disabled=True, compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def _smpp_fields(self, s: Mapping[str, Any]) -> ComposeResult:
        """SMPP's settings (``s``: the saved ones), each with its refusal under it."""
        for key in ("host", "port"):
            label, placeholder = SMPP_INPUTS[key]
            yield field_row(
                label,
                Input(_shown(s.get(key)), placeholder=placeholder, id=f"c-{key}", compact=True),
            )
            yield field_error(key)
        yield field_row(
            "TLS",
            Switch(bool(s.get("tls", SMPP_DEFAULTS["tls"])), id="c-tls"),
        )
        for key in ("system_id", "system_type"):
            label, placeholder = SMPP_INPUTS[key]
            yield field_row(
                label,
                Input(_shown(s.get(key)), placeholder=placeholder, id=f"c-{key}", compact=True),
            )
            yield field_error(key)
        yield field_row("Bind password", self._secret("c-bind-password"))
        yield field_error(SECRET_ERROR[SMPP])
        for key in ("bind_mode", "concat"):
            label, choices = SMPP_SELECTS[key]
            values = [value for _, value in choices]
            saved = _text(s.get(key))
            yield field_row(
                label,
                Select(
                    choices,
                    value=saved if saved in values else str(SMPP_DEFAULTS[key]),
                    allow_blank=False,
                    id=f"c-{key}",
                    compact=True,
                ),
            )
            yield field_error(key)
        for key in ("source_ton", "source_npi", "window", "throughput"):
            label, placeholder = SMPP_INPUTS[key]
            yield field_row(
                label,
                Input(_shown(s.get(key)), placeholder=placeholder, id=f"c-{key}", compact=True),
            )
            yield field_error(key)

    @staticmethod
    def _secret(widget_id: str) -> Input:
        return Input(
            password=True, placeholder="(unchanged when empty)", id=widget_id, compact=True
        )

    def on_mount(self) -> None:
        self._show_type()
        self.query_one("#c-name", Input).focus()

    # --- what is shown ----------------------------------------------------------------------

    def _kind(self) -> str:
        return str(self.query_one("#c-type", Select).value)

    @on(Select.Changed, "#c-type")
    def _type_changed(self) -> None:
        """Another type: its fields, and no refusal or result of the other's left shown."""
        self._field_errors({})
        self._error("")
        self._result("", False)
        self._show_type()

    def _show_type(self) -> None:
        """The fields of the chosen type only."""
        kind = self._kind()
        self.query_one("#c-https").display = kind == HTTPS_JSON
        self.query_one("#c-twilio").display = kind == TWILIO
        self.query_one("#c-smpp").display = kind == SMPP
        self.query_one("#c-ca-row").display = "ca_file" in FIELDS[ConnectorType(kind)]
        self._changed()

    def _values(self) -> Values:
        """The connection's values as shown, stripped (the name is not one of them)."""
        kind = self._kind()
        settings: dict[str, Any] = {}
        for key in FIELDS[ConnectorType(kind)]:
            if key == "auth_enabled":
                settings[key] = self.query_one("#c-auth", Checkbox).value
            elif key in SWITCHES:
                settings[key] = self.query_one(SWITCHES[key], Switch).value
            elif key in SMPP_SELECTS:
                settings[key] = str(self.query_one(f"#c-{key}", Select).value)
            else:
                settings[key] = self.query_one(INPUTS[key], Input).value.strip() or None
        secret = self.query_one(SECRET_INPUT[kind], Input).value or None
        key_secret = (
            self.query_one("#c-key-secret", Input).value or None if kind == TWILIO else None
        )
        return kind, tuple(settings.items()), secret, key_secret

    @on(Input.Changed, "#connector-dialog Input")
    @on(Checkbox.Changed, "#c-auth")
    @on(Switch.Changed, "#c-tls")
    @on(Select.Changed, "#c-bind_mode, #c-concat")
    def _changed(self) -> None:
        self.query_one("#save", Button).disabled = self._values() != self._tested

    def _result(self, text: str, bad: bool) -> None:
        result = self.query_one("#c-result", Static)
        result.update(line(text))
        result.set_class(bad, "-bad")

    def _refused(self, exc: BannerError, field: str | None = None) -> None:
        """A refusal beside its field(s) (``field``: the one it is about, when the error
        names none), else on the error line."""
        fields = dict(exc.fields) or ({field: exc.message} if field else {})
        secret_error = SECRET_ERROR.get(self._kind())
        if secret_error and "secret" in fields:  # beside this type's own secret Input
            fields[secret_error] = fields.pop("secret")
        self._field_errors(fields, exc.message)
        if not fields:
            self._error(exc.message)

    # --- Test connection, Save ----------------------------------------------------------------

    @on(Button.Pressed, "#c-test")
    @work(group="connector-test", exclusive=True, exit_on_error=False)
    async def test(self) -> None:
        values = self._values()
        kind, settings, secret, key_secret = values
        self._tested = None
        self._changed()
        self._field_errors({})
        self._error("")
        self._result("Testing…", False)
        try:
            report = await self.services.connectors.test(
                self.actor,
                kind=kind,
                settings=dict(settings),
                secret=secret,
                ref=self.record.id if self.record else None,
                key_secret=key_secret,
            )
        except BannerError as exc:  # not tested: the refusal beside its field(s)
            self._result("", False)
            self._refused(exc, "ca_file" if isinstance(exc, InvalidCaFile) else None)
            return
        self._result(f"{report.result}: {report.message}", not report.ok)
        self._tested = values if report.ok else None
        self._changed()

    def save(self) -> None:
        if self._values() != self._tested:
            self._error("Test connection first: Save needs a successful test of these values")
            return
        self.save_connector()

    @work(group="connector-save", exclusive=True, exit_on_error=False)
    async def save_connector(self) -> None:
        kind, settings, secret, key_secret = self._values()
        name = self.query_one("#c-name", Input).value
        # (the services refuse an empty or taken name beside its field, like the settings)
        connectors = self.services.connectors
        try:
            if self.record is None:
                await connectors.add(
                    self.actor,
                    name=name,
                    kind=kind,
                    settings=dict(settings),
                    secret=secret,
                    key_secret=key_secret,
                    enabled=self.query_one("#c-enabled", Checkbox).value,
                )
            else:
                await connectors.edit(
                    self.actor,
                    self.record.id,
                    settings=dict(settings),
                    secret=secret,
                    name=name,
                    key_secret=key_secret,
                    enabled=self.query_one("#c-enabled", Checkbox).value,
                )
        except BannerError as exc:
            self._refused(exc, "ca_file" if isinstance(exc, InvalidCaFile) else None)
            return
        self.dismiss(True)


class ConnectorNumbersDialog(AdminForm):
    """A connector's numbers at its provider (Twilio: its incoming phone numbers; https-json
    and SMPP have no such listing: the account's numbers of it), and one added to the
    account: chosen from the list or typed.  Twilio refuses a number its account does not
    own."""

    def __init__(self, services: Services, actor: Actor, record: ConnectorRecord) -> None:
        super().__init__()
        self.services = services
        self.actor = actor
        self.record = record
        self.numbers: list[str] | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="connector-numbers-dialog"):
            yield Static(
                Content.styled(f"Numbers of {one_line(self.record.name)}", "bold"),
                classes="dialog-title",
            )
            yield Static(Content("Asking the provider…"), id="cn-status", classes="hint")
            yield OptionList(id="cn-list")
            yield field_row(
                "Number", Input(placeholder="+33757000099", id="cn-number", compact=True)
            )
            yield field_row("Label", Input(id="cn-label", compact=True))
            yield from self._buttons()

    def on_mount(self) -> None:
        self.load_numbers()

    @work(group="connector-numbers", exclusive=True, exit_on_error=False)
    async def load_numbers(self) -> None:
        status = self.query_one("#cn-status", Static)
        smpp = self.record.type is ConnectorType.SMPP
        try:
            # (SMPP cannot list a carrier's numbers: the service refuses; its own are shown)
            numbers = (
                []
                if smpp
                else await self.services.connectors.provider_numbers(self.actor, self.record.id)
            )
            rows = await self.services.admin.numbers(self.actor)
        except BannerError as exc:
            status.update(line(exc.message))
            status.add_class("-bad")
            self.query_one("#cn-number", Input).focus()
            return
        if smpp:
            numbers = [n.number for n in rows if n.connector == self.record.name]
        self.numbers = numbers
        ours = {n.number for n in rows}
        pick = self.query_one("#cn-list", OptionList)
        pick.add_options(
            [Option(line(n + (" · in the account" if n in ours else "")), id=n) for n in numbers]
        )
        fresh = sum(1 for n in numbers if n not in ours)
        if self.record.type is ConnectorType.TWILIO:
            said = f"{len(numbers)} at Twilio, {fresh} not in the account yet: enter takes one"
        elif smpp:
            said = (
                "SMPP cannot list the carrier's numbers: these are the account's; type one "
                "the carrier gave you"
            )
        else:
            said = "https-json lists no numbers: these are the account's; type a new one"
        status.update(line(said))
        if numbers:
            pick.highlighted = 0
            pick.focus()
        else:
            self.query_one("#cn-number", Input).focus()

    @on(OptionList.OptionSelected, "#cn-list")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        number = self.query_one("#cn-number", Input)
        number.value = event.option.id or ""
        self.query_one("#cn-label", Input).focus()

    def save(self) -> None:
        self.add()

    @work(group="connector-number-add", exclusive=True, exit_on_error=False)
    async def add(self) -> None:
        number = self.query_one("#cn-number", Input).value
        if not number.strip():
            self._error("Choose a number from the list, or type one")
            return
        try:
            await self.services.connectors.add_number(
                self.actor,
                self.record.id,
                number,
                self.query_one("#cn-label", Input).value,
            )
        except BannerError as exc:  # the service's one line (Twilio: a number not its own)
            self._error(exc.message)
            return
        self.dismiss(True)
