"""Messages the screens and widgets post to each other (past tense: what happened)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class InteractionOpened(Message):
    """A new interaction exists (Smart start, incoming call): show and select it."""

    interaction_id: int


@dataclass
class InteractionEnded(Message):
    """The agent closed or archived an interaction."""

    interaction_id: int


@dataclass
class MessageSent(Message):
    """A message was queued (the thread and the balance should refresh)."""

    interaction_id: int | None


@dataclass
class SmsToNumberRequested(Message):
    """Start the SMS flow with this number pre-filled (from a voice call, B11)."""

    number: str
