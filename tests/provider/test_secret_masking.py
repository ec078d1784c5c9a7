"""mask_credentials (SPEC P7): the one function every provider reason, report and log line goes
through.  The adapter's own paths are tested over loopback HTTPS in test_http_adapter.py; here,
the forms one by one."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bannertui.domain.masking import MASK, mask_credentials

LOGIN = "demo-login"
PASSWORDS = {
    "plain": "Zq8!pw-NEVER-SHOWN-7f3c",
    # Every encoding differs: "/" kept by quote() only, " " is "+" for quote_plus(), and the
    # Basic token of LOGIN:password has "+", "/" and "=" padding.
    "tricky": "p/w +ä!%Zq8-NEVER~SHOWN?&=",
}


def token(login: str, password: str, *, urlsafe: bool = False) -> str:
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    return encode(f"{login}:{password}".encode()).decode()


def forms(password: str) -> dict[str, str]:
    from urllib.parse import quote, quote_plus

    pair = f"{LOGIN}:{password}"
    std, safe = token(LOGIN, password), token(LOGIN, password, urlsafe=True)
    return {
        "password": password,
        "pair": pair,
        "basic": std,
        "basic-unpadded": std.rstrip("="),
        "basic-urlsafe": safe,
        "basic-urlsafe-unpadded": safe.rstrip("="),
        "quote": quote(password, safe=""),
        "quote-default-safe": quote(password),
        "quote-plus": quote_plus(password),
        "quote-pair": quote(pair, safe=""),
        "quote-plus-basic": quote_plus(f"Basic {std}"),
        "json-escaped": json.dumps(password)[1:-1],
        "json-escaped-pair": json.dumps(pair)[1:-1],
    }


@pytest.mark.parametrize("which", list(PASSWORDS))
@pytest.mark.parametrize("form", list(forms(PASSWORDS["plain"])))
def test_every_form_is_masked(which: str, form: str) -> None:
    password = PASSWORDS[which]
    value = forms(password)[form]
    text = f"refused [{value}] by the gateway"
    masked = mask_credentials(text, LOGIN, password)
    assert value not in masked
    assert password not in masked
    assert masked.startswith("refused [")
    assert masked.endswith("] by the gateway")
    assert MASK in masked


def test_the_tricky_password_really_has_distinct_forms() -> None:
    """The parametrisation above means something only if the forms differ."""
    tricky = forms(PASSWORDS["tricky"])
    assert len(set(tricky.values())) == len(tricky)
    assert "+" in tricky["basic"]
    assert "/" in tricky["basic"]
    assert tricky["basic"].endswith("=")


def test_percent_encoding_is_matched_without_case() -> None:
    password = PASSWORDS["tricky"]
    lower = forms(password)["quote"].replace("%2F", "%2f").replace("%C3%A4", "%c3%a4")
    assert lower != forms(password)["quote"]
    assert mask_credentials(f"pw={lower}", LOGIN, password) == f"pw={MASK}"


def test_the_pair_is_masked_whole() -> None:
    password = PASSWORDS["plain"]
    text = f"credentials {LOGIN}:{password} refused"
    assert mask_credentials(text, LOGIN, password) == f"credentials {MASK} refused"


def test_the_authorization_header_is_masked() -> None:
    password = PASSWORDS["tricky"]
    header = f"Authorization: Basic {token(LOGIN, password)}"
    assert mask_credentials(header, LOGIN, password) == f"Authorization: Basic {MASK}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("GET https://bob:s3cret@sms.example.com/v1", f"GET https://{MASK}@sms.example.com/v1"),
        ("https://bob@sms.example.com", f"https://{MASK}@sms.example.com"),
        ("(ftp://a%40b:c%3Ad@host)", f"(ftp://{MASK}@host)"),
        ('"https:\\/\\/bob:pw@host\\/x"', f'"https:\\/\\/{MASK}@host\\/x"'),
        ("https://sms.example.com/a@b", "https://sms.example.com/a@b"),
        ("https://sms.example.com?to=a@b", "https://sms.example.com?to=a@b"),
        ("write to ops@example.com", "write to ops@example.com"),
        ("mailto:ops@example.com", "mailto:ops@example.com"),
    ],
)
def test_any_url_userinfo_is_masked(text: str, expected: str) -> None:
    """Anyone's userinfo, not only ours: a URL with credentials is never repeated."""
    assert mask_credentials(text) == expected
    assert mask_credentials(text, LOGIN, PASSWORDS["plain"]) == expected


def test_our_url_userinfo_is_masked_with_the_login() -> None:
    from urllib.parse import quote

    password = PASSWORDS["tricky"]
    for userinfo in (f"{LOGIN}:{password}", f"{LOGIN}:{quote(password, safe='')}"):
        text = f"no route to https://{userinfo}@sms.example.com/v1/sms"
        masked = mask_credentials(text, LOGIN, password)
        assert masked == f"no route to https://{MASK}@sms.example.com/v1/sms", masked


