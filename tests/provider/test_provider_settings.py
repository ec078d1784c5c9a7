"""Provider settings: the URL and login rules, the password file, the admin-only service (on
SQLite and PostgreSQL), and the factory that turns settings into a ProviderConfig."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import col

from bannertui.domain.actor import Actor
from bannertui.domain.errors import (
    InvalidCaFile,
    InvalidProviderLogin,
    InvalidProviderUrl,
    NoProviderConfigured,
    NotAllowed,
    UnknownAgent,
)
from bannertui.domain.provider_rules import (
    MAX_LOGIN,
    MAX_URL,
    validate_login,
    validate_provider_url,
)
from bannertui.gateway.factory import build_provider, provider_config
from bannertui.gateway.http import HttpProvider
from bannertui.services import Services
from bannertui.services.provider_settings import ProviderSettings
from bannertui.simulator.provider import make_tls
from bannertui.store.models import AuditEvent
from bannertui.store.secrets import ENV_VAR, SecretError, SecretStore, default_path

DEMO_URL = "https://127.0.0.1:8443/v1/sms"  # what the demo seed configures
NEW_URL = "https://sms.example.com/v1/sms"


# --- validate_provider_url ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (NEW_URL, NEW_URL),
        ("https://127.0.0.1:8443/v1/sms", "https://127.0.0.1:8443/v1/sms"),
        ("https://[::1]:8443/v1/sms", "https://[::1]:8443/v1/sms"),
        ("HTTPS://SMS.EXAMPLE.COM/x", "HTTPS://SMS.EXAMPLE.COM/x"),
        ("https://sms.example.com", "https://sms.example.com"),
        ("https://sms.example.com/send?key=a&b=c", "https://sms.example.com/send?key=a&b=c"),
        ("  https://sms.example.com/x \n", "https://sms.example.com/x"),  # stripped
        ("https://h.example/" + "a" * (MAX_URL - 18), "https://h.example/" + "a" * (MAX_URL - 18)),
    ],
)
def test_valid_provider_urls(url: str, expected: str) -> None:
    assert validate_provider_url(url) == expected


@pytest.mark.parametrize(
    ("url", "detail"),
    [
        pytest.param("http://sms.example.com/v1/sms", "must start with https://", id="http"),
        pytest.param("ftp://sms.example.com/", "must start with https://", id="ftp"),
        pytest.param("sms.example.com/v1/sms", "must start with https://", id="no-scheme"),
        pytest.param("//sms.example.com/v1", "must start with https://", id="scheme-relative"),
        pytest.param("https:///v1/sms", "no host", id="no-host"),
        pytest.param("https://", "no host", id="nothing"),
        pytest.param("https://:8443/v1", "no host", id="port-only"),
        pytest.param("https://user:pw@sms.example.com/", "authentication fields", id="creds"),
        pytest.param("https://user@sms.example.com/", "authentication fields", id="user-only"),
        pytest.param("https://:pw@sms.example.com/", "authentication fields", id="pw-only"),
        pytest.param("https://sms example.com/", "spaces or control", id="space-host"),
        pytest.param("https://sms.example.com/a b", "spaces or control", id="space-path"),
        pytest.param("https://sms.example.com/\tx", "spaces or control", id="tab"),
        pytest.param("https://sms.example.com/\x1b[31m", "spaces or control", id="esc"),
        pytest.param("https://sms.example.com/\x7f", "spaces or control", id="del"),
        pytest.param("https://sms.example.com/\x00", "spaces or control", id="nul"),
        pytest.param("https://sms.example.com:99999/", "not a URL", id="port-too-big"),
        pytest.param("https://sms.example.com:abc/", "not a URL", id="port-not-int"),
        pytest.param("https://sms.example.com:-1/", "not a URL", id="port-negative"),
        pytest.param("https://[::1/v1", "not a URL", id="bad-ipv6"),
        pytest.param("https://h.example/" + "a" * MAX_URL, f"longer than {MAX_URL}", id="long"),
        pytest.param("", "empty", id="empty"),
        pytest.param("   ", "empty", id="blank"),
    ],
)
def test_invalid_provider_urls(url: str, detail: str) -> None:
    with pytest.raises(InvalidProviderUrl) as info:
        validate_provider_url(url)
    assert info.value.name == "Invalid provider URL"
    assert detail in str(info.value)
    assert str(info.value).startswith("Invalid provider URL: ")


@pytest.mark.parametrize(
    "url",
    ["https://u:s3cret-pw@h.example/", "https://u:s3cret-pw@h.example:99999/"],
)
def test_url_errors_do_not_repeat_the_password(url: str) -> None:
    with pytest.raises(InvalidProviderUrl) as info:
        validate_provider_url(url)
    assert "s3cret-pw" not in str(info.value)


# --- validate_login -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "login",
    ["demo", "a_b+c.d@e-f", "ops@example.com", "User_01", "x", "A" * MAX_LOGIN, "-+._@"],
)
def test_valid_logins(login: str) -> None:
    assert validate_login(login) == login


@pytest.mark.parametrize(
    ("login", "shown"),
    [
        ("bad user", "' '"),
        ("josé", "'é'"),
        ("a:b", "':'"),
        ("semi;colon", "';'"),
        ("tab\there", "'\\t'"),
        ("new\nline", "'\\n'"),
        ("ünïcode", "'ï' 'ü'"),
        ("slash/back\\", "'/' '\\\\'"),
    ],
)
def test_invalid_login_names_the_bad_characters(login: str, shown: str) -> None:
    with pytest.raises(InvalidProviderLogin) as info:
        validate_login(login)
    assert info.value.name == "Invalid login"
    message = str(info.value)
    assert message.startswith("Invalid login: only letters, digits and _ + . @ - are allowed")
    assert f"(found {shown})" in message


@pytest.mark.parametrize(
    ("login", "detail"),
    [("", "the login is empty"), ("a" * (MAX_LOGIN + 1), f"longer than {MAX_LOGIN}")],
)
def test_empty_or_long_login(login: str, detail: str) -> None:
    with pytest.raises(InvalidProviderLogin, match=detail):
        validate_login(login)


# --- SecretStore ----------------------------------------------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def secret_path(tmp_path: Path) -> Path:
    return tmp_path / "cfg" / "provider-password"


def test_store_set_get_clear(secret_path: Path) -> None:
    store = SecretStore(secret_path, env={})
    assert store.get() is None
    assert not store.from_env
    store.set("pässwörd with spaces")
    assert store.get() == "pässwörd with spaces"
    assert secret_path.read_text(encoding="utf-8") == "pässwörd with spaces"
    store.clear()
    assert not secret_path.exists()
    assert store.get() is None
    store.clear()  # clearing twice is fine


def test_store_file_is_0600_and_written_atomically(secret_path: Path) -> None:
    store = SecretStore(secret_path, env={})
    store.set("first")
    assert mode(secret_path) == 0o600
    assert mode(secret_path.parent) & 0o077 == 0  # the directory it creates is private too
    store.set("second")
    assert mode(secret_path) == 0o600
    assert store.get() == "second"
    assert sorted(p.name for p in secret_path.parent.iterdir()) == ["provider-password"]


def test_store_replaces_a_readable_file_with_a_private_one(secret_path: Path) -> None:
    secret_path.parent.mkdir(parents=True)
    secret_path.write_text("old", encoding="utf-8")
    secret_path.chmod(0o644)
    store = SecretStore(secret_path, env={})
    store.set("new")
    assert mode(secret_path) == 0o600
    assert store.get() == "new"


def test_store_ignores_a_stale_tmp_file(secret_path: Path) -> None:
    secret_path.parent.mkdir(parents=True)
    stale = secret_path.with_name("provider-password.tmp")
    stale.write_text("left by a crash", encoding="utf-8")
    stale.chmod(0o644)
    SecretStore(secret_path, env={}).set("fresh")
    assert secret_path.read_text(encoding="utf-8") == "fresh"
    assert mode(secret_path) == 0o600
    assert not stale.exists()


def test_store_set_under_a_permissive_umask(secret_path: Path) -> None:
    old = os.umask(0)
    try:
        SecretStore(secret_path, env={}).set("pw")
    finally:
        os.umask(old)
    assert mode(secret_path) == 0o600


def test_store_env_var_wins(secret_path: Path) -> None:
    SecretStore(secret_path, env={}).set("from-file")
    store = SecretStore(secret_path, env={ENV_VAR: "from-env"})
    assert store.from_env
    assert store.get() == "from-env"


def test_store_env_var_wins_even_over_a_readable_file(secret_path: Path) -> None:
    secret_path.parent.mkdir(parents=True)
    secret_path.write_text("leaky", encoding="utf-8")
    secret_path.chmod(0o644)
    assert SecretStore(secret_path, env={ENV_VAR: "from-env"}).get() == "from-env"


def test_store_empty_env_var_falls_back_to_the_file(secret_path: Path) -> None:
    SecretStore(secret_path, env={}).set("from-file")
    store = SecretStore(secret_path, env={ENV_VAR: ""})
    assert not store.from_env
    assert store.get() == "from-file"


def test_store_reads_the_real_environment_by_default(
    secret_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_VAR, "from-os-environ")
    assert SecretStore(secret_path).get() == "from-os-environ"


@pytest.mark.parametrize("password", ["", None])
def test_store_refuses_an_empty_password(secret_path: Path, password: str | None) -> None:
    with pytest.raises(SecretError, match="empty"):
        SecretStore(secret_path, env={}).set(password)  # type: ignore[arg-type]
    assert not secret_path.exists()


@pytest.mark.parametrize("file_mode", [0o644, 0o640, 0o604, 0o660])
def test_store_refuses_a_file_others_can_read(secret_path: Path, file_mode: int) -> None:
    secret_path.parent.mkdir(parents=True)
    secret_path.write_text("pw", encoding="utf-8")
    secret_path.chmod(file_mode)
    with pytest.raises(SecretError) as info:
        SecretStore(secret_path, env={}).get()
    message = str(info.value)
    assert f"chmod 600 {secret_path}" in message
    assert "pw" not in message.replace("provider-password", "")


def test_store_strips_the_trailing_newline(secret_path: Path) -> None:
    secret_path.parent.mkdir(parents=True)
    secret_path.write_text("typed-by-hand\n", encoding="utf-8")
    secret_path.chmod(0o600)
    assert SecretStore(secret_path, env={}).get() == "typed-by-hand"


def test_store_empty_file_is_no_password(secret_path: Path) -> None:
    secret_path.parent.mkdir(parents=True)
    secret_path.write_text("\n", encoding="utf-8")
    secret_path.chmod(0o600)
    assert SecretStore(secret_path, env={}).get() is None


def test_default_path_is_next_to_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BANNERTUI_CONFIG", str(tmp_path / "conf" / "config.toml"))
    assert default_path() == tmp_path / "conf" / "provider-password"
    assert SecretStore(env={}).path == tmp_path / "conf" / "provider-password"


# --- ProviderSettingsService (SQLite and PostgreSQL) ----------------------------------------------


async def provider_audit(services: Services) -> list[AuditEvent]:
    async with services.db.read() as session:
        rows = await session.scalars(
            sa.select(AuditEvent)
            .where(col(AuditEvent.action) == "provider.updated")
            .order_by(col(AuditEvent.id))
        )
        return list(rows)


async def test_demo_settings(services: Services) -> None:
    assert await services.provider.get() == ProviderSettings(DEMO_URL, False, None, None)


async def test_admin_updates_the_settings(services: Services, tmp_path: Path) -> None:
    ca = make_tls(tmp_path / "tls").ca
    settings = await services.provider.update(
        actor=Actor("admin"),
        url=f"  {NEW_URL}  ",
        auth_enabled=True,
        login="ops@example.com",
        ca_file=str(ca),
    )
    expected = ProviderSettings(NEW_URL, True, "ops@example.com", str(ca))
    assert settings == expected
    assert settings.configured
    assert await services.provider.get() == expected
    account = await services.accounts.get(Actor("admin"))
    assert account.provider_url == NEW_URL

    [event] = await provider_audit(services)
    assert (event.actor, event.action, event.target) == ("admin", "provider.updated", "account")
    assert json.loads(event.detail) == {
        "auth_enabled": True,
        "ca_file": str(ca),
        "login": "ops@example.com",
        "url": NEW_URL,
    }
    assert "password" not in event.detail.lower()


async def test_audit_never_holds_the_password(
    services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The password goes to the SecretStore, never to the service: whatever is in the store or
    the environment cannot reach the audit trail."""
    secret = "Very-Secret-Pw-42"
    monkeypatch.setenv(ENV_VAR, secret)
    SecretStore(tmp_path / "provider-password", env={}).set(secret)
    await services.provider.update(
        actor=Actor("admin"), url=NEW_URL, auth_enabled=True, login="demo"
    )
    await services.provider.update(actor="system", url=NEW_URL, auth_enabled=False, login=None)
    events = await provider_audit(services)
    assert [e.actor for e in events] == ["admin", "system"]
    for event in events:
        assert secret not in event.detail
        assert "password" not in json.loads(event.detail)


