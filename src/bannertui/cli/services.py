"""The services: ``bannertui dispatch``, ``bannertui webhook`` and ``bannertui provider-sim``."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer

from bannertui.cli.base import (
    WEBHOOK_NOTIFY_EVERY,
    DbOption,
    app,
    emit,
    fail,
    need_extra,
    with_services,
)


@app.command()
def dispatch(
    once: Annotated[bool, typer.Option(help="Send what is due now, then exit.")] = False,
    concurrency: Annotated[int, typer.Option(min=1, max=256, help="Sends in flight.")] = 32,
    lease_seconds: Annotated[
        float,
        typer.Option(
            min=1, help="A message claimed longer than this by a dead dispatcher is sent again."
        ),
    ] = 30.0,
    db: DbOption = None,
) -> None:
    """Send the outbox through the provider (several dispatchers may run at once)."""
    import math
    import signal

    if not math.isfinite(lease_seconds):
        fail(f"--lease-seconds: {lease_seconds} is not a number of seconds", 2)

    from bannertui.gateway.connectors import ConnectorGateways
    from bannertui.services.dispatch import Dispatcher, DispatchPolicy
    from bannertui.services.inbound import SmppInbound

    async def go(services: Any) -> Any:
        # Each message through its connector's adapter (settings read again every few
        # seconds); SMPP connectors' sessions open now, and what arrives on them (receipts,
        # texts) is stored here.
        provider = ConnectorGateways(
            services.connectors.records_for_services, inbound=SmppInbound(services.inbound)
        )
        await (provider.refresh() if once else provider.start())
        dispatcher = Dispatcher(
            services.db,
            provider,
            DispatchPolicy(concurrency=concurrency, lease_seconds=lease_seconds),
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            return await (dispatcher.run_once() if once else dispatcher.run(stop))
        finally:
            await provider.aclose()

    stats = with_services(db, go, "bannertui dispatch", who="none", service=True)
    emit(
        {
            "claimed": stats.claimed,
            "sent": stats.sent,
            "retried": stats.retried,
            "failed": stats.failed,
        }
    )


@app.command("webhook")
def webhook_cmd(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8090,
    db: DbOption = None,
) -> None:
    """Receive inbound SMS and delivery receipts from the provider (see docs/webhook.md).
    The shared secret comes from BANNERTUI_WEBHOOK_SECRET."""
    need_extra("receiver", "webhook")
    import signal

    from bannertui.web.webhook import WebhookServer, load_webhook_secret

    try:
        secret = load_webhook_secret()
    except ValueError as exc:
        fail(str(exc), 2)

    async def go(services: Any) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            server = WebhookServer(services, secret, host, port)
            await server.start()
        except OSError as exc:
            raise ValueError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
        print(f"webhook receiver listening on {server.url}", flush=True)
        try:
            await stop.wait()
        finally:
            await server.stop()

    with_services(
        db,
        go,
        "bannertui webhook",
        who="none",
        service=True,
        notify_every=WEBHOOK_NOTIFY_EVERY,
    )


@app.command("provider-sim")
def provider_sim(
    host: Annotated[str, typer.Option(help="Address to listen on (loopback).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535)] = 8443,
    cert_dir: Annotated[
        Path | None, typer.Option(help="Where its CA and certificate live (default: data dir).")
    ] = None,
    webhook_url: Annotated[
        str | None,
        typer.Option(help="Receiver base URL for receipts and replies, e.g. http://127.0.0.1:8090"),
    ] = None,
    login: Annotated[
        str | None,
        typer.Option(help="Require Basic auth (password from BANNERTUI_SIM_PASSWORD)."),
    ] = None,
    fail_rate: Annotated[float, typer.Option(min=0, max=1, help="Share of sends refused.")] = 0.0,
    timeout_rate: Annotated[float, typer.Option(min=0, max=1, help="Share that hang.")] = 0.0,
    latency_ms: Annotated[float, typer.Option(min=0, help="Added to every request.")] = 0.0,
    status: Annotated[int, typer.Option(help="HTTP status of refused sends.")] = 503,
    delivery_fail_rate: Annotated[float, typer.Option(min=0, max=1)] = 0.0,
    receipt_delay: Annotated[float, typer.Option(min=0, help="Seconds before receipts.")] = 0.5,
    reply: Annotated[list[str] | None, typer.Option(help="Scripted reply (repeatable).")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed.")] = None,
) -> None:
    """A local HTTPS SMS gateway for demos and tests (loopback; its own CA)."""
    need_extra("demo", "provider-sim")
    from bannertui.config import Secrets, data_dir
    from bannertui.simulator.provider import SimulatorConfig, run_simulator
    from bannertui.web.webhook import load_webhook_secret

    secret = b""
    if webhook_url:
        try:
            secret = load_webhook_secret()
        except ValueError as exc:
            fail(str(exc), 2)
    try:
        config = SimulatorConfig(
            host=host,
            port=port,
            login=login,
            password=Secrets.value(Secrets.of().sim_password) if login else None,
            webhook_url=webhook_url,
            webhook_secret=secret,
            receipt_delay_s=receipt_delay,
            delivery_fail_rate=delivery_fail_rate,
            fail_rate=fail_rate,
            timeout_rate=timeout_rate,
            latency_ms=latency_ms,
            status=status,
            replies=list(reply or []),
            seed=seed,
        )
    except ValueError as exc:
        fail(str(exc), 2)
    try:
        asyncio.run(run_simulator(config, cert_dir or data_dir() / "simulator"))
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    except KeyboardInterrupt:
        pass
