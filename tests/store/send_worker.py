"""One of the OS processes of test_concurrency: sends Direct SMS until credits run out.

Usage: python send_worker.py URL START_AT ATTEMPTS  → prints one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from bannertui.domain.actor import Actor
from bannertui.domain.errors import InsufficientCredits
from bannertui.services import Services
from bannertui.store.database import Database

TEXTS = ("Hello from the concurrency test.", "x" * 200)  # 1 credit, 2 credits


async def main(url: str, start_at: float, attempts: int) -> dict[str, object]:
    db = Database(url, busy_timeout=30)
    services = Services(db)
    sent: list[int] = []
    refused = 0
    errors: list[str] = []
    await services.agents.context(Actor("alice"))  # connect before the start line
    await asyncio.sleep(max(0.0, start_at - time.time()))
    for i in range(attempts):
        try:
            msg = await services.outbound.send_direct(
                Actor("alice"), "+33612000009", "+33757000001", TEXTS[i % 2]
            )
            sent.append(msg.credits)
        except InsufficientCredits:
            refused += 1
        except Exception as exc:  # reported, and the test fails on it
            errors.append(f"{type(exc).__name__}: {exc}")
    await db.dispose()
    return {"credits": sent, "refused": refused, "errors": errors}


if __name__ == "__main__":
    result = asyncio.run(main(sys.argv[1], float(sys.argv[2]), int(sys.argv[3])))
    print(json.dumps(result))
