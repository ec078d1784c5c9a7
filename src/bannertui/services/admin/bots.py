"""Administration: bots of a queue: a template sent on start, on finish or after a timeout (SPEC
Q3).  Administrators only; each change is audited."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bannertui.domain.actor import Actor
from bannertui.domain.enums import BotTrigger
from bannertui.domain.errors import (
    InvalidQueue,
    InvalidTemplate,
    UnknownQueue,
)
from bannertui.services.admin.base import AdminBase
from bannertui.services.routing import check_bot_template
from bannertui.store.models import (
    Bot,
    Queue,
    Template,
    TemplateQueue,
)


@dataclass(frozen=True, slots=True)
class BotRow:
    id: int
    queue: str
    trigger: str
    template: str
    enabled: bool


class BotAdmin(AdminBase):
    async def bots(self, actor: Actor) -> list[BotRow]:
        async with self.db.read() as session:
            await self._admin(session, actor)
            rows = (
                await session.execute(
                    sa.select(
                        col(Bot.id),
                        col(Queue.name),
                        col(Bot.trigger),
                        col(Template.name),
                        col(Bot.enabled),
                    )
                    .join(Queue, col(Queue.id) == col(Bot.queue_id))
                    .join(Template, col(Template.id) == col(Bot.template_id))
                    .order_by(col(Queue.name), col(Bot.trigger), col(Bot.id))
                )
            ).all()
            return [BotRow(int(i or 0), q, t, n, e) for i, q, t, n, e in rows]

    async def add_bot(self, actor: Actor, queue_id: int, trigger: str, template_name: str) -> int:
        """Q3: a scripted message of the queue, from one of the queue's templates (Invalid
        template if it is empty, deleted, unknown or another queue's; Template variables
        missing if a bot cannot always fill it: see :func:`check_bot_template`)."""
        await self.require_admin(actor)
        if trigger not in BotTrigger._value2member_map_:
            allowed = ", ".join(t.value for t in BotTrigger)
            raise InvalidQueue(f"bot trigger {trigger!r}: one of {allowed}")

        async def fn(session: AsyncSession) -> int:
            queue = await session.get(Queue, queue_id)
            if queue is None:
                raise UnknownQueue(f"no queue #{queue_id}")
            template = await session.scalar(
                sa.select(Template).where(
                    col(Template.name) == template_name, col(Template.deleted).is_(False)
                )
            )
            if template is None or not template.text.strip():
                raise InvalidTemplate(f"no usable template named {template_name!r}")
            check_bot_template(template.text)
            offered = await session.scalar(
                sa.select(col(TemplateQueue.queue_id)).where(
                    col(TemplateQueue.template_id) == template.id,
                    col(TemplateQueue.queue_id) == queue_id,
                )
            )
            if offered is None:
                raise InvalidTemplate(
                    f"{template.name!r} is not a template of {queue.name}: "
                    "offer it to the queue first (Templates tab)"
                )
            bot = Bot(queue_id=queue_id, trigger=trigger, template_id=template.id or 0)
            session.add(bot)
            await session.flush()
            self.audit(
                session,
                actor,
                "bot.added",
                f"queue:{queue.name}",
                trigger=trigger,
                template=template.name,
            )
            return int(bot.id or 0)

        return int(await self._write(actor, fn))

    async def set_bot_enabled(self, actor: Actor, bot_id: int, enabled: bool) -> None:
        """Switch a bot on or off; on again only while a bot can fill its template (one stored
        before that rule may not: Template variables missing)."""

        async def fn(session: AsyncSession) -> None:
            bot = await session.get(Bot, bot_id)
            if bot is None:
                raise InvalidQueue(f"no bot #{bot_id}")
            if enabled:
                text = await session.scalar(
                    sa.select(col(Template.text)).where(col(Template.id) == bot.template_id)
                )
                check_bot_template(text or "")
            bot.enabled = enabled
            self.audit(
                session, actor, "bot.enabled" if enabled else "bot.disabled", f"bot:{bot_id}"
            )

        await self._write(actor, fn)

    async def remove_bot(self, actor: Actor, bot_id: int) -> None:
        async def fn(session: AsyncSession) -> None:
            bot = await session.get(Bot, bot_id)
            if bot is None:
                raise InvalidQueue(f"no bot #{bot_id}")
            await session.delete(bot)
            self.audit(session, actor, "bot.removed", f"bot:{bot_id}")

        await self._write(actor, fn)
