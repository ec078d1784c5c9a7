"""People (SPEC I8, I9): contacts and groups — create, edit, delete, search, import from CSV.

One contact per number (E.164, any country, mobile only: the numbers an SMS can reach).
Group names are unique without regard to case: naming "vip" where "VIP" exists means "VIP".
Every change writes its audit event in its own transaction; an import writes one.

Lists return small frozen rows (:class:`ContactRow`, :class:`GroupRow`), never ORM objects.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bannertui.domain.actor import Actor
from bannertui.domain.errors import (
    BannerError,
    DuplicateContact,
    DuplicateGroup,
    InvalidContact,
    InvalidCsv,
    InvalidGroup,
    UnknownContact,
    UnknownGroup,
)
from bannertui.domain.phone import validate_number
from bannertui.domain.text import has_lone_surrogate, one_line, shows_replaced
from bannertui.services.agents import load_agent
from bannertui.services.base import Service, like_contains
from bannertui.store.models import Contact, ContactGroup, Group, Interaction

T = TypeVar("T")

#: An import refuses larger files (split them): the whole file is held in memory.
MAX_IMPORT_ROWS = 100_000
#: Ids or numbers per IN (...) list: well under SQLite's and asyncpg's parameter limits.
_CHUNK = 5_000
#: Longest search text looked at (a search is a few words or digits).
_MAX_SEARCH = 200
#: Groups named in one audit event at most (the detail column is bounded).
_AUDIT_NAMES = 10


def _length(model: Any, column: str) -> int:
    """The declared max_length of a string column (SQLModel's AutoString keeps it)."""
    length = getattr(sa.inspect(model).columns[column].type, "length", None)
    assert isinstance(length, int)
    return length


_LIMITS = {name: _length(Contact, name) for name in ("first_name", "last_name", "email", "company")}
_GROUP_NAME_LIMIT = _length(Group, "name")
_LABELS = {
    "first_name": "first name",
    "last_name": "last name",
    "email": "email",
    "company": "company",
}
_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s.][^@\s]*\.[^@\s.]+")


# --- rows -----------------------------------------------------------------------------


def display_name(first_name: str, last_name: str, number: str) -> str:
    """The name a contact is shown by: "First Last", the one given, or the number."""
    return " ".join(part for part in (first_name, last_name) if part) or number


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


def _clean_field(field: str, value: str) -> str:
    value = _clean_text(_LABELS[field], value, _LIMITS[field], InvalidContact)
    if field == "email" and value and not _EMAIL_RE.fullmatch(value):
        raise InvalidContact("email does not look like an email address (name@example.com)")
    return value


def clean_group_name(name: str) -> str:
    """A group name trimmed, or :class:`InvalidGroup` (empty, too long, control characters)."""
    value = _clean_text("group name", name, _GROUP_NAME_LIMIT, InvalidGroup)
    if not value:
        raise InvalidGroup("a group needs a name")
    return value


def _clean_groups(names: Iterable[str]) -> tuple[str, ...]:
    """Trimmed, checked, without blanks, the first spelling of each name kept."""
    seen: dict[str, str] = {}
    for raw in names:
        if raw.strip():
            name = clean_group_name(raw)
            seen.setdefault(name.casefold(), name)
    return tuple(seen.values())


@dataclass(frozen=True, slots=True)
class _NewContact:
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
        }


def _clean_contact(
    *,
    first_name: str,
    last_name: str,
    number: str,
    email: str,
    company: str,
    groups: Iterable[str],
) -> _NewContact:
    return _NewContact(
        number=validate_number(number),
        first_name=_clean_field("first_name", first_name),
        last_name=_clean_field("last_name", last_name),
        email=_clean_field("email", email),
        company=_clean_field("company", company),
        groups=_clean_groups(groups),
    )


# --- CSV (pure) -----------------------------------------------------------------------

#: Header spellings, compared lowercased without spaces, "_", "-" or ".".
_COLUMN_ALIASES = {
    "firstname": "first_name",
    "givenname": "first_name",
    "lastname": "last_name",
    "surname": "last_name",
    "familyname": "last_name",
    "number": "number",
    "phone": "number",
    "mobile": "number",
    "phonenumber": "number",
    "mobilenumber": "number",
    "mobilephone": "number",
    "email": "email",
    "emailaddress": "email",
    "company": "company",
    "organization": "company",
    "organisation": "company",
    "groups": "groups",
    "group": "groups",
}
_NUMBER_COLUMNS = "number, phone, mobile or phone number"
_DELIMITERS = (",", ";", "\t")
_GROUP_SPLIT = re.compile(r"[;|]")