@pytest.mark.parametrize("urlsafe", [False, True])
def test_any_basic_credentials_are_masked(urlsafe: bool) -> None:
    """A Basic token that decodes to ``user:password`` is masked even when it is not ours."""
    other = token("someone", "else's ~~?? secret", urlsafe=urlsafe)
    assert mask_credentials(f"Authorization: Basic {other}") == f"Authorization: Basic {MASK}"
    assert mask_credentials(f"basic {other.rstrip('=')};") == f"basic {MASK};"


@pytest.mark.parametrize(
    "text",
    [
        "Basic authentication refused",
        "HTTP Basic auth is required",
        "basic plan: 100 SMS",
        "Basic Zm9vYmFy",  # "foobar": no colon, not credentials
    ],
)
def test_words_after_basic_are_kept(text: str) -> None:
    assert mask_credentials(text) == text


def test_nothing_to_mask_keeps_the_text() -> None:
    text = "HTTP 400: to: invalid number (+33612345678) ümlaut \x1b[31m"
    assert mask_credentials(text, LOGIN, PASSWORDS["plain"]) == text
    assert mask_credentials(text, None, None) == text
    assert mask_credentials(text, LOGIN, "") == text
    assert mask_credentials("", LOGIN, PASSWORDS["plain"]) == ""


def test_a_password_without_login_is_still_masked() -> None:
    password = PASSWORDS["plain"]
    assert mask_credentials(f"pw {password}!", None, password) == f"pw {MASK}!"
    # No password: nothing of ours to mask.
    assert mask_credentials(f"pw {password}!", LOGIN, None) == f"pw {password}!"


@pytest.mark.parametrize("which", list(PASSWORDS))
@pytest.mark.parametrize("cut", range(1, 80))
def test_a_limit_never_leaves_part_of_a_credential(which: str, cut: int) -> None:
    """Only ``limit`` characters are scanned (a huge body costs no more than that), and a
    credential straddling the cut is not left half shown (half a Basic token is most of the
    password)."""
    password = PASSWORDS[which]
    secret = f"Basic {token(LOGIN, password)} and {password}"
    text = "x" * 200 + secret + "y" * 20
    limit = 200 + cut
    masked = mask_credentials(text, LOGIN, password, limit=limit)
    assert len(masked) <= limit
    assert set(masked) <= set("x")  # what is kept is from before the credential
    for value in (token(LOGIN, password), password):
        for n in range(6, len(value) + 1):
            assert value[:n] not in masked, (cut, masked)


def test_a_limit_keeps_a_short_text_whole() -> None:
    assert mask_credentials("short", LOGIN, PASSWORDS["plain"], limit=300) == "short"


def test_a_limit_keeps_most_of_a_long_text() -> None:
    password = PASSWORDS["plain"]
    text = f"{password} " + "z" * 1_000_000
    masked = mask_credentials(text, LOGIN, password, limit=65_536)
    assert masked.startswith(f"{MASK} zzz")
    assert 60_000 < len(masked) <= 65_536


@given(st.text(max_size=40), st.text(max_size=40))
def test_masking_is_idempotent_and_hides_the_password(before: str, after: str) -> None:
    password = PASSWORDS["tricky"]
    text = before + password + after + token(LOGIN, password)
    once = mask_credentials(text, LOGIN, password)
    assert password not in once
    assert token(LOGIN, password) not in once
    assert mask_credentials(once, LOGIN, password) == once


@pytest.mark.parametrize("which", list(PASSWORDS))
@pytest.mark.parametrize("urlsafe", [False, True])
def test_a_token_of_our_login_is_masked_even_cut_short(which: str, urlsafe: bool) -> None:
    """A provider (or a log) that shortens the token it echoes still shows most of the
    password: any base64 that decodes to ``login:`` and more is masked."""
    whole = token(LOGIN, PASSWORDS[which], urlsafe=urlsafe)
    for end in range(16, len(whole)):
        masked = mask_credentials(f"token={whole[:end]}…", LOGIN, PASSWORDS[which])
        assert masked in (f"token={MASK}…", f"token={MASK}=…"), end  # "=": padding only


def test_a_token_of_our_login_with_another_password_is_masked() -> None:
    old = token(LOGIN, "the-previous-password")
    assert mask_credentials(f"[{old}]", LOGIN, PASSWORDS["plain"]) == f"[{MASK}]"


def test_base64_that_is_not_our_login_is_kept() -> None:
    others = [
        base64.b64encode(b"someone-else, no colon here").decode(),
        base64.b64encode(f"{LOGIN}".encode()).decode(),  # the login alone is no secret
        base64.b64encode(f"{LOGIN}:".encode()).decode(),
        "0123456789abcdef0123456789abcdef",  # a retId
    ]
    for text in others:
        assert mask_credentials(text, LOGIN, PASSWORDS["plain"]) == text