async def test_agent_is_not_allowed(services: Services) -> None:
    with pytest.raises(NotAllowed) as info:
        await services.provider.update(
            actor=Actor("alice"), url=NEW_URL, auth_enabled=False, login=None
        )
    assert info.value.name == "Not allowed"
    assert await services.provider.get() == ProviderSettings(DEMO_URL, False, None, None)
    assert await provider_audit(services) == []


@pytest.mark.parametrize("actor", ["sam", "bruno"])
async def test_supervisors_and_other_agents_are_not_allowed(services: Services, actor: str) -> None:
    with pytest.raises(NotAllowed):
        await services.provider.update(
            actor=Actor(actor), url=NEW_URL, auth_enabled=False, login=None
        )


async def test_unknown_actor(services: Services) -> None:
    with pytest.raises(UnknownAgent):
        await services.provider.update(
            actor=Actor("nobody"), url=NEW_URL, auth_enabled=False, login=None
        )


async def test_the_system_actor_is_the_demo_runtime_and_is_audited_as_system(
    services: Services,
) -> None:
    """Only the demo runtime (in process, pointing the demo database at its simulator) uses
    it; no command or screen can: they pass the authenticated caller."""
    settings = await services.provider.update(
        actor="system", url=NEW_URL, auth_enabled=True, login="demo"
    )
    assert settings == ProviderSettings(NEW_URL, True, "demo", None)
    [event] = await provider_audit(services)
    assert event.actor == "system"


