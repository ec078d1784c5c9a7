"""How fast is ``measure()``? Times it beside ``len()`` of the same texts.

Run: ``.venv/bin/python bench/bench_measure.py``. Prints figures, never fails (exit 0).
"""

from __future__ import annotations

import statistics
import timeit
from collections.abc import Callable
from functools import partial

from bannertui.domain.sms import measure

REPEATS = 9
TARGET_US = 50.0

_GSM_SENTENCES = (
    "Hello Anna, your appointment at the Lyon clinic is confirmed for Tuesday 12/03 at "
    "10:30. Please bring your card [ref A-1234] and an ID. Fee: 25€, paid on site. "
    "Questions? Call us on 01 23 45 67 89 or reply to this message. Reply STOP to opt out. "
)
_UCS2_SENTENCES = (
    "Rappel : votre rendez-vous est fixé à mercredi 14 h. Merci d'être à l'heure, "
    "la fenêtre d'accueil ferme tôt ! Напоминание: ваша встреча в среду в 14:00. "
)


def _repeat_to(text: str, length: int) -> str:
    return (text * (length // len(text) + 1))[:length]


GSM_TEXT = _repeat_to(_GSM_SENTENCES, 1224)
UCS2_TEXT = _repeat_to(_UCS2_SENTENCES, 536)
MIXED_TEXT = GSM_TEXT[:600] + "😀" + GSM_TEXT[600:1223]

CASES = [
    ("GSM-7, 1,224 chars, few ext", GSM_TEXT),
    ("UCS-2, 536 chars (fr + ru)", UCS2_TEXT),
    ("mixed: GSM + 1 emoji", MIXED_TEXT),
]


def _time_us(func: Callable[[], object]) -> tuple[float, float]:
    """(best, median) microseconds per call over REPEATS repeats."""
    timer = timeit.Timer(func)
    # Calls per repeat: enough for ~20 ms, so the whole script takes a few seconds.
    number = max(1000, int(0.02 / (timer.timeit(1000) / 1000)))
    per_call = [t / number * 1e6 for t in timer.repeat(repeat=REPEATS, number=number)]
    return min(per_call), statistics.median(per_call)


def main() -> None:
    rows = []
    for label, text in CASES:
        m = measure(text)
        best_m, median_m = _time_us(partial(measure, text))
        best_l, median_l = _time_us(partial(len, text))
        rows.append((label, m, best_m, median_m, best_l, median_l))

    header = (
        f"{'text':<30} {'chars':>6} {'enc':>5} {'units':>6} {'cr':>3} "
        f"{'measure µs best/med':>20} {'len µs best/med':>16} {'ratio':>7}"
    )
    print(f"measure() vs len(), best and median of {REPEATS} repeats")
    print(header)
    print("-" * len(header))
    for label, m, best_m, median_m, best_l, median_l in rows:
        print(
            f"{label:<30} {m.characters:>6} {m.encoding.value:>5} {m.units:>6} {m.credits:>3} "
            f"{best_m:>9.2f} /{median_m:>8.2f} {best_l:>7.3f} /{median_l:>6.3f} "
            f"{best_m / best_l:>7.0f}"
        )

    gsm_best = rows[0][2]
    verdict = "PASS" if gsm_best <= TARGET_US else "FAIL"
    print()
    print(f"target: <= {TARGET_US:.0f} µs for 1,224 GSM chars: {verdict} ({gsm_best:.2f} µs)")


if __name__ == "__main__":
    main()
