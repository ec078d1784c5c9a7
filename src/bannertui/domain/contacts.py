"""Contacts: how a contact is named on screen, and how a search finds them."""

from __future__ import annotations

import unicodedata


def display_name(first_name: str, last_name: str, number: str) -> str:
    """The name a contact is shown by: "First Last", the one given, or the number."""
    return " ".join(part for part in (first_name, last_name) if part) or number


def fold(text: str) -> str:
    """``text`` for comparing as people read it: without case and without accents ("Inès",
    "INES" and "ines" are the same; "Straße" is "strasse").  A search folds what is typed
    and what is stored alike, so that it matches both ways."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def search_key(first_name: str, last_name: str, company: str, email: str, number: str) -> str:
    """What a contact search looks in (stored with the contact, folded): every word typed
    must be in it."""
    return fold(" ".join((first_name, last_name, company, email, number)))
