"""Connector rules (issue #20): a name, a known type, and the type's settings, each refusal
naming its field.

Settings are plain mappings (what the ``connector.settings`` column holds):

* ``https-json`` (SPEC P1): ``url`` (https), ``auth_enabled``, ``login``, ``ca_file``;
* ``twilio``: ``account_sid`` (``AC`` + 32 hex), ``api_key_sid`` (``SK`` + 32 hex, optional:
  the secret is then the key's), ``messaging_service_sid`` (``MG`` + 32 hex, optional),
  ``api_base`` (https, default Twilio's), ``public_url`` (where Twilio reaches our receiver:
  its callbacks go to ``{public_url}/twilio/<connector id>/…``), ``ca_file``.

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
}


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


def is_configured(kind: ConnectorType | str, settings: Mapping[str, Any]) -> bool:
    """Whether the settings are enough to send (what agents may know)."""
    kind = connector_type(kind) if isinstance(kind, str) else kind
    if kind is ConnectorType.HTTPS_JSON:
        return bool(settings.get("url"))
    return bool(settings.get("account_sid"))