def _column_key(header: str) -> str:
    return re.sub(r"[\s_.\-]+", "", header.strip().casefold())


@dataclass(frozen=True, slots=True)
class _CsvRow:
    line: int
    raw_number: str
    contact: _NewContact


@dataclass(frozen=True, slots=True)
class _ParsedCsv:
    rows: list[_CsvRow]
    rejected: list[RejectedRow]


def _header_columns(header_line: str) -> tuple[str, list[str], dict[str, int]]:
    """The delimiter, the header cells and the known columns' indexes.

    Each delimiter splits the header; the one that finds a number column and the most known
    columns wins (then the one that finds the most cells)."""
    best: tuple[tuple[bool, int, int], str, list[str], dict[str, int]] | None = None
    for delimiter in _DELIMITERS:
        cells = next(csv.reader([header_line], delimiter=delimiter), [])
        known: dict[str, int] = {}
        for index, cell in enumerate(cells):
            field = _COLUMN_ALIASES.get(_column_key(cell))
            if field is None:
                continue
            if field in known:
                first = cells[known[field]]
                raise InvalidCsv(
                    f"the columns {one_line(first, 40)!r} and {one_line(cell, 40)!r} "
                    f"both give the {_LABELS.get(field, field)}: keep one"
                )
            known[field] = index
        score = ("number" in known, len(known), len(cells))
        if best is None or score > best[0]:
            best = (score, delimiter, cells, known)
    assert best is not None
    _score, delimiter, cells, known = best
    if "number" not in known:
        found = ", ".join(repr(one_line(c, 40)) for c in cells[:20] if c.strip())
        more = f" and {len(cells) - 20} more" if len(cells) > 20 else ""
        raise InvalidCsv(
            f"no number column (name it {_NUMBER_COLUMNS}); "
            f"columns found: {found + more if found else '(none)'}"
        )
    return delimiter, cells, known


def _parse_csv(text: str) -> _ParsedCsv:
    """Read and check every row; refuse the whole file only when it cannot be read at all."""
    if text.startswith("\ufeff"):
        text = text[1:]
    # Lines as the csv module counts them (\n, \r\n or \r; not the other separators
    # str.splitlines knows), so that line numbers match.
    lines = io.StringIO(text, newline="")
    header_index, header_line = next(
        ((i, line) for i, line in enumerate(lines) if line.strip()), (None, "")
    )
    if header_index is None:
        raise InvalidCsv("the file is empty: it needs a header row (first name, number, ...)")
    delimiter, header, known = _header_columns(header_line.rstrip("\r\n"))

    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[_CsvRow] = []
    rejected: list[RejectedRow] = []
    count = 0
    line = 1
    try:
        for cells in reader:
            start, line = line, reader.line_num + 1
            if start <= header_index + 1 or not any(cell.strip() for cell in cells):
                continue
            count += 1
            if count > MAX_IMPORT_ROWS:
                raise InvalidCsv(f"more than {MAX_IMPORT_ROWS} rows: split the file")

            def cell(field: str, cells: list[str] = cells) -> str:
                index = known.get(field)
                return cells[index] if index is not None and index < len(cells) else ""

            raw_number = cell("number")
            shown = one_line(raw_number, 64)
            extra = [c for c in cells[len(header) :] if c.strip()]
            if extra:
                reason = InvalidContact(
                    f"{len(cells)} fields where the header has {len(header)} "
                    "(a delimiter inside a field that is not quoted?)"
                )
                rejected.append(RejectedRow(start, shown, reason.message))
                continue
            try:
                contact = _clean_contact(
                    first_name=cell("first_name"),
                    last_name=cell("last_name"),
                    number=raw_number,
                    email=cell("email"),
                    company=cell("company"),
                    groups=_GROUP_SPLIT.split(cell("groups")),
                )
            except BannerError as exc:
                rejected.append(RejectedRow(start, shown, exc.message))
                continue
            rows.append(_CsvRow(start, shown, contact))
    except csv.Error as exc:
        raise InvalidCsv(f"line {reader.line_num}: {exc}") from None
    return _ParsedCsv(rows, rejected)


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


def _sort_expr() -> sa.ColumnElement[str]:
    return sa.func.lower(_display_expr())