async def test_an_administrator_acting_as_an_agent_has_the_agents_rights(
    services: Services,
) -> None:
    """``admin as alice`` acts with alice's role: not an administrator's."""
    with pytest.raises(NotAllowed):
        await services.provider.update(
            actor=Actor("alice", by="admin"), url=NEW_URL, auth_enabled=False, login=None
        )


@pytest.mark.parametrize("login", [None, ""])
async def test_auth_without_login_is_refused(services: Services, login: str | None) -> None:
    with pytest.raises(InvalidProviderLogin, match="a login is required"):
        await services.provider.update(
            actor=Actor("admin"), url=NEW_URL, auth_enabled=True, login=login
        )
    assert (await services.provider.get()).url == DEMO_URL


async def test_bad_login_is_refused(services: Services) -> None:
    with pytest.raises(InvalidProviderLogin, match="' '"):
        await services.provider.update(
            actor=Actor("admin"), url=NEW_URL, auth_enabled=True, login="bad user"
        )
    assert await provider_audit(services) == []


async def test_login_dropped_when_auth_disabled(services: Services) -> None:
    settings = await services.provider.update(
        actor=Actor("admin"), url=NEW_URL, auth_enabled=False, login="ignored"
    )
    assert settings == ProviderSettings(NEW_URL, False, None, None)
    assert await services.provider.get() == settings


