"""The summary table every benchmark ends with: figure, value, target, PASS/FAIL."""

from __future__ import annotations

import statistics
import sys
from collections.abc import Sequence


def print_summary(summary: Sequence[tuple[str, str, str, str]]) -> None:
    """Print the rows (figure, value, target, result) aligned, then how many targets failed."""
    w0 = max(len(r[0]) for r in summary)
    w1 = max(len(r[1]) for r in summary)
    header = f"{'figure':<{w0}} {'value':>{w1}} {'target':>7} {'result':>6}"
    print("summary")
    print(header)
    print("-" * len(header))
    for figure, value, target, result in summary:
        print(f"{figure:<{w0}} {value:>{w1}} {target:>7} {result:>6}")
    failed = [r[0] for r in summary if r[3] == "FAIL"]
    print()
    print(f"targets: {'all PASS' if not failed else f'{len(failed)} FAIL'}")


def progress(text: str) -> None:
    """A progress line on stderr (the figures go to stdout)."""
    print(text, file=sys.stderr, flush=True)


def p95(samples: list[float]) -> float:
    """The 95th percentile (the one sample when there is only one)."""
    if len(samples) < 2:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[94]
