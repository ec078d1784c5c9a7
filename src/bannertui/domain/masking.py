"""Masking credentials in any text we show, store or log (SPEC P7): a provider's words, an
exception's text, a connection report, a log line — the password in every form a provider
may echo (plain, URL-encoded, inside a Basic token or a URL's userinfo)."""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
from urllib.parse import quote, quote_plus

#: What a credential becomes in any text we show, store or log.
MASK = "********"

#: A URL's userinfo (``scheme://user:password@``), anyone's; also with JSON-escaped slashes.
_USERINFO_RE = re.compile(r"\b([a-z][a-z0-9+.-]*:(?:\\?/){2})[^\s/\\?#@\[\]]+@", re.IGNORECASE)
#: ``Basic <token>``: masked when the token decodes to ``user:password`` (anyone's).
_BASIC_RE = re.compile(r"\b(basic(?:\s+|%20|\+))([A-Za-z0-9+/_-]{4,}={0,2})", re.IGNORECASE)
#: A run of base64 (either alphabet) long enough to carry a byte of a password after a login.
_B64_RUN_RE = re.compile(r"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{16,}={0,2}")
_URLSAFE_TO_STANDARD = str.maketrans("-_", "+/")
#: Besides our own forms, how much of a cut text may hold the start of a credential.
_MARGIN = 256


def credential_forms(login: str | None, password: str | None) -> frozenset[str]:
    """Every form of the credential a provider or a library may repeat: the password; with a
    login, the ``login:password`` pair and its Basic token (base64, standard and URL-safe
    alphabets, with and without padding); each of these URL-encoded (``quote`` with and
    without ``/`` safe, ``quote_plus``) and JSON-escaped.  Nothing without a password (the
    login alone is no secret)."""
    if not password:
        return frozenset()
    plain = {password}
    if login is not None:
        pair = f"{login}:{password}"
        raw = pair.encode("utf-8")  # as httpx.BasicAuth encodes it
        plain.add(pair)
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            token = encode(raw).decode("ascii")
            plain |= {token, token.rstrip("=")}
    forms = set(plain)
    for value in plain:
        forms |= {quote(value, safe=""), quote(value), quote_plus(value)}
        forms |= {json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
    return frozenset(form for form in forms if form)


@functools.lru_cache(maxsize=8)
def _credential_pattern(login: str | None, password: str | None) -> tuple[re.Pattern[str], int]:
    """One pattern for all the forms, the longest first (a form inside another is masked with
    it), without case (``%2f`` is ``%2F``); and the length of the longest."""
    forms = sorted(credential_forms(login, password), key=len, reverse=True)
    if not forms:
        return re.compile(r"(?!)"), 0
    return re.compile("|".join(map(re.escape, forms)), re.IGNORECASE), len(forms[0])


def _b64_start(run: str) -> bytes | None:
    """The bytes a base64 run starts with (either alphabet, padded or not, possibly cut short),
    or None when it is not base64."""
    body = run.rstrip("=").translate(_URLSAFE_TO_STANDARD)
    if len(body) % 4 == 1:  # a cut token: its last character alone encodes no whole byte
        body = body[:-1]
    try:
        return base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def _mask_basic(match: re.Match[str]) -> str:
    decoded = _b64_start(match[2])
    return match[1] + MASK if decoded is not None and b":" in decoded else match[0]


def _mask_login_tokens(text: str, login: str) -> str:
    """Mask any base64 that decodes to ``login:`` and more: a Basic token of our login, with
    any password (an old one too), whole or cut short (its start holds the password's)."""
    start = f"{login}:".encode()

    def mask(match: re.Match[str]) -> str:
        decoded = _b64_start(match[0])
        ours = decoded is not None and len(decoded) > len(start) and decoded.startswith(start)
        return MASK if ours else match[0]

    return _B64_RUN_RE.sub(mask, text)


def mask_credentials(
    text: str,
    login: str | None = None,
    password: str | None = None,
    *,
    limit: int | None = None,
) -> str:
    """``text`` with our credential in every form (:func:`credential_forms`, and any Basic
    token of ``login``, even cut short), any URL's userinfo and any ``Basic`` credentials
    replaced by :data:`MASK`.  The one function through which every provider reason,
    connection report and adapter log line passes.

    With ``limit``, only the first ``limit`` characters are scanned (a huge body costs no
    more) and the result is at most that long; when the text is cut, the end of the scanned
    part that could hold the start of a credential is dropped too, so that a credential
    straddling the cut never shows in part."""
    pattern, longest = _credential_pattern(login, password)
    cut = limit is not None and len(text) > limit
    if limit is not None:
        text = text[:limit]
    text = pattern.sub(MASK, text)
    if login:
        text = _mask_login_tokens(text, login)
    text = _BASIC_RE.sub(_mask_basic, text)
    text = _USERINFO_RE.sub(lambda m: m[1] + MASK + "@", text)
    if cut:
        text = text[: max(0, len(text) - max(longest, _MARGIN) - len(MASK))]
    return text if limit is None else text[:limit]  # a mask may be longer than what it hides
