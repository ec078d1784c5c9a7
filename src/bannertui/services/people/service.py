"""People: the service (SPEC I8, I9): contacts and groups, each change audited."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bannertui.domain.actor import Actor
from bannertui.domain.contacts import display_name, search_key
from bannertui.domain.errors import (
    DuplicateContact,
    DuplicateGroup,
    UnknownContact,
    UnknownGroup,
)
from bannertui.domain.phone import validate_number
from bannertui.services.agents import load_agent
from bannertui.services.base import Service
from bannertui.services.people.csv_import import CsvRow, parse_csv
from bannertui.services.people.fields import (
    AUDIT_NAMES,
    ContactRow,
    GroupRow,
    ImportReport,
    RejectedRow,
    clean_contact,
    clean_field,
    clean_group_name,
    clean_groups,
)
from bannertui.services.people.queries import (
    as_id,
    brief_names,
    contact_columns,
    contact_names,
    contact_row,
    group_index,
    groups_of,
    in_chunks,
    load_contact,
    load_group,
    member_count,
    refuse_duplicate,
    search_filter,
    sort_expr,
)
from bannertui.store.models import Contact, ContactGroup, Group, Interaction

S = TypeVar("S", bound=sa.Select[Any])


def _matching(query: S, search: str, group_id: int | None) -> S:
    """``query`` narrowed to the contacts a search and a group select."""
    condition = search_filter(search)
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
    return query


#: The fields a contact's search key is made of, in search_key's order.
SEARCHED = ("first_name", "last_name", "company", "email", "number")

T = TypeVar("T")


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
        index = await group_index(session)
        missing = [n for n in names if n.casefold() not in index]
        ids = {key: gid for key, (gid, _name) in index.items()}
        if missing:
            # One executemany, then the ids by name (RETURNING in parameter order would
            # fall back to one statement per row on SQLite).
            await session.execute(sa.insert(Group), [{"name": n} for n in missing])
            index = await group_index(session)
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

        ``search``: see :func:`search_filter`.  ``group_id``: members of that group only.
        ``after``: the :attr:`ContactRow.page_key` of the last row of the previous page.
        Contacts are shared across the account: any active agent reads them.
        """
        if limit <= 0:
            async with self.db.read() as session:
                await load_agent(session, actor)
            return []
        sort = sort_expr()
        query = _matching(
            sa.select(*contact_columns()).order_by(sort, col(Contact.id)).limit(limit),
            search,
            group_id,
        )
        if after is not None:
            name, last_id = after
            query = query.where(
                sa.tuple_(sort, col(Contact.id)) > sa.tuple_(sa.func.lower(name), last_id)
            )
        async with self.db.read() as session:
            await load_agent(session, actor)
            rows = (await session.execute(query)).all()
            groups = await groups_of(session, [int(r.id) for r in rows])
        return [contact_row(r, groups.get(int(r.id), ())) for r in rows]

    async def contact_count(
        self, actor: Actor, search: str = "", *, group_id: int | None = None
    ) -> int:
        """How many contacts :meth:`contacts` pages through (the same ``search`` and group)."""
        query = _matching(sa.select(sa.func.count()).select_from(Contact), search, group_id)
        async with self.db.read() as session:
            await load_agent(session, actor)
            return int(await session.scalar(query) or 0)

    async def contact(self, actor: Actor, contact_id: int) -> ContactRow:
        async with self.db.read() as session:
            await load_agent(session, actor)
            return await load_contact(session, contact_id)

    async def contact_by_number(self, actor: Actor, e164: str) -> ContactRow | None:
        async with self.db.read() as session:
            await load_agent(session, actor)
            row = (
                await session.execute(
                    sa.select(*contact_columns()).where(col(Contact.number) == e164)
                )
            ).first()
            if row is None:
                return None
            groups = await groups_of(session, [int(row.id)])
        return contact_row(row, groups.get(int(row.id), ()))

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
        new = clean_contact(
            first_name=first_name,
            last_name=last_name,
            number=number,
            email=email,
            company=company,
            groups=groups,
        )

        async def write(session: AsyncSession) -> ContactRow:
            await refuse_duplicate(session, new.number)
            contact = Contact.model_validate({**new.values(), "created_at": self.clock()})
            session.add(contact)
            await session.flush()
            assert contact.id is not None
            await self._set_groups(session, actor, contact.id, new.groups)
            row = await load_contact(session, contact.id)
            self.audit(
                session,
                actor,
                "contact.created",
                f"contact:{contact.id}",
                number=row.number,
                name=row.display_name,
                groups=brief_names(row.groups),
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
                changes[field] = clean_field(field, value)
        new_groups = clean_groups(groups) if groups is not None else None

        async def write(session: AsyncSession) -> ContactRow:
            before = await load_contact(session, contact_id)
            changed = {k: v for k, v in changes.items() if getattr(before, k) != v}
            if "number" in changed:
                await refuse_duplicate(session, changed["number"], other_than=contact_id)
            if changed:
                merged = {f: changed.get(f, getattr(before, f)) for f in SEARCHED}
                await session.execute(
                    sa.update(Contact)
                    .where(col(Contact.id) == contact_id)
                    .values(**changed, search_key=search_key(**merged))
                )
            groups_changed = new_groups is not None and {g.casefold() for g in new_groups} != {
                g.casefold() for g in before.groups
            }
            if new_groups is not None and groups_changed:
                await self._set_groups(session, actor, contact_id, new_groups)
            if not changed and not groups_changed:
                return before
            after = await load_contact(session, contact_id)
            detail: dict[str, object] = dict(changed)
            if groups_changed:
                detail["groups"] = brief_names(after.groups)
            self.audit(session, actor, "contact.updated", f"contact:{contact_id}", **detail)
            return after

        return await self._write(actor, write)

    async def delete_contact(self, actor: Actor, contact_id: int) -> None:
        """Delete the contact and its memberships; its conversations stay (by number)."""

        async def write(session: AsyncSession) -> None:
            row = await load_contact(session, contact_id)
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
        groups = [GroupRow(as_id(gid), name, int(n)) for gid, name, n in rows]
        return sorted(groups, key=lambda g: (g.name.casefold(), g.id))

    async def create_group(self, actor: Actor, name: str) -> GroupRow:
        clean = clean_group_name(name)

        async def write(session: AsyncSession) -> GroupRow:
            existing = (await group_index(session)).get(clean.casefold())
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
            group = await load_group(session, group_id)
            existing = (await group_index(session)).get(clean.casefold())
            if existing is not None and existing[0] != group_id:
                raise DuplicateGroup(f"a group named {existing[1]!r} exists (#{existing[0]})")
            old = group.name
            if old != clean:
                group.name = clean
                await session.flush()
                self.audit(
                    session, actor, "group.renamed", f"group:{group_id}", old=old, name=clean
                )
            return GroupRow(group_id, clean, await member_count(session, group_id))

        return await self._write(actor, write)

    async def delete_group(self, actor: Actor, group_id: int) -> None:
        """Delete the group; its contacts stay."""

        async def write(session: AsyncSession) -> None:
            group = await load_group(session, group_id)
            members = await member_count(session, group_id)
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
            group = await load_group(session, group_id)
            known: set[int] = set()
            already: set[int] = set()
            for chunk in in_chunks(wanted):
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
                shown = ", ".join(f"#{cid}" for cid in missing[:AUDIT_NAMES])
                more = (
                    f" and {len(missing) - AUDIT_NAMES} more" if len(missing) > AUDIT_NAMES else ""
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
            group = await load_group(session, group_id)
            removed = 0
            for chunk in in_chunks(wanted):
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
                .order_by(sort_expr(), col(Contact.id))
            )
            return list(numbers)

    # --- import ---

    async def import_csv(
        self, actor: Actor, text: str, *, progress: Callable[[int, int], None] | None = None
    ) -> ImportReport:
        """Import contacts from CSV text (see the module's column aliases).

        The file is refused as a whole ("Invalid CSV") only when it cannot be read: no header,
        no number column, two columns for one field, more than :data:`MAX_IMPORT_ROWS` rows.
        Otherwise each bad row is reported with its line and reason, and the good rows are
        created together in one transaction (with the groups they name).
        ``progress(lines read, lines in all)`` is called on the caller's event loop while the
        rows are read and checked, and once at the end.
        """
        report_progress: Callable[[int, int], None] | None = None
        if progress is not None:
            loop = asyncio.get_running_loop()
            call = progress

            def report_progress(done: int, total: int) -> None:
                loop.call_soon_threadsafe(call, done, total)

        parsed = await asyncio.to_thread(parse_csv, text, report_progress)

        async def write(session: AsyncSession) -> ImportReport:
            rejected = list(parsed.rejected)
            existing = {
                number: (as_id(cid), display_name(first, last, number))
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
            good: list[CsvRow] = []
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
            for chunk in in_chunks(good):
                await session.execute(
                    sa.insert(Contact),
                    [{**row.contact.values(), "created_at": now} for row in chunk],
                )
            # The new ids by number (unique), for the memberships: one executemany above
            # and one query per chunk here, whatever the backend.
            grouped = [row for row in good if row.contact.groups]
            ids: dict[str, int] = {}
            for numbers in in_chunks([row.contact.number for row in grouped]):
                result = await session.execute(
                    sa.select(col(Contact.number), col(Contact.id)).where(
                        col(Contact.number).in_(numbers)
                    )
                )
                ids.update({number: as_id(cid) for number, cid in result.all()})
            memberships = [
                {"contact_id": ids[row.contact.number], "group_id": group_ids[name.casefold()]}
                for row in grouped
                for name in row.contact.groups
            ]
            for part in in_chunks(memberships):
                await session.execute(sa.insert(ContactGroup), list(part))

            self.audit(
                session,
                actor,
                "people.imported",
                "people",
                created=len(good),
                rejected=len(rejected),
                groups_created=len(created_groups),
                groups=brief_names(created_groups),
            )
            return ImportReport(len(good), rejected, len(created_groups))

        report = await self._write(actor, write)
        if progress is not None:
            lines = text.count("\n") + 1
            progress(lines, lines)
        return report
