"""Provider settings rules (SPEC P1, P7): an https:// URL and a login of allowed characters."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from bannertui.domain.errors import InvalidProviderLogin, InvalidProviderUrl

LOGIN_RE = re.compile(r"[A-Za-z0-9_+.@-]+")
MAX_URL = 2048
MAX_LOGIN = 254


def validate_provider_url(url: str) -> str:
    """The URL, stripped, if it is an absolute ``https://`` URL with a host and no credentials."""
    url = url.strip()
    if not url:
        raise InvalidProviderUrl("the URL is empty")
    if len(url) > MAX_URL:
        raise InvalidProviderUrl(f"longer than {MAX_URL} characters")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise InvalidProviderUrl("the URL contains spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a bad port
    except ValueError as exc:
        raise InvalidProviderUrl(f"not a URL ({exc})") from None
    if parts.scheme.lower() != "https":
        raise InvalidProviderUrl("the URL must start with https://")
    if not parts.hostname:
        raise InvalidProviderUrl("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise InvalidProviderUrl("put the login and password in the authentication fields")
    del port
    return url


def validate_login(login: str) -> str:
    """A login of letters, digits and ``_ + . @ -`` only."""
    if not login:
        raise InvalidProviderLogin("the login is empty")
    if len(login) > MAX_LOGIN:
        raise InvalidProviderLogin(f"longer than {MAX_LOGIN} characters")
    if not LOGIN_RE.fullmatch(login):
        bad = sorted({ch for ch in login if not LOGIN_RE.fullmatch(ch)})
        shown = " ".join(repr(ch) for ch in bad[:5])
        raise InvalidProviderLogin(
            f"only letters, digits and _ + . @ - are allowed (found {shown})"
        )
    return login
