"""Connector rules (issue #20): a name, a known type, and the type's settings, each refusal
naming its field.

Settings are plain mappings (what the ``connector.settings`` column holds):

* ``https-json`` (SPEC P1): ``url`` (https), ``auth_enabled``, ``login``, ``ca_file``;
* ``twilio``: ``account_sid`` (``AC`` + 32 hex), ``api_key_sid`` (``SK`` + 32 hex, optional:
  the secret is then the key's), ``messaging_service_sid`` (``MG`` + 32 hex, optional),
  ``api_base`` (https, default Twilio's), ``public_url`` (where Twilio reaches our receiver:
  its callbacks go to ``{public_url}/twilio/<connector id>/…``), ``ca_file``;
* ``smpp`` (SMPP 3.4, issue #21): ``host``, ``port`` (2775), ``tls`` (certificates verified
  against the system's roots), ``system_id`` (1–15 characters), ``system_type`` (0–12),
  ``bind_mode`` (``transceiver``, or ``pair``: a transmitter and a receiver), ``source_ton``
  / ``source_npi`` (of our sender numbers: 1/1 international E.164 by default; an
  alphanumeric sender is sent 5/0), ``window`` (submits in flight, 10), ``throughput``
  (messages a second at most, 0 for no limit), ``concat`` (how the parts of a long text are
  joined: ``udh8``, ``udh16`` or ``sar``, see :mod:`bannertui.domain.smpp`).

The secret (password, auth token, API key secret) is never a setting.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from bannertui.domain.enums import ConnectorType
from bannertui.domain.errors import BannerError, refuse_fields
from bannertui.domain.provider_rules import validate_login, validate_provider_url


class InvalidConnector(BannerError):
    name = "Invalid connector"


class UnknownConnector(BannerError):
    name = "Unknown connector"


class ConnectorInUse(BannerError):
    name = "Connector in use"


MAX_NAME = 64
TWILIO_API = "https://api.twilio.com"
_SID = {
    "account_sid": (re.compile(r"AC[0-9a-f]{32}"), "an Account SID is AC followed by 32 hex"),
    "api_key_sid": (re.compile(r"SK[0-9a-f]{32}"), "an API key SID is SK followed by 32 hex"),
    "messaging_service_sid": (
        re.compile(r"MG[0-9a-f]{32}"),
        "a Messaging Service SID is MG followed by 32 hex",
    ),
}
FIELDS: dict[ConnectorType, tuple[str, ...]] = {
    ConnectorType.HTTPS_JSON: ("url", "auth_enabled", "login", "ca_file"),
    ConnectorType.TWILIO: (
        "account_sid",
        "api_key_sid",
        "messaging_service_sid",
        "api_base",
        "public_url",
        "ca_file",
    ),
    ConnectorType.SMPP: (
        "host",
        "port",
        "tls",
        "system_id",
        "system_type",
        "bind_mode",
        "source_ton",
        "source_npi",
        "window",
        "throughput",
        "concat",
    ),
}

#: SMPP defaults (what an empty field means).
SMPP_PORT = 2775
SMPP_WINDOW = 10
SMPP_BIND_MODES = ("transceiver", "pair")
SMPP_CONCATS = ("udh8", "udh16", "sar")
SMPP_DEFAULTS: dict[str, Any] = {
    "port": SMPP_PORT,
    "tls": False,
    "system_type": "",
    "bind_mode": "transceiver",
    "source_ton": 1,
    "source_npi": 1,
    "window": SMPP_WINDOW,
    "throughput": 0,
    "concat": "udh8",
}
_HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]")


def connector_type(value: str) -> ConnectorType:
    try:
        return ConnectorType(value.strip().lower())
    except ValueError:
        known = ", ".join(t.value for t in ConnectorType)
        raise InvalidConnector(f"unknown connector type {value!r}: choose {known}") from None


def validate_name(name: str) -> str:
    clean = name.strip()
    if not clean:
        raise InvalidConnector("the name is empty")
    if len(clean) > MAX_NAME:
        raise InvalidConnector(f"the name is longer than {MAX_NAME} characters")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in clean):
        raise InvalidConnector("the name contains control characters")
    return clean


def _text(raw: Mapping[str, Any], key: str) -> str:
    value = raw.get(key)
    return value.strip() if isinstance(value, str) else ""


def _public_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("the public URL must be an http(s) URL with a host")
    if parts.username is not None or parts.password is not None:
        raise ValueError("the public URL must not carry credentials")
    if parts.query or parts.fragment:
        raise ValueError("the public URL must have no query or fragment")
    return url.rstrip("/")


def validate_settings(kind: ConnectorType | str, raw: Mapping[str, Any]) -> dict[str, Any]:
    """The settings of a ``kind`` connector, cleaned; every refused field at once
    (:func:`~bannertui.domain.errors.refuse_fields`), by name."""
    kind = connector_type(kind) if isinstance(kind, str) else kind
    unknown = sorted(set(raw) - set(FIELDS[kind]))
    if unknown:
        raise InvalidConnector(f"{kind.value} has no setting {', '.join(unknown)}")
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    ca_file = _text(raw, "ca_file") or None
    if kind is ConnectorType.HTTPS_JSON:
        auth = bool(raw.get("auth_enabled"))
        try:
            out["url"] = validate_provider_url(_text(raw, "url"))
        except BannerError as exc:
            errors["url"] = f"url: {exc.detail}"
        out["auth_enabled"] = auth
        out["login"] = None
        if auth:
            try:
                out["login"] = validate_login(_text(raw, "login"))
            except BannerError as exc:
                errors["login"] = f"login: {exc.detail}"
        out["ca_file"] = ca_file
    elif kind is ConnectorType.SMPP:
        out = _smpp_settings(raw, errors)
    else:
        for key, (pattern, why) in _SID.items():
            value = _text(raw, key)
            if key == "account_sid" and not value:
                errors[key] = "account_sid: the Account SID is required"
            elif value and not pattern.fullmatch(value):
                errors[key] = f"{key}: {why}"
            out[key] = value or None
        try:
            out["api_base"] = validate_provider_url(_text(raw, "api_base") or TWILIO_API).rstrip(
                "/"
            )
        except BannerError as exc:
            errors["api_base"] = f"api_base: {exc.detail}"
        public = _text(raw, "public_url")
        out["public_url"] = None
        if public:
            try:
                out["public_url"] = _public_url(public)
            except ValueError as exc:
                errors["public_url"] = f"public_url: {exc}"
        out["ca_file"] = ca_file
    refuse_fields(errors, FIELDS[kind], InvalidConnector)
    return out


def _integer(
    raw: Mapping[str, Any], key: str, low: int, high: int, errors: dict[str, str], what: str
) -> int:
    value = raw.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return int(SMPP_DEFAULTS[key])
    try:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError
        number = int(str(value).strip()) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        errors[key] = f"{key}: {what} must be a whole number"
        return int(SMPP_DEFAULTS[key])
    if not low <= number <= high:
        errors[key] = f"{key}: {what} must be {low}–{high}"
    return number


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _smpp_settings(raw: Mapping[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    host = _text(raw, "host")
    if not host:
        errors["host"] = "host: the SMSC's host name or address is required"
    elif not _HOST.fullmatch(host):
        errors["host"] = "host: not a host name or an IP address"
    out["host"] = host
    out["port"] = _integer(raw, "port", 1, 65535, errors, "the port")
    out["tls"] = _flag(raw.get("tls"))
    for key, longest, required in (("system_id", 15, True), ("system_type", 12, False)):
        value = _text(raw, key)
        if required and not value:
            errors[key] = f"{key}: the {key.replace('_', ' ')} the SMSC gave you is required"
        elif len(value) > longest:
            errors[key] = f"{key}: at most {longest} characters (SMPP 3.4)"
        elif value and not (value.isascii() and value.isprintable()):
            errors[key] = f"{key}: printable ASCII characters only"
        out[key] = value
    for key, choices in (("bind_mode", SMPP_BIND_MODES), ("concat", SMPP_CONCATS)):
        value = _text(raw, key).lower() or str(SMPP_DEFAULTS[key])
        if value not in choices:
            errors[key] = f"{key}: choose {' or '.join(choices)}"
        out[key] = value
    out["source_ton"] = _integer(raw, "source_ton", 0, 6, errors, "the type of number (TON)")
    out["source_npi"] = _integer(raw, "source_npi", 0, 18, errors, "the numbering plan (NPI)")
    out["window"] = _integer(raw, "window", 1, 100, errors, "the window")
    out["throughput"] = _integer(raw, "throughput", 0, 10_000, errors, "the throughput")
    return out


def is_configured(kind: ConnectorType | str, settings: Mapping[str, Any]) -> bool:
    """Whether the settings are enough to send (what agents may know)."""
    kind = connector_type(kind) if isinstance(kind, str) else kind
    if kind is ConnectorType.HTTPS_JSON:
        return bool(settings.get("url"))
    if kind is ConnectorType.SMPP:
        return bool(settings.get("host") and settings.get("system_id"))
    return bool(settings.get("account_sid"))
