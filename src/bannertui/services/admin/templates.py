"""Administration: templates and the queues they belong to.  Administrators only; each change is
audited."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bannertui.domain.actor import Actor
from bannertui.domain.enums import MessageType
from bannertui.domain.errors import (
    BannerError,
    InvalidTemplate,
    UnknownQueue,
    refuse_fields,
)
from bannertui.domain.sms import MAX_CREDITS, measure
from bannertui.domain.templates import variables
from bannertui.services.admin.base import AdminBase
from bannertui.services.routing import check_bot_template
from bannertui.store.models import (
    Bot,
    Queue,
    Template,
    TemplateQueue,
)


@dataclass(frozen=True, slots=True)
class TemplateRow:
    id: int
    name: str
    text: str
    kind: str
    queues: tuple[str, ...]
    variables: list[str]


#: The template form's fields, top to bottom: the order refusals are named in.
TEMPLATE_FORM_ORDER = ("name", "kind", "queues", "text")


class TemplateAdmin(AdminBase):
    async def templates(self, actor: Actor) -> list[TemplateRow]:
        async with self.db.read() as session:
            await self._admin(session, actor)
            links: dict[int, list[str]] = {}
            for tid, qname in (
                await session.execute(
                    sa.select(col(TemplateQueue.template_id), col(Queue.name))
                    .join(Queue, col(Queue.id) == col(TemplateQueue.queue_id))
                    .order_by(col(Queue.name))
                )
            ).all():
                links.setdefault(tid, []).append(qname)
            rows = (
                await session.scalars(
                    sa.select(Template)
                    .where(col(Template.deleted).is_(False))
                    .order_by(col(Template.name))
                )
            ).all()
            return [
                TemplateRow(
                    t.id or 0,
                    t.name,
                    t.text,
                    t.kind,
                    tuple(links.get(t.id or 0, ())),
                    variables(t.text),
                )
                for t in rows
            ]

    async def save_template(
        self,
        actor: Actor,
        *,
        name: str,
        text: str,
        kind: str = MessageType.NOTIFICATION,
        queues: Sequence[str] = (),
        template_id: int | None = None,
    ) -> int:
        """A template (Invalid template: empty text, over 8 credits, a bad name; Template
        variables missing: a text a bot using it cannot always fill); ``queues`` replaces the
        queues that offer it in Smart conversations."""
        await self.require_admin(actor)
        name = name.strip()
        errors: dict[str, str] = {}
        named: dict[str, BannerError] = {}
        if not name or len(name) > 120 or not name.isprintable():
            errors["name"] = "name: 1 to 120 printable characters"
        if kind not in MessageType._value2member_map_:
            errors["kind"] = f"kind {kind!r}: NOTIFICATION or MARKETING"
        if not text.strip():
            errors["text"] = "the text is empty"
        elif len(text) > 5000:
            errors["text"] = "the text is longer than 5,000 characters"
        else:
            measured = measure(text)
            if measured.over_limit:
                errors["text"] = f"the text needs {measured.credits} credits; {MAX_CREDITS} at most"

        async def fn(session: AsyncSession) -> int:
            template = (
                Template(name=name)
                if template_id is None
                else await session.get(Template, template_id)
            )
            if template is None or template.deleted:
                raise InvalidTemplate(f"no template #{template_id}")
            clash = await session.scalar(
                sa.select(col(Template.id)).where(
                    sa.func.lower(col(Template.name)) == name.lower(),
                    col(Template.id) != (template_id or 0),
                    col(Template.deleted).is_(False),
                )
            )
            # What only the database knows, named with the rest at once (the form's order).
            if clash is not None and "name" not in errors:
                errors["name"] = f"another template is named {name!r}"
            ids: list[int] = []
            try:
                ids = await _queue_ids(session, queues)
            except UnknownQueue as exc:
                errors["queues"], named["queues"] = f"queues: {exc.message}", exc
            if template_id is not None and "text" not in errors:
                used_by_bot = await session.scalar(
                    sa.select(col(Bot.id)).where(col(Bot.template_id) == template_id).limit(1)
                )
                if used_by_bot is not None:
                    try:
                        check_bot_template(text)
                    except BannerError as exc:
                        errors["text"], named["text"] = exc.message, exc
            refuse_fields(errors, TEMPLATE_FORM_ORDER, InvalidTemplate, named)
            template.name, template.text, template.kind = name, text, kind
            session.add(template)
            await session.flush()
            await session.execute(
                sa.delete(TemplateQueue).where(col(TemplateQueue.template_id) == template.id)
            )
            for qid in ids:
                session.add(TemplateQueue(template_id=template.id or 0, queue_id=qid))
            self.audit(
                session,
                actor,
                "template.created" if template_id is None else "template.updated",
                f"template:{name}",
                kind=kind,
                queues=list(queues),
            )
            return int(template.id or 0)

        return int(await self._write(actor, fn))

    async def delete_template(self, actor: Actor, template_id: int) -> None:
        """Templates are marked deleted (past messages and bots keep their reference); a bot
        using it stops sending (Invalid template)."""

        async def fn(session: AsyncSession) -> None:
            template = await session.get(Template, template_id)
            if template is None or template.deleted:
                raise InvalidTemplate(f"no template #{template_id}")
            template.deleted = True
            template.name = f"{template.name} (deleted #{template.id})"[:120]
            self.audit(session, actor, "template.deleted", f"template:{template_id}")

        await self._write(actor, fn)


async def _queue_ids(session: AsyncSession, names: Sequence[str]) -> list[int]:
    wanted = [n.strip() for n in names if n.strip()]
    found = dict(
        (
            await session.execute(
                sa.select(col(Queue.name), col(Queue.id)).where(col(Queue.name).in_(wanted))
            )
        ).all()
    )
    missing = [n for n in wanted if n not in found]
    if missing:
        raise UnknownQueue(", ".join(missing))
    return [int(found[n] or 0) for n in dict.fromkeys(wanted)]
