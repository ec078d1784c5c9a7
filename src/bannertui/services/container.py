"""All services over one database, built once by the CLI and handed to the App.

``gateways`` is the SMS gateway adapter the caller chose (the services only know the port,
:mod:`bannertui.services.gateway`); without it, "Test connection" says none was given."""

from __future__ import annotations

from bannertui.services.accounts import AccountService
from bannertui.services.admin import AdminService
from bannertui.services.agents import AgentService
from bannertui.services.base import Clock, system_clock
from bannertui.services.conversations import ConversationService
from bannertui.services.drafts import DraftService
from bannertui.services.gateway import GatewayFactory
from bannertui.services.inbound import InboundService
from bannertui.services.inbox import InboxService
from bannertui.services.outbound import OutboundService
from bannertui.services.people import PeopleService
from bannertui.services.provider_settings import ProviderSettingsService
from bannertui.services.routing import RoutingService
from bannertui.services.supervisor import SupervisorService
from bannertui.services.voice import VoiceService
from bannertui.services.web_login import WebLoginService
from bannertui.store.database import Database


class Services:
    def __init__(
        self, db: Database, clock: Clock = system_clock, *, gateways: GatewayFactory | None = None
    ) -> None:
        self.db = db
        self.accounts = AccountService(db, clock)
        self.agents = AgentService(db, clock)
        self.outbound = OutboundService(db, clock)
        self.conversations = ConversationService(db, clock)
        self.drafts = DraftService(db, clock)
        self.inbound = InboundService(db, clock)
        self.inbox = InboxService(db, clock)
        self.provider = ProviderSettingsService(db, clock, gateways)
        self.voice = VoiceService(db, clock)
        self.routing = RoutingService(db, clock)
        self.supervisor = SupervisorService(db, clock)
        self.admin = AdminService(db, clock)
        self.people = PeopleService(db, clock)
        self.web = WebLoginService(db, clock)
