"""The demo's processes in one event loop: provider simulator, webhook receiver, dispatcher.

``bannertui demo`` runs them inside the app (as one worker) so a fresh machine gets a working
SMS loop with no configuration and no network: sends go to the simulator over loopback HTTPS
(its own CA, trusted through the account's CA file), receipts and scripted replies come back
to the receiver signed with a secret generated on first use.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bannertui.domain.enums import ConnectorType
from bannertui.files import write_private
from bannertui.gateway.connectors import ConnectorGateways
from bannertui.services.dispatch import Dispatcher, DispatchPolicy
from bannertui.services.inbound import SmppInbound
from bannertui.simulator.provider import Simulator, SimulatorConfig, make_tls
from bannertui.simulator.smsc import DEMO_SYSTEM_ID, ReceivedMessage, SmscConfig, SmscSimulator
from bannertui.simulator.twilio import DEMO_NUMBERS, TwilioSimConfig, TwilioSimulator
from bannertui.web.serving import TlsFiles
from bannertui.web.webhook import WebhookServer

if TYPE_CHECKING:
    from bannertui.services import Services

log = logging.getLogger("bannertui.runtime")

#: The demo dispatcher's poll, for messages it is not woken for (see DemoRuntime.run).
DEMO_POLL_SECONDS = 2.0

DEMO_REPLIES = [
    "Thanks for your message! 👍",
    "Great, see you then.",
    "Can you call me back after 5pm?",
    "STOP",
    "Perfect, thank you.",
]


def secret_file(path: Path) -> bytes:
    """A random secret kept in ``path`` (created owner-only on first use)."""
    try:
        value = path.read_bytes().strip()
        if len(value) >= 32:
            return value
    except FileNotFoundError:
        pass
    value = secrets.token_hex(32).encode("ascii")
    write_private(path, value)
    return value


@dataclass
class DemoRuntime:
    services: Services
    state_dir: Path
    replies: list[str] = field(default_factory=lambda: list(DEMO_REPLIES))
    receipt_delay_s: float = 1.5
    reply_delay_s: float = 5.0
    simulator: Simulator | None = None
    twilio: TwilioSimulator | None = None
    smsc: SmscSimulator | None = None
    webhook: WebhookServer | None = None
    _background: set[asyncio.Task[None]] = field(default_factory=set)

    async def run(self, ready: asyncio.Event | None = None) -> None:
        """Start everything, point the connectors at the simulators, dispatch until
        cancelled."""
        secret = secret_file(self.state_dir / "webhook-secret")
        tls = make_tls(self.state_dir / "simulator")
        async with WebhookServer(self.services, secret) as webhook:
            self.webhook = webhook
            config = SimulatorConfig(
                webhook_url=webhook.url,
                webhook_secret=secret,
                receipt_delay_s=self.receipt_delay_s,
                replies=self.replies,
                reply_delay_s=self.reply_delay_s,
            )
            async with contextlib.AsyncExitStack() as stack:
                sim = await stack.enter_async_context(Simulator(config, tls))
                self.simulator = sim
                await self.services.provider.update(
                    actor="system",
                    url=sim.url,
                    auth_enabled=False,
                    login=None,
                    ca_file=str(tls.ca),
                )
                self.twilio = await self._twilio(stack, webhook, tls)
                self.smsc = await self._smsc(stack)
                # Each message through its connector's simulator.  What this console queues
                # wakes the dispatcher at once (Database.committed): the poll is for what
                # comes due (a schedule) and for other processes.  A 0.25 s poll was half of
                # the console's CPU at rest (issue #23 benchmarks).
                gateways = ConnectorGateways(
                    self.services.connectors.records_for_services,
                    secrets_dir=self.services.secrets_dir,
                    inbound=SmppInbound(self.services.inbound),
                )
                stack.push_async_callback(gateways.aclose)
                await gateways.start()
                dispatcher = Dispatcher(
                    self.services.db, gateways, DispatchPolicy(poll_seconds=DEMO_POLL_SECONDS)
                )
                log.info("demo runtime: simulator %s, webhook %s", sim.url, webhook.url)
                if ready is not None:
                    ready.set()
                await dispatcher.run()

    async def _twilio(
        self, stack: contextlib.AsyncExitStack, webhook: WebhookServer, tls: TlsFiles
    ) -> TwilioSimulator | None:
        """The Twilio simulator for the first Twilio connector (the demo's "Twilio"), which
        is pointed at it: its numbers are the connector's, its callbacks come to our
        receiver."""
        records = await self.services.connectors.records_for_services()
        rec = next((r for r in records if r.type is ConnectorType.TWILIO), None)
        if rec is None:
            return None
        numbers = await self.services.connectors.numbers_of(rec.id)
        config = TwilioSimConfig(
            numbers=numbers or list(DEMO_NUMBERS),
            inbound_url=f"{webhook.url}/twilio/{rec.id}/inbound",
            receipt_delay_s=self.receipt_delay_s,
            replies=self.replies,
            reply_delay_s=self.reply_delay_s,
        )
        sim = await stack.enter_async_context(TwilioSimulator(config, tls))
        await self.services.connectors.edit(
            "system",
            rec.id,
            settings={
                "account_sid": config.account_sid,
                "api_base": sim.base_url,
                "public_url": webhook.url,
                "ca_file": str(tls.ca),
            },
            secret=config.auth_token,
        )
        log.info("demo runtime: Twilio simulator %s for connector %s", sim.base_url, rec.name)
        return sim

    async def _smsc(self, stack: contextlib.AsyncExitStack) -> SmscSimulator | None:
        """The SMSC simulator for the first SMPP connector (the demo's "Carrier SMPP"), which
        is pointed at it (loopback, a free port, a fresh password); like the other
        simulators, it answers some messages with a text from the mobile."""
        records = await self.services.connectors.records_for_services()
        rec = next((r for r in records if r.type is ConnectorType.SMPP), None)
        if rec is None:
            return None
        system_id = str(rec.settings.get("system_id") or DEMO_SYSTEM_ID)
        password = secrets.token_hex(4)  # SMPP 3.4: 8 characters at most
        config = SmscConfig(accounts={system_id: password}, receipt_delay=self.receipt_delay_s)
        sim = await stack.enter_async_context(SmscSimulator(config))
        replies = iter(self.replies * 1000)

        def answer(message: ReceivedMessage) -> None:
            text = next(replies, None)
            if text is not None:
                task = asyncio.get_running_loop().create_task(self._smsc_reply(sim, message, text))
                self._background.add(task)
                task.add_done_callback(self._background.discard)

        sim.on_message = answer
        stack.push_async_callback(self._cancel_background)
        await self.services.connectors.edit(
            "system",
            rec.id,
            settings={**rec.settings, "host": sim.host, "port": sim.port, "system_id": system_id},
            secret=password,
        )
        log.info(
            "demo runtime: SMSC simulator %s:%s for connector %s", sim.host, sim.port, rec.name
        )
        return sim

    async def _cancel_background(self) -> None:
        tasks = list(self._background)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)

    async def _smsc_reply(self, sim: SmscSimulator, message: ReceivedMessage, text: str) -> None:
        await asyncio.sleep(self.reply_delay_s)
        with contextlib.suppress(Exception):  # the demo stopping, no receiver bound: no reply
            await sim.send_mo(message.destination, message.source, text)