@pytest.mark.parametrize("url", ["http://sms.example.com/", "https://u:p@h.example/", ""])
async def test_bad_url_is_refused(services: Services, url: str) -> None:
    with pytest.raises(InvalidProviderUrl):
        await services.provider.update(
            actor=Actor("admin"), url=url, auth_enabled=False, login=None
        )
    assert (await services.provider.get()).url == DEMO_URL
    assert await provider_audit(services) == []


async def test_missing_ca_file_is_refused(services: Services, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-ca.pem"
    with pytest.raises(InvalidCaFile, match="does not exist") as info:
        await services.provider.update(
            actor=Actor("admin"), url=NEW_URL, auth_enabled=False, login=None, ca_file=str(missing)
        )
    assert str(missing) in str(info.value)
    assert await provider_audit(services) == []


async def test_ca_file_that_is_a_directory_is_refused(services: Services, tmp_path: Path) -> None:
    with pytest.raises(InvalidCaFile, match="not a PEM certificate file"):
        await services.provider.update(
            actor=Actor("admin"), url=NEW_URL, auth_enabled=False, login=None, ca_file=str(tmp_path)
        )


# --- factory --------------------------------------------------------------------------------------


def test_factory_without_url() -> None:
    with pytest.raises(NoProviderConfigured) as info:
        provider_config(ProviderSettings(None, False, None, None))
    assert info.value.name == "No SMS provider configured"
    assert "bannertui provider set" in str(info.value)
    with pytest.raises(NoProviderConfigured):
        provider_config(ProviderSettings("", True, "demo", None))


def test_factory_with_auth_reads_the_given_store(tmp_path: Path) -> None:
    store = SecretStore(tmp_path / "provider-password", env={})
    store.set("from-the-store")
    cfg = provider_config(ProviderSettings(NEW_URL, True, "demo", str(tmp_path / "ca.pem")), store)
    assert (cfg.url, cfg.login, cfg.password) == (NEW_URL, "demo", "from-the-store")
    assert cfg.ca_file == tmp_path / "ca.pem"
    assert "from-the-store" not in repr(cfg)


def test_factory_with_auth_and_env_store(tmp_path: Path) -> None:
    store = SecretStore(tmp_path / "absent", env={ENV_VAR: "from-env"})
    cfg = provider_config(ProviderSettings(NEW_URL, True, "demo", None), store)
    assert cfg.password == "from-env"
    assert cfg.ca_file is None


def test_factory_without_auth_ignores_the_store(tmp_path: Path) -> None:
    store = SecretStore(tmp_path / "provider-password", env={ENV_VAR: "unused"})
    cfg = provider_config(ProviderSettings(NEW_URL, False, "stale-login", None), store)
    assert (cfg.login, cfg.password) == (None, None)


def test_factory_passes_secret_errors_on(tmp_path: Path) -> None:
    path = tmp_path / "provider-password"
    path.write_text("pw", encoding="utf-8")
    path.chmod(0o644)
    with pytest.raises(SecretError, match="chmod 600"):
        provider_config(ProviderSettings(NEW_URL, True, "demo", None), SecretStore(path, env={}))


async def test_build_provider(tmp_path: Path) -> None:
    store = SecretStore(tmp_path / "provider-password", env={ENV_VAR: "pw"})
    provider = build_provider(ProviderSettings(NEW_URL, True, "demo", None), store)
    try:
        assert isinstance(provider, HttpProvider)
        assert provider.config.url == NEW_URL
        assert provider.config.password == "pw"
    finally:
        await provider.aclose()
