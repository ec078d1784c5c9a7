"""Contacts: how a contact is named on screen."""

from __future__ import annotations


def display_name(first_name: str, last_name: str, number: str) -> str:
    """The name a contact is shown by: "First Last", the one given, or the number."""
    return " ".join(part for part in (first_name, last_name) if part) or number
