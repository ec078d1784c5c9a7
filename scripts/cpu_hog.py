"""Keep every core busy for a bounded time: the loaded machine the suite must pass on.

    python scripts/cpu_hog.py [--seconds N] [--procs N]

One busy-looping process per core (``--procs``, default: the number of cores), each ending by
itself after ``--seconds`` (default 900) or when this process is stopped; used by
``make test-loaded``.  Nothing is sent anywhere: the processes only spin.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import sys
import time


def spin(seconds: float) -> None:
    deadline = time.monotonic() + seconds
    x = 0
    while time.monotonic() < deadline:
        for _ in range(10_000):
            x = (x * 1_103_515_245 + 12_345) & 0xFFFFFFFF


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=900.0)
    parser.add_argument("--procs", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    procs = [
        multiprocessing.Process(target=spin, args=(args.seconds,), daemon=True)
        for _ in range(max(1, args.procs))
    ]
    for p in procs:
        p.start()

    def stop(*_: object) -> None:
        for p in procs:
            p.terminate()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for p in procs:
        p.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
