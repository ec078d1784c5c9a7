"""The live credit counter under every message editor (SPEC B7, §7)."""

from __future__ import annotations

from textual.content import Content
from textual.reactive import reactive
from textual.widgets import Static

from bannertui.domain.sms import MAX_CREDITS, SmsMeasure, measure, non_gsm_characters
from bannertui.domain.text import one_line, plural


class CreditCounter(Static):
    """Characters, credits and encoding of a text; an orange warning when it needs Unicode,
    an error past 8 credits.  ``over_limit`` tells the form to disable Send.

    Given the account's ``balance`` (None until the form has read it), it says so when the
    text needs more credits than are left, or none are left at all: "⚠ Credits: 0 — cannot
    send", in the warning colour and bold (the text says it, not the colour alone)."""

    DEFAULT_CSS = """
    CreditCounter { height: 2; color: $text-muted; }
    CreditCounter.-unicode { color: $warning; }
    CreditCounter.-no-credits { color: $warning; text-style: bold; }
    CreditCounter.-over-limit { color: $error; text-style: bold; }
    """

    text: reactive[str] = reactive("")
    #: The account's credits as last read (None: not read yet).
    balance: reactive[int | None] = reactive(None)

    def __init__(self, text: str = "", **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.set_reactive(CreditCounter.text, text)
        self.measure: SmsMeasure = measure(text)

    @property
    def over_limit(self) -> bool:
        return self.measure.over_limit

    @property
    def short_of_credits(self) -> bool:
        """The balance, as last read, cannot pay for this text (or for any text: it is 0)."""
        balance = self.balance
        return balance is not None and (balance <= 0 or self.measure.credits > balance)

    def on_mount(self) -> None:
        self._show()

    def watch_text(self, text: str) -> None:
        self.measure = measure(text)
        self._show()

    def watch_balance(self) -> None:
        self._show()

    def _show(self) -> None:
        # The height is fixed (two lines) and the width is the editor's, so a new text never
        # changes the counter's size: repaint it without a layout of the whole screen.
        m = self.measure
        short = self.short_of_credits and not m.over_limit
        self.set_class(m.unicode and not m.over_limit and not short, "-unicode")
        self.set_class(short, "-no-credits")
        self.set_class(m.over_limit, "-over-limit")
        summary = (
            f"{plural(m.characters, 'character')} · {plural(m.credits, 'credit')}"
            f" · {m.encoding.value}"
        )
        if m.over_limit:
            self.update(
                Content(
                    f"Credit limit exceeded: {summary} — {MAX_CREDITS} credits at most"
                    " (1,224 GSM characters, 536 Unicode)"
                ),
                layout=False,
            )
        elif short:
            balance = self.balance or 0
            warning = (
                f"⚠ Credits: {balance} — cannot send"
                if balance <= 0
                else f"⚠ Insufficient credits: {m.credits} needed, {balance} left"
            )
            self.update(Content(f"{warning} · {summary}"), layout=False)
        elif m.unicode:
            chars = one_line(" ".join(non_gsm_characters(self.text)[:6]))
            warning = f"⚠ Unicode: 70 characters per credit instead of 160 ({chars})"
            self.update(Content(f"{warning} · {summary}"), layout=False)
        else:
            self.update(Content(summary), layout=False)
