"""domain.contacts.fold and search_key: a search without case or accents, both ways."""

from __future__ import annotations

import pytest

from bannertui.domain.contacts import fold, search_key


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Inès", "ines"),
        ("INÈS", "ines"),
        ("ines", "ines"),
        ("Straße", "strasse"),
        ("Ångström", "angstrom"),
        ("Łukasz", "łukasz"),  # a letter of its own, not an accented l: kept
        ("ﬁne", "fine"),
        ("São Paulo", "sao paulo"),
        ("", ""),
    ],
)
def test_fold(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_both_ways() -> None:
    assert fold("Inès") == fold("ines") == fold("INES") == fold("inès")


def test_search_key_holds_every_field_folded() -> None:
    key = search_key("Léa", "Moreau", "Moreau SARL", "Lea.Moreau@example.com", "+33612000001")
    assert key == "lea moreau moreau sarl lea.moreau@example.com +33612000001"