_PHONE_LIKE = re.compile(r"[0-9 +().\-/]+")


def _search_filter(search: str) -> sa.ColumnElement[bool] | None:
    """Every word is in a name, the company, the email or the number (without case); or, for
    a search made of digits and phone separators, its digits are in the number ("612 000"
    finds +33612000001; a national "06 12" finds it too)."""
    query = " ".join(search.split())[:_MAX_SEARCH]
    if not query:
        return None
    fields = (
        col(Contact.first_name),
        col(Contact.last_name),
        col(Contact.company),
        col(Contact.email),
        col(Contact.number),
    )
    words = sa.and_(
        *(
            sa.or_(*(f.ilike(like_contains(w), escape="\\") for f in fields))
            for w in query.split(" ")
        )
    )
    if not _PHONE_LIKE.fullmatch(query):
        return words
    digits = re.sub(r"[^0-9]", "", query)
    variants = {digits, digits.lstrip("0")} - {""}
    return sa.or_(words, *(col(Contact.number).like(f"%{v}%") for v in variants))


def _contact_columns() -> tuple[Any, ...]:
    return (
        col(Contact.id),
        col(Contact.first_name),
        col(Contact.last_name),
        col(Contact.number),
        col(Contact.email),
        col(Contact.company),
    )


def _row(row: Any, groups: tuple[str, ...]) -> ContactRow:
    return ContactRow(
        id=int(row.id),
        first_name=row.first_name,
        last_name=row.last_name,
        number=row.number,
        email=row.email,
        company=row.company,
        groups=groups,
    )


def _id(value: int | None) -> int:
    """A primary key read back from the database (never None there)."""
    assert value is not None
    return int(value)


