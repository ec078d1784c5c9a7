"""Administration, the "Maker" area (SPEC Q1, Q3, Q4, X4): queues and their SMS channel,
queue members, bots, the blacklist and the audit trail.  Admin role only; every change is
validated (each refusal named) and written to the audit trail in the same transaction.

One module per resource; :class:`AdminService` is all of them."""

from __future__ import annotations

from bannertui.domain.errors import InvalidBlacklistEntry, InvalidProfile, InvalidQueue
from bannertui.services.admin.audit import AuditAdmin, AuditRow
from bannertui.services.admin.blacklist import BlacklistAdmin, BlacklistRow, blacklist_number
from bannertui.services.admin.bots import BotAdmin, BotRow
from bannertui.services.admin.numbers import NumberAdmin, NumberRow
from bannertui.services.admin.profiles import ProfileAdmin, ProfileRow, ProfileSettings
from bannertui.services.admin.queues import QueueAdmin, QueueRow, QueueSettings, validate_queue
from bannertui.services.admin.roster import RosterAdmin, RosterRow
from bannertui.services.admin.templates import TemplateAdmin, TemplateRow


class AdminService(
    QueueAdmin,
    BotAdmin,
    BlacklistAdmin,
    AuditAdmin,
    TemplateAdmin,
    NumberAdmin,
    ProfileAdmin,
    RosterAdmin,
):
    """The administration, every resource (the services' ``admin``)."""


__all__ = [
    "AdminService",
    "AuditRow",
    "BlacklistRow",
    "BotRow",
    "InvalidBlacklistEntry",
    "InvalidProfile",
    "InvalidQueue",
    "NumberRow",
    "ProfileRow",
    "ProfileSettings",
    "QueueRow",
    "QueueSettings",
    "RosterRow",
    "TemplateRow",
    "blacklist_number",
    "validate_queue",
]
