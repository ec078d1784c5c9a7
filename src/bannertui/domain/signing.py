"""The webhook signature: what a provider sends with each inbound text or receipt, and what
the receiver checks (docs/webhook.md)."""

from __future__ import annotations

import hashlib
import hmac
import time

#: Webhook authentication headers (see docs/webhook.md).
TIMESTAMP_HEADER = "X-Bannertui-Timestamp"
SIGNATURE_HEADER = "X-Bannertui-Signature"
#: Requests whose timestamp is further than this from our clock are refused (replays).
MAX_SKEW_SECONDS = 300


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
