"""The provider contract: the exact P2 payload, send outcomes, and the webhook signature."""

from __future__ import annotations

import enum
import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Protocol

#: Webhook authentication headers (see docs/webhook.md).
TIMESTAMP_HEADER = "X-Bannertui-Timestamp"
SIGNATURE_HEADER = "X-Bannertui-Signature"
#: Requests whose timestamp is further than this from our clock are refused (replays).
MAX_SKEW_SECONDS = 300


@dataclass(frozen=True, slots=True)
class SendPayload:
    """SPEC P2, field for field.  ``type`` is MARKETING whenever ``sender`` is not set."""

    type: str
    sender: str | None
    to: str
    ret_id: str
    is_unicode: bool
    text: str
    credits: int

    def as_json(self) -> dict[str, object]:
        return {
            "type": "MARKETING" if not self.sender else self.type,
            "sender": self.sender,
            "to": self.to,
            "retId": self.ret_id,
            "isUnicode": self.is_unicode,
            "text": self.text,
            "credits": self.credits,
        }


class OutcomeKind(enum.StrEnum):
    ACCEPTED = "accepted"
    TRANSIENT = "transient"  # network, timeout, 5xx, 429: retry later, same retId
    PERMANENT = "permanent"  # other 4xx: give up, refund


@dataclass(frozen=True, slots=True)
class SendOutcome:
    kind: OutcomeKind
    reason: str = ""
    retry_after: float | None = None  # seconds, from a Retry-After header
    status_code: int | None = None

    @property
    def accepted(self) -> bool:
        return self.kind is OutcomeKind.ACCEPTED


class SmsProvider(Protocol):
    async def send(self, payload: SendPayload) -> SendOutcome: ...

    async def aclose(self) -> None: ...


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The value of the signature header: ``sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">``."""
    mac = hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signed_headers(secret: bytes, body: bytes, now: float | None = None) -> dict[str, str]:
    """The headers a provider (or the simulator, a test, the bench) sends with ``body``:
    timestamp, signature and ``Content-Type: application/json``.  Call it for each attempt:
    a retry is a new request, signed afresh."""
    timestamp = str(int(time.time() if now is None else now))
    return {
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(secret, timestamp, body),
        "Content-Type": "application/json",
    }


def verify(secret: bytes, timestamp: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp, body), signature)