def _chunks(items: Sequence[T], size: int = _CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _sorted_names(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(names, key=lambda n: (n.casefold(), n)))


def _brief(names: Sequence[str]) -> list[str]:
    return list(names[:_AUDIT_NAMES]) + (
        [f"... {len(names) - _AUDIT_NAMES} more"] if len(names) > _AUDIT_NAMES else []
    )


async def _groups_of(
    session: AsyncSession, contact_ids: Sequence[int]
) -> dict[int, tuple[str, ...]]:
    found: dict[int, list[str]] = {}
    for chunk in _chunks(contact_ids):
        result = await session.execute(
            sa.select(col(ContactGroup.contact_id), col(Group.name))
            .join(Group, col(Group.id) == col(ContactGroup.group_id))
            .where(col(ContactGroup.contact_id).in_(chunk))
        )
        for contact_id, name in result.all():
            found.setdefault(int(contact_id), []).append(name)
    return {cid: _sorted_names(names) for cid, names in found.items()}


async def _load_contact(session: AsyncSession, contact_id: int) -> ContactRow:
    row = (
        await session.execute(sa.select(*_contact_columns()).where(col(Contact.id) == contact_id))
    ).first()
    if row is None:
        raise UnknownContact(f"contact #{contact_id} does not exist")
    groups = await _groups_of(session, [contact_id])
    return _row(row, groups.get(contact_id, ()))


async def _refuse_duplicate(
    session: AsyncSession, number: str, *, other_than: int | None = None
) -> None:
    query = sa.select(*_contact_columns()).where(col(Contact.number) == number)
    if other_than is not None:
        query = query.where(col(Contact.id) != other_than)
    row = (await session.execute(query)).first()
    if row is not None:
        existing = _row(row, ())
        raise DuplicateContact(f"{number} is already {existing.display_name} (#{existing.id})")


async def _group_index(session: AsyncSession) -> dict[str, tuple[int, str]]:
    """Every group by its casefolded name: (id, name)."""
    result = await session.execute(sa.select(col(Group.id), col(Group.name)))
    return {name.casefold(): (_id(gid), name) for gid, name in result.all()}


async def _load_group(session: AsyncSession, group_id: int) -> Group:
    group = await session.get(Group, group_id)
    if group is None:
        raise UnknownGroup(f"group #{group_id} does not exist")
    return group


async def _members(session: AsyncSession, group_id: int) -> int:
    count = await session.scalar(
        sa.select(sa.func.count()).where(col(ContactGroup.group_id) == group_id)
    )
    return int(count or 0)


# --- the service ----------------------------------------------------------------------


async def contact_names(session: AsyncSession, numbers: Iterable[str]) -> dict[str, str]:
    """number → display name ("First Last", else the number) of the numbers that belong to a
    contact, in the caller's session: one query per 5,000 numbers."""
    wanted = sorted(set(numbers))
    names: dict[str, str] = {}
    for chunk in _chunks(wanted):
        result = await session.execute(
            sa.select(col(Contact.number), col(Contact.first_name), col(Contact.last_name)).where(
                col(Contact.number).in_(chunk)
            )
        )
        for number, first, last in result.all():
            names[number] = display_name(first, last, number)
    return names


class PeopleService(Service):
    async def _write(self, actor: Actor, fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """``fn`` in a write transaction, for an active agent (any role: contacts and groups
        are the whole account's).  If another writer got in between its checks and its
        writes (a number or group name taken, a contact deleted), the constraint stops it;
        once more, the checks see the change and name it."""

        async def tx(session: AsyncSession) -> T:
            await load_agent(session, actor)  # Unknown agent: <login>
            return await fn(session)

        try:
            return await self.db.run_write(tx)
        except IntegrityError:
            return await self.db.run_write(tx)

    async def _ensure_groups(
        self, session: AsyncSession, names: Sequence[str]
    ) -> tuple[dict[str, int], list[str]]:
        """Ids of the named groups (by casefolded name), creating the missing ones in one
        statement; and the names created."""
        if not names:
            return {}, []
        index = await _group_index(session)
        missing = [n for n in names if n.casefold() not in index]
        ids = {key: gid for key, (gid, _name) in index.items()}
        if missing:
            # One executemany, then the ids by name (RETURNING in parameter order would
            # fall back to one statement per row on SQLite).
            await session.execute(sa.insert(Group), [{"name": n} for n in missing])
            index = await _group_index(session)
            ids = {key: gid for key, (gid, _name) in index.items()}
        return ids, missing

    async def _set_groups(
        self, session: AsyncSession, actor: Actor, contact_id: int, names: Sequence[str]
    ) -> None:
        """Make the contact's membership exactly ``names``, creating missing groups."""
        ids, created = await self._ensure_groups(session, names)
        for name in created:
            self.audit(session, actor, "group.created", f"group:{ids[name.casefold()]}", name=name)
        await session.execute(
            sa.delete(ContactGroup).where(col(ContactGroup.contact_id) == contact_id)
        )
        if names:
            await session.execute(
                sa.insert(ContactGroup),
                [{"contact_id": contact_id, "group_id": ids[n.casefold()]} for n in names],
            )

    # --- contacts: reads ---

    async def contacts(
        self,
        actor: Actor,
        search: str = "",
        *,
        group_id: int | None = None,
        limit: int = 200,
        after: tuple[str, int] | None = None,
    ) -> list[ContactRow]:
        """One page of contacts, by display name (without case) then id.

        ``search``: see :func:`_search_filter`.  ``group_id``: members of that group only.
        ``after``: the :attr:`ContactRow.page_key` of the last row of the previous page.
        Contacts are shared across the account: any active agent reads them.
        """
        if limit <= 0:
            async with self.db.read() as session:
                await load_agent(session, actor)
            return []
        sort = _sort_expr()
        query = sa.select(*_contact_columns()).order_by(sort, col(Contact.id)).limit(limit)
        condition = _search_filter(search)
        if condition is not None:
            query = query.where(condition)
        if group_id is not None:
            query = query.where(
                col(Contact.id).in_(
                    sa.select(col(ContactGroup.contact_id)).where(
                        col(ContactGroup.group_id) == group_id
                    )
                )
            )
        if after is not None:
            name, last_id = after
            query = query.where(
                sa.tuple_(sort, col(Contact.id)) > sa.tuple_(sa.func.lower(name), last_id)
            )
        async with self.db.read() as session:
            await load_agent(session, actor)
            rows = (await session.execute(query)).all()
            groups = await _groups_of(session, [int(r.id) for r in rows])
        return [_row(r, groups.get(int(r.id), ())) for r in rows]

    async def contact(self, actor: Actor, contact_id: int) -> ContactRow:
        async with self.db.read() as session:
            await load_agent(session, actor)
            return await _load_contact(session, contact_id)

    async def contact_by_number(self, actor: Actor, e164: str) -> ContactRow | None:
        async with self.db.read() as session:
            await load_agent(session, actor)
            row = (
                await session.execute(
                    sa.select(*_contact_columns()).where(col(Contact.number) == e164)
                )
            ).first()
            if row is None:
                return None
            groups = await _groups_of(session, [int(row.id)])
        return _row(row, groups.get(int(row.id), ()))

    async def names_for(self, actor: Actor, numbers: Iterable[str]) -> dict[str, str]:
        """number → display name, for the numbers that belong to a contact (one query for
        up to 5,000 numbers)."""
        async with self.db.read() as session:
            await load_agent(session, actor)
            return await contact_names(session, numbers)

    # --- contacts: writes ---

    async def create_contact(
        self,
        actor: Actor,
        *,
        first_name: str = "",
        last_name: str = "",
        number: str,
        email: str = "",
        company: str = "",
        groups: Sequence[str] = (),
    ) -> ContactRow:
        """A new contact.  The number must be a valid mobile number (stored E.164) that no
        other contact has ("Duplicate contact" names the one that has it); named groups that
        do not exist are created."""
        new = _clean_contact(
            first_name=first_name,
            last_name=last_name,
            number=number,
            email=email,
            company=company,
            groups=groups,
        )

        async def write(session: AsyncSession) -> ContactRow:
            await _refuse_duplicate(session, new.number)
            contact = Contact(
                first_name=new.first_name,
                last_name=new.last_name,
                number=new.number,
                email=new.email,
                company=new.company,
                created_at=self.clock(),
            )
            session.add(contact)
            await session.flush()
            assert contact.id is not None
            await self._set_groups(session, actor, contact.id, new.groups)
            row = await _load_contact(session, contact.id)
            self.audit(
                session,
                actor,
                "contact.created",
                f"contact:{contact.id}",
                number=row.number,
                name=row.display_name,
                groups=_brief(row.groups),
            )
            return row

        return await self._write(actor, write)

    async def update_contact(
        self,
        actor: Actor,
        contact_id: int,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        number: str | None = None,
        email: str | None = None,
        company: str | None = None,
        groups: Sequence[str] | None = None,
    ) -> ContactRow:
        """Change the given fields (None leaves a field as it is); ``groups`` replaces the
        membership.  The same checks as :meth:`create_contact`."""
        changes: dict[str, str] = {}
        if number is not None:
            changes["number"] = validate_number(number)
        for field, value in (
            ("first_name", first_name),
            ("last_name", last_name),
            ("email", email),
            ("company", company),
        ):
            if value is not None:
                changes[field] = _clean_field(field, value)
        new_groups = _clean_groups(groups) if groups is not None else None

        async def write(session: AsyncSession) -> ContactRow:
            before = await _load_contact(session, contact_id)
            changed = {k: v for k, v in changes.items() if getattr(before, k) != v}
            if "number" in changed:
                await _refuse_duplicate(session, changed["number"], other_than=contact_id)
            if changed:
                await session.execute(
                    sa.update(Contact).where(col(Contact.id) == contact_id).values(**changed)
                )
            groups_changed = new_groups is not None and {g.casefold() for g in new_groups} != {
                g.casefold() for g in before.groups
            }
            if new_groups is not None and groups_changed:
                await self._set_groups(session, actor, contact_id, new_groups)
            if not changed and not groups_changed:
                return before
            after = await _load_contact(session, contact_id)
            detail: dict[str, object] = dict(changed)
            if groups_changed:
                detail["groups"] = _brief(after.groups)
            self.audit(session, actor, "contact.updated", f"contact:{contact_id}", **detail)
            return after

        return await self._write(actor, write)

    async def delete_contact(self, actor: Actor, contact_id: int) -> None:
        """Delete the contact and its memberships; its conversations stay (by number)."""

        async def write(session: AsyncSession) -> None:
            row = await _load_contact(session, contact_id)
            await session.execute(
                sa.update(Interaction)
                .where(col(Interaction.contact_id) == contact_id)
                .values(contact_id=None)
            )
            await session.execute(
                sa.delete(ContactGroup).where(col(ContactGroup.contact_id) == contact_id)
            )
            await session.execute(sa.delete(Contact).where(col(Contact.id) == contact_id))
            self.audit(
                session,
                actor,
                "contact.deleted",
                f"contact:{contact_id}",
                number=row.number,
                name=row.display_name,
            )

        await self._write(actor, write)

    # --- groups ---

    async def groups(self, actor: Actor) -> list[GroupRow]:
        """Every group with its member count, by name (without case)."""
        query = (
            sa.select(col(Group.id), col(Group.name), sa.func.count(col(ContactGroup.contact_id)))
            .outerjoin(ContactGroup, col(ContactGroup.group_id) == col(Group.id))
            .group_by(col(Group.id), col(Group.name))
        )
        async with self.db.read() as session:
            await load_agent(session, actor)
            rows = (await session.execute(query)).all()
        groups = [GroupRow(_id(gid), name, int(n)) for gid, name, n in rows]
        return sorted(groups, key=lambda g: (g.name.casefold(), g.id))

    async def create_group(self, actor: Actor, name: str) -> GroupRow:
        clean = clean_group_name(name)

        async def write(session: AsyncSession) -> GroupRow:
            existing = (await _group_index(session)).get(clean.casefold())
            if existing is not None:
                raise DuplicateGroup(f"a group named {existing[1]!r} exists (#{existing[0]})")
            group = Group(name=clean)
            session.add(group)
            await session.flush()
            assert group.id is not None
            self.audit(session, actor, "group.created", f"group:{group.id}", name=clean)
            return GroupRow(group.id, clean, 0)

        return await self._write(actor, write)

    async def rename_group(self, actor: Actor, group_id: int, name: str) -> GroupRow:
        clean = clean_group_name(name)

        async def write(session: AsyncSession) -> GroupRow:
            group = await _load_group(session, group_id)
            existing = (await _group_index(session)).get(clean.casefold())
            if existing is not None and existing[0] != group_id:
                raise DuplicateGroup(f"a group named {existing[1]!r} exists (#{existing[0]})")
            old = group.name
            if old != clean:
                group.name = clean
                await session.flush()
                self.audit(
                    session, actor, "group.renamed", f"group:{group_id}", old=old, name=clean
                )
            return GroupRow(group_id, clean, await _members(session, group_id))

        return await self._write(actor, write)

    async def delete_group(self, actor: Actor, group_id: int) -> None:
        """Delete the group; its contacts stay."""

        async def write(session: AsyncSession) -> None:
            group = await _load_group(session, group_id)
            members = await _members(session, group_id)
            await session.execute(
                sa.delete(ContactGroup).where(col(ContactGroup.group_id) == group_id)
            )
            await session.execute(sa.delete(Group).where(col(Group.id) == group_id))
            self.audit(
                session,
                actor,
                "group.deleted",
                f"group:{group_id}",
                name=group.name,
                members=members,
            )

        await self._write(actor, write)

    async def add_to_group(self, actor: Actor, group_id: int, contact_ids: Iterable[int]) -> int:
        """Add the contacts to the group; the number added (members already in are skipped).
        An id that is no contact refuses the whole call ("Unknown contact")."""
        wanted = sorted(set(contact_ids))

        async def write(session: AsyncSession) -> int:
            group = await _load_group(session, group_id)
            known: set[int] = set()
            already: set[int] = set()
            for chunk in _chunks(wanted):
                known.update(
                    await session.scalars(
                        sa.select(col(Contact.id)).where(col(Contact.id).in_(chunk))
                    )
                )
                already.update(
                    await session.scalars(
                        sa.select(col(ContactGroup.contact_id)).where(
                            col(ContactGroup.group_id) == group_id,
                            col(ContactGroup.contact_id).in_(chunk),
                        )
                    )
                )
            missing = [cid for cid in wanted if cid not in known]
            if missing:
                shown = ", ".join(f"#{cid}" for cid in missing[:_AUDIT_NAMES])
                more = (
                    f" and {len(missing) - _AUDIT_NAMES} more"
                    if len(missing) > _AUDIT_NAMES
                    else ""
                )
                raise UnknownContact(f"no contact {shown}{more}")
            new = [cid for cid in wanted if cid not in already]
            if not new:
                return 0
            await session.execute(
                sa.insert(ContactGroup), [{"contact_id": cid, "group_id": group_id} for cid in new]
            )
            self.audit(
                session,
                actor,
                "group.members_added",
                f"group:{group_id}",
                name=group.name,
                added=len(new),
            )
            return len(new)

        return await self._write(actor, write)

    async def remove_from_group(
        self, actor: Actor, group_id: int, contact_ids: Iterable[int]
    ) -> int:
        """Remove the contacts from the group; the number removed (non-members are ignored)."""
        wanted = sorted(set(contact_ids))

        async def write(session: AsyncSession) -> int:
            group = await _load_group(session, group_id)
            removed = 0
            for chunk in _chunks(wanted):
                result = await session.execute(
                    sa.delete(ContactGroup).where(
                        col(ContactGroup.group_id) == group_id,
                        col(ContactGroup.contact_id).in_(chunk),
                    )
                )
                removed += int(getattr(result, "rowcount", 0) or 0)
            if removed:
                self.audit(
                    session,
                    actor,
                    "group.members_removed",
                    f"group:{group_id}",
                    name=group.name,
                    removed=removed,
                )
            return removed

        return await self._write(actor, write)

    async def group_numbers(self, actor: Actor, group_ids: Sequence[int]) -> list[str]:
        """The numbers of the groups' members, each once, by display name then id (to compose
        one SMS to groups).  An id that is no group is "Unknown group"."""
        wanted = sorted(set(group_ids))
        async with self.db.read() as session:
            await load_agent(session, actor)
            if not wanted:
                return []
            found = set(
                await session.scalars(sa.select(col(Group.id)).where(col(Group.id).in_(wanted)))
            )
            missing = [gid for gid in wanted if gid not in found]
            if missing:
                raise UnknownGroup(", ".join(f"group #{gid} does not exist" for gid in missing))
            members = sa.select(col(ContactGroup.contact_id)).where(
                col(ContactGroup.group_id).in_(wanted)
            )
            numbers = await session.scalars(
                sa.select(col(Contact.number))
                .where(col(Contact.id).in_(members))
                .order_by(_sort_expr(), col(Contact.id))
            )
            return list(numbers)

    # --- import ---

    async def import_csv(self, actor: Actor, text: str) -> ImportReport:
        """Import contacts from CSV text (see the module's column aliases).

        The file is refused as a whole ("Invalid CSV") only when it cannot be read: no header,
        no number column, two columns for one field, more than :data:`MAX_IMPORT_ROWS` rows.
        Otherwise each bad row is reported with its line and reason, and the good rows are
        created together in one transaction (with the groups they name).
        """
        parsed = await asyncio.to_thread(_parse_csv, text)

        async def write(session: AsyncSession) -> ImportReport:
            rejected = list(parsed.rejected)
            existing = {
                number: (_id(cid), display_name(first, last, number))
                for cid, number, first, last in (
                    await session.execute(
                        sa.select(
                            col(Contact.id),
                            col(Contact.number),
                            col(Contact.first_name),
                            col(Contact.last_name),
                        )
                    )
                ).all()
            }
            first_line: dict[str, int] = {}
            good: list[_CsvRow] = []
            for row in parsed.rows:
                number = row.contact.number
                if number in existing:
                    cid, name = existing[number]
                    reason = DuplicateContact(f"{number} is already {name} (#{cid})")
                elif number in first_line:
                    reason = DuplicateContact(f"{number} is already on line {first_line[number]}")
                else:
                    first_line[number] = row.line
                    good.append(row)
                    continue
                rejected.append(RejectedRow(row.line, row.raw_number, reason.message))
            rejected.sort(key=lambda r: r.line)

            names: dict[str, str] = {}
            for row in good:
                for name in row.contact.groups:
                    names.setdefault(name.casefold(), name)
            group_ids, created_groups = await self._ensure_groups(session, list(names.values()))

            now = self.clock()
            for chunk in _chunks(good):
                await session.execute(
                    sa.insert(Contact),
                    [{**row.contact.values(), "created_at": now} for row in chunk],
                )
            # The new ids by number (unique), for the memberships: one executemany above
            # and one query per chunk here, whatever the backend.
            grouped = [row for row in good if row.contact.groups]
            ids: dict[str, int] = {}
            for numbers in _chunks([row.contact.number for row in grouped]):
                result = await session.execute(
                    sa.select(col(Contact.number), col(Contact.id)).where(
                        col(Contact.number).in_(numbers)
                    )
                )
                ids.update({number: _id(cid) for number, cid in result.all()})
            memberships = [
                {"contact_id": ids[row.contact.number], "group_id": group_ids[name.casefold()]}
                for row in grouped
                for name in row.contact.groups
            ]
            for part in _chunks(memberships):
                await session.execute(sa.insert(ContactGroup), list(part))

            self.audit(
                session,
                actor,
                "people.imported",
                "people",
                created=len(good),
                rejected=len(rejected),
                groups_created=len(created_groups),
                groups=_brief(created_groups),
            )
            return ImportReport(len(good), rejected, len(created_groups))

        return await self._write(actor, write)
