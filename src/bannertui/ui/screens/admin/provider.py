"""The provider settings tab (SPEC P1): URL, authentication, CA file, Test connection."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import (
    Button,
    Checkbox,
    Input,
    Static,
)

from bannertui.domain.actor import Actor
from bannertui.domain.errors import BannerError
from bannertui.services import Services
from bannertui.ui.safe import line
from bannertui.ui.screens.admin.form import field_row


class ProviderForm(Vertical):
    """P1: the account's SMS provider — URL (https only), optional authentication (login and
    password), CA file; *Test connection* before *Save* (Save is enabled by a successful test
    of exactly the values shown).  The password never enters the database: it goes to the
    secret store (a 0600 file), and it is never shown."""

    def __init__(self, services: Services, actor: Actor, *, id: str) -> None:
        super().__init__(id=id)
        self.services = services
        self.actor = actor
        self._tested: tuple[object, ...] | None = None

    def compose(self) -> ComposeResult:
        yield field_row(
            "URL", Input(placeholder="https://sms.example.com/v1/send", id="p-url", compact=True)
        )
        yield field_row("Authentication", Checkbox("login and password", id="p-auth", compact=True))
        yield field_row(
            "Login", Input(placeholder="letters, digits, _ + . @ -", id="p-login", compact=True)
        )
        yield field_row(
            "Password",
            Input(
                password=True, placeholder="(unchanged when empty)", id="p-password", compact=True
            ),
        )
        yield field_row("CA file", Input(placeholder="(system CAs)", id="p-ca", compact=True))
        yield Static(id="p-result", classes="hint")
        with Horizontal(classes="dialog-buttons"):
            yield Button("Test connection", id="p-test", variant="primary", compact=True)
            yield Button("Save", id="p-save", disabled=True, compact=True)

    def on_mount(self) -> None:
        self.load()

    @work(group="provider-load", exclusive=True, exit_on_error=False)
    async def load(self) -> None:
        current = await self.services.provider.get()
        self.query_one("#p-url", Input).value = current.url or ""
        self.query_one("#p-auth", Checkbox).value = current.auth_enabled
        self.query_one("#p-login", Input).value = current.login or ""
        self.query_one("#p-ca", Input).value = current.ca_file or ""

    def _values(self) -> tuple[str, bool, str | None, str | None, str | None]:
        auth = self.query_one("#p-auth", Checkbox).value
        login = self.query_one("#p-login", Input).value.strip() or None
        password = self.query_one("#p-password", Input).value or None
        ca = self.query_one("#p-ca", Input).value.strip() or None
        return self.query_one("#p-url", Input).value.strip(), auth, login, password, ca

    @on(Input.Changed, "ProviderForm Input")
    @on(Checkbox.Changed, "ProviderForm Checkbox")
    def _changed(self) -> None:
        self.query_one("#p-save", Button).disabled = self._values() != self._tested

    def _result(self, text: str, bad: bool) -> None:
        result = self.query_one("#p-result", Static)
        result.update(line(text))
        result.set_class(bad, "-bad")

    @on(Button.Pressed, "#p-test")
    @work(group="provider-test", exclusive=True, exit_on_error=False)
    async def test(self) -> None:
        values = self._values()
        url, auth, login, password, ca = values
        self._result("Testing…", False)
        try:
            report = await self.services.provider.test_settings(
                actor=self.actor,
                url=url,
                auth_enabled=auth,
                login=login,
                password=password,
                ca_file=ca,
            )
        except BannerError as exc:
            self._result(exc.message, True)
            return
        self._result(f"{report.result}: {report.message}", not report.ok)
        self._tested = values if report.ok else None
        self.query_one("#p-save", Button).disabled = not report.ok

    @on(Button.Pressed, "#p-save")
    @work(group="provider-save", exclusive=True, exit_on_error=False)
    async def save(self) -> None:
        url, auth, login, password, ca = self._values()
        try:
            await self.services.provider.save(
                actor=self.actor,
                url=url,
                auth_enabled=auth,
                login=login,
                password=password,
                ca_file=ca,
            )
        except BannerError as exc:
            self._result(exc.message, True)
            return
        self.query_one("#p-password", Input).value = ""
        self._tested = None
        self.query_one("#p-save", Button).disabled = True
        self._result("Saved: the dispatcher uses these settings from its next send", False)
