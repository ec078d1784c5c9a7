"""All services over one database, built once by the CLI and handed to the App.

Each service is made (and its module imported) when first used: the console's first screen
loads what the Banner needs, not the administration's, the inbox's or the people's.
``gateways`` is the SMS gateway adapter the caller chose (the services only know the port,
:mod:`bannertui.services.gateway`); without it, "Test connection" says none was given."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from bannertui.services.base import Clock, system_clock

if TYPE_CHECKING:
    from bannertui.services.accounts import AccountService
    from bannertui.services.admin import AdminService
    from bannertui.services.agents import AgentService
    from bannertui.services.connectors import ConnectorService
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
        self,
        db: Database,
        clock: Clock = system_clock,
        *,
        gateways: GatewayFactory | None = None,
        secrets_dir: Path | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.gateways = gateways
        #: Where the connectors' secret files are (None: beside the configuration file).
        self.secrets_dir = secrets_dir

    @cached_property
    def connectors(self) -> ConnectorService:
        from bannertui.services.connectors import ConnectorService

        return ConnectorService(self.db, self.clock, self.gateways, self.secrets_dir)

    @cached_property
    def accounts(self) -> AccountService:
        from bannertui.services.accounts import AccountService

        return AccountService(self.db, self.clock)

    @cached_property
    def agents(self) -> AgentService:
        from bannertui.services.agents import AgentService

        return AgentService(self.db, self.clock)

    @cached_property
    def outbound(self) -> OutboundService:
        from bannertui.services.outbound import OutboundService

        return OutboundService(self.db, self.clock)

    @cached_property
    def conversations(self) -> ConversationService:
        from bannertui.services.conversations import ConversationService

        return ConversationService(self.db, self.clock)

    @cached_property
    def drafts(self) -> DraftService:
        from bannertui.services.drafts import DraftService

        return DraftService(self.db, self.clock)

    @cached_property
    def inbound(self) -> InboundService:
        from bannertui.services.inbound import InboundService

        return InboundService(self.db, self.clock)

    @cached_property
    def inbox(self) -> InboxService:
        from bannertui.services.inbox import InboxService

        return InboxService(self.db, self.clock)

    @cached_property
    def provider(self) -> ProviderSettingsService:
        from bannertui.services.provider_settings import ProviderSettingsService

        return ProviderSettingsService(self.db, self.clock, self.gateways)

    @cached_property
    def voice(self) -> VoiceService:
        from bannertui.services.voice import VoiceService

        return VoiceService(self.db, self.clock)

    @cached_property
    def routing(self) -> RoutingService:
        from bannertui.services.routing import RoutingService

        return RoutingService(self.db, self.clock)

    @cached_property
    def supervisor(self) -> SupervisorService:
        from bannertui.services.supervisor import SupervisorService

        return SupervisorService(self.db, self.clock)

    @cached_property
    def admin(self) -> AdminService:
        from bannertui.services.admin import AdminService

        return AdminService(self.db, self.clock)

    @cached_property
    def people(self) -> PeopleService:
        from bannertui.services.people import PeopleService

        return PeopleService(self.db, self.clock)

    @cached_property
    def web(self) -> WebLoginService:
        from bannertui.services.web_login import WebLoginService

        return WebLoginService(self.db, self.clock)
