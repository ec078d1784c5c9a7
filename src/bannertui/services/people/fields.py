"""People: the rows lists return, and the checks of what is typed or imported for a
contact or a group (no queries: the limits are the columns' sizes)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from bannertui.domain.contacts import display_name, search_key
from bannertui.domain.errors import (
    BannerError,
    InvalidContact,
    InvalidGroup,
)
from bannertui.domain.phone import validate_number
from bannertui.domain.text import has_lone_surrogate, shows_replaced
from bannertui.store.models import Contact, Group

#: An import refuses larger files (split them): the whole file is held in memory.
MAX_IMPORT_ROWS = 100_000
#: Ids or numbers per IN (...) list: well under SQLite's and asyncpg's parameter limits.
CHUNK = 5_000
#: Longest search text looked at (a search is a few words or digits).
MAX_SEARCH = 200
#: Groups named in one audit event at most (the detail column is bounded).
AUDIT_NAMES = 10


def _length(model: Any, column: str) -> int:
    """The declared max_length of a string column (SQLModel's AutoString keeps it)."""
    length = getattr(sa.inspect(model).columns[column].type, "length", None)
    assert isinstance(length, int)
    return length


_LIMITS = {name: _length(Contact, name) for name in ("first_name", "last_name", "email", "company")}
_GROUP_NAME_LIMIT = _length(Group, "name")
LABELS = {
    "first_name": "first name",
    "last_name": "last name",
    "email": "email",
    "company": "company",
}
_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s.][^@\s]*\.[^@\s.]+")


# --- rows -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ContactRow:
    id: int
    first_name: str
    last_name: str
    number: str
    email: str
    company: str
    #: The contact's group names, sorted without regard to case.
    groups: tuple[str, ...] = ()

    @property
    def display_name(self) -> str:
        return display_name(self.first_name, self.last_name, self.number)

    @property
    def page_key(self) -> tuple[str, int]:
        """What :meth:`PeopleService.contacts` takes as ``after`` to list the rows after this."""
        return (self.display_name, self.id)


@dataclass(frozen=True, slots=True)
class GroupRow:
    id: int
    name: str
    members: int


@dataclass(frozen=True, slots=True)
class RejectedRow:
    """A CSV row left out of an import: its 1-based line, its number as written, and why."""

    line: int
    number: str
    reason: str


@dataclass(frozen=True, slots=True)
class ImportReport:
    created: int
    #: In line order.
    rejected: list[RejectedRow]
    groups_created: int


# --- field checks (pure) --------------------------------------------------------------


def _clean_text(label: str, value: str, limit: int, error: type[BannerError]) -> str:
    value = value.strip()
    if has_lone_surrogate(value):
        raise error(f"{label} is not valid text")
    if shows_replaced(value):
        raise error(f"{label} contains control characters")
    if len(value) > limit:
        raise error(f"{label} is longer than {limit} characters")
    return value


def clean_field(field: str, value: str) -> str:
    value = _clean_text(LABELS[field], value, _LIMITS[field], InvalidContact)
    if field == "email" and value and not _EMAIL_RE.fullmatch(value):
        raise InvalidContact("email does not look like an email address (name@example.com)")
    return value


def clean_group_name(name: str) -> str:
    """A group name trimmed, or :class:`InvalidGroup` (empty, too long, control characters)."""
    value = _clean_text("group name", name, _GROUP_NAME_LIMIT, InvalidGroup)
    if not value:
        raise InvalidGroup("a group needs a name")
    return value


def clean_groups(names: Iterable[str]) -> tuple[str, ...]:
    """Trimmed, checked, without blanks, the first spelling of each name kept."""
    seen: dict[str, str] = {}
    for raw in names:
        if raw.strip():
            name = clean_group_name(raw)
            seen.setdefault(name.casefold(), name)
    return tuple(seen.values())


@dataclass(frozen=True, slots=True)
class NewContact:
    first_name: str
    last_name: str
    number: str
    email: str
    company: str
    groups: tuple[str, ...]

    def values(self) -> dict[str, str]:
        return {
            "first_name": self.first_name,
            "last_name": self.last_name,
            "number": self.number,
            "email": self.email,
            "company": self.company,
            "search_key": search_key(
                self.first_name, self.last_name, self.company, self.email, self.number
            ),
        }


def clean_contact(
    *,
    first_name: str,
    last_name: str,
    number: str,
    email: str,
    company: str,
    groups: Iterable[str],
) -> NewContact:
    return NewContact(
        number=validate_number(number),
        first_name=clean_field("first_name", first_name),
        last_name=clean_field("last_name", last_name),
        email=clean_field("email", email),
        company=clean_field("company", company),
        groups=clean_groups(groups),
    )
