"""People: the SQL the service runs: search, sort, display name, loading rows."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bannertui.domain.contacts import display_name, fold
from bannertui.domain.errors import (
    DuplicateContact,
    UnknownContact,
    UnknownGroup,
)
from bannertui.services.base import like_contains
from bannertui.services.people.fields import (
    AUDIT_NAMES,
    CHUNK,
    MAX_SEARCH,
    ContactRow,
)
from bannertui.store.models import Contact, ContactGroup, Group

T = TypeVar("T")


# --- queries --------------------------------------------------------------------------


def _display_expr() -> sa.ColumnElement[str]:
    """:func:`display_name` in SQL."""
    first, last = col(Contact.first_name), col(Contact.last_name)
    return sa.case(
        ((first == "") & (last == ""), col(Contact.number)),
        (first == "", last),
        (last == "", first),
        else_=first + " " + last,
    )


def sort_expr() -> sa.ColumnElement[str]:
    return sa.func.lower(_display_expr())


_PHONE_LIKE = re.compile(r"[0-9 +().\-/]+")


def search_filter(search: str) -> sa.ColumnElement[bool] | None:
    """Every word is in a name, the company, the email or the number, without case or
    accents either way ("ines" finds Inès, "INÈS" finds Ines: both sides folded, the stored
    side in ``search_key``); or, for a search made of digits and phone separators, its
    digits are in the number ("612 000" finds +33612000001; a national "06 12" finds it
    too)."""
    query = " ".join(search.split())[:MAX_SEARCH]
    if not query:
        return None
    words = sa.and_(
        *(
            col(Contact.search_key).like(like_contains(fold(w)), escape="\\")
            for w in query.split(" ")
        )
    )
    if not _PHONE_LIKE.fullmatch(query):
        return words
    digits = re.sub(r"[^0-9]", "", query)
    variants = {digits, digits.lstrip("0")} - {""}
    return sa.or_(words, *(col(Contact.number).like(f"%{v}%") for v in variants))


def contact_columns() -> tuple[Any, ...]:
    return (
        col(Contact.id),
        col(Contact.first_name),
        col(Contact.last_name),
        col(Contact.number),
        col(Contact.email),
        col(Contact.company),
    )


def contact_row(row: Any, groups: tuple[str, ...]) -> ContactRow:
    return ContactRow(
        id=int(row.id),
        first_name=row.first_name,
        last_name=row.last_name,
        number=row.number,
        email=row.email,
        company=row.company,
        groups=groups,
    )


def as_id(value: int | None) -> int:
    """A primary key read back from the database (never None there)."""
    assert value is not None
    return int(value)


def in_chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _sorted_names(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(names, key=lambda n: (n.casefold(), n)))


def brief_names(names: Sequence[str]) -> list[str]:
    return list(names[:AUDIT_NAMES]) + (
        [f"... {len(names) - AUDIT_NAMES} more"] if len(names) > AUDIT_NAMES else []
    )


async def groups_of(
    session: AsyncSession, contact_ids: Sequence[int]
) -> dict[int, tuple[str, ...]]:
    found: dict[int, list[str]] = {}
    for chunk in in_chunks(contact_ids):
        result = await session.execute(
            sa.select(col(ContactGroup.contact_id), col(Group.name))
            .join(Group, col(Group.id) == col(ContactGroup.group_id))
            .where(col(ContactGroup.contact_id).in_(chunk))
        )
        for contact_id, name in result.all():
            found.setdefault(int(contact_id), []).append(name)
    return {cid: _sorted_names(names) for cid, names in found.items()}


async def load_contact(session: AsyncSession, contact_id: int) -> ContactRow:
    row = (
        await session.execute(sa.select(*contact_columns()).where(col(Contact.id) == contact_id))
    ).first()
    if row is None:
        raise UnknownContact(f"contact #{contact_id} does not exist")
    groups = await groups_of(session, [contact_id])
    return contact_row(row, groups.get(contact_id, ()))


async def refuse_duplicate(
    session: AsyncSession, number: str, *, other_than: int | None = None
) -> None:
    query = sa.select(*contact_columns()).where(col(Contact.number) == number)
    if other_than is not None:
        query = query.where(col(Contact.id) != other_than)
    row = (await session.execute(query)).first()
    if row is not None:
        existing = contact_row(row, ())
        raise DuplicateContact(f"{number} is already {existing.display_name} (#{existing.id})")


async def group_index(session: AsyncSession) -> dict[str, tuple[int, str]]:
    """Every group by its casefolded name: (id, name)."""
    result = await session.execute(sa.select(col(Group.id), col(Group.name)))
    return {name.casefold(): (as_id(gid), name) for gid, name in result.all()}


async def load_group(session: AsyncSession, group_id: int) -> Group:
    group = await session.get(Group, group_id)
    if group is None:
        raise UnknownGroup(f"group #{group_id} does not exist")
    return group


async def member_count(session: AsyncSession, group_id: int) -> int:
    count = await session.scalar(
        sa.select(sa.func.count()).where(col(ContactGroup.group_id) == group_id)
    )
    return int(count or 0)


async def contact_names(session: AsyncSession, numbers: Iterable[str]) -> dict[str, str]:
    """number → display name ("First Last", else the number) of the numbers that belong to a
    contact, in the caller's session: one query per 5,000 numbers."""
    wanted = sorted(set(numbers))
    names: dict[str, str] = {}
    for chunk in in_chunks(wanted):
        result = await session.execute(
            sa.select(col(Contact.number), col(Contact.first_name), col(Contact.last_name)).where(
                col(Contact.number).in_(chunk)
            )
        )
        for number, first, last in result.all():
            names[number] = display_name(first, last, number)
    return names
