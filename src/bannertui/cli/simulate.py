"""``bannertui simulate``: calls and inbound SMS in a running demo or test;
``bannertui twilio-sim``, the Twilio-compatible simulator (``provider-sim``'s companion); and
``bannertui smsc-sim``, the SMPP 3.4 SMSC simulator."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bannertui.cli.base import (
    DbOption,
    DemoOption,
    app,
    emit,
    fail,
    need_extra,
    read_password,
    simulate_app,
    target_db,
    with_services,
)
from bannertui.domain.actor import Actor

if TYPE_CHECKING:
    from bannertui.simulator.smsc import SmscSimulator
    from bannertui.simulator.twilio import TwilioSimConfig


@simulate_app.command("call")
def simulate_call(
    number: Annotated[str, typer.Argument(help="The caller, international format.")],
    agent: Annotated[
        str | None, typer.Option(help="Agent who takes the call (default: least busy available).")
    ] = None,
    demo: DemoOption = False,
    db: DbOption = None,
) -> None:
    """An incoming voice call from the CTI feed: a voice interaction for an agent (B11)."""
    raw = number

    async def go(services: Any, *actor: Actor) -> Any:
        return await services.voice.incoming_call(raw, agent)

    call = with_services(target_db(db, demo), go, who="none" if demo else "admin")
    emit({"interaction": call.id, "channel": "voice", "from": call.remote_number})


@simulate_app.command("sms")
def simulate_sms(
    sender: Annotated[str, typer.Option("--from", help="The customer's number.")],
    to: Annotated[str, typer.Option(help="One of our numbers (a queue's number routes it).")],
    text: Annotated[str, typer.Option(help="The message.")],
    demo: DemoOption = False,
    db: DbOption = None,
) -> None:
    """An inbound SMS, stored as the webhook receiver would store it."""
    import uuid

    body = text

    async def go(services: Any, *actor: Actor) -> Any:
        return await services.inbound.receive(sender, to, body, f"sim-cli-{uuid.uuid4().hex}")

    result = with_services(target_db(db, demo), go, who="none" if demo else "admin")
    emit({"message": result.message.id, "interaction": result.message.interaction_id})


@app.command("twilio-sim")
def twilio_sim(
    host: Annotated[str, typer.Option(help="Address to listen on (loopback).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="0: a free port.")] = 8444,
    cert_dir: Annotated[
        Path | None, typer.Option(help="Where its CA and certificate live (default: data dir).")
    ] = None,
    account_sid: Annotated[
        str | None,
        typer.Option(
            help="The account (AC + 32 hex digits; default: the demo's).  Its auth "
            "token comes from BANNERTUI_SIM_PASSWORD, else the demo's."
        ),
    ] = None,
    number: Annotated[
        list[str] | None,
        typer.Option(
            help="One of the account's numbers, a valid 'From' (repeatable; "
            "default: Twilio's test number +15005550006)."
        ),
    ] = None,
    messaging_service_sid: Annotated[
        str | None, typer.Option(help="A Messaging Service (MG…) that sends from the first number.")
    ] = None,
    inbound_url: Annotated[
        str | None,
        typer.Option(help="Where replies go, e.g. http://127.0.0.1:8090/twilio/2/inbound"),
    ] = None,
    callbacks: Annotated[
        bool, typer.Option(help="Post the status callbacks that sends ask for.")
    ] = True,
    fail_rate: Annotated[float, typer.Option(min=0, max=1, help="Share of sends refused.")] = 0.0,
    timeout_rate: Annotated[float, typer.Option(min=0, max=1, help="Share that hang.")] = 0.0,
    lose_response_rate: Annotated[
        float, typer.Option(min=0, max=1, help="Share accepted whose answer is lost (504 late).")
    ] = 0.0,
    latency_ms: Annotated[float, typer.Option(min=0, help="Added to every send.")] = 0.0,
    status: Annotated[int, typer.Option(help="HTTP status of refused sends.")] = 503,
    delivery_fail_rate: Annotated[float, typer.Option(min=0, max=1)] = 0.0,
    receipt_delay: Annotated[
        float, typer.Option(min=0, help="Seconds from acceptance to delivered.")
    ] = 0.5,
    reply: Annotated[list[str] | None, typer.Option(help="Scripted reply (repeatable).")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed.")] = None,
) -> None:
    """A local Twilio-compatible HTTPS API for demos, tests and benchmarks (loopback; its
    own CA).  Prints where it listens (never the token); stops on Ctrl+C or SIGTERM."""
    need_extra("demo", "twilio-sim")
    import asyncio

    from bannertui.config import Secrets, data_dir
    from bannertui.simulator import twilio

    values: dict[str, Any] = {
        "host": host,
        "port": port,
        "auth_token": Secrets.value(Secrets.of().sim_password) or twilio.DEMO_AUTH_TOKEN,
        "inbound_url": inbound_url,
        "messaging_service_sid": messaging_service_sid,
        "fail_rate": fail_rate,
        "timeout_rate": timeout_rate,
        "lose_response_rate": lose_response_rate,
        "latency_ms": latency_ms,
        "status": status,
        "delivery_fail_rate": delivery_fail_rate,
        "receipt_delay_s": receipt_delay,
        "replies": list(reply or []),
        "seed": seed,
    }
    if account_sid is not None:
        values["account_sid"] = account_sid
    if number:
        values["numbers"] = list(number)
    try:
        config = twilio.TwilioSimConfig(**values)
    except ValueError as exc:
        fail(str(exc), 2)
    try:
        asyncio.run(_serve_twilio(config, cert_dir or data_dir() / "simulator", callbacks))
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    except KeyboardInterrupt:
        pass


async def _serve_twilio(config: TwilioSimConfig, cert_dir: Path, callbacks: bool) -> None:
    """:func:`~bannertui.simulator.twilio.run_twilio_simulator`, whose simulator posts the
    status callbacks sends ask for; without ``callbacks``, one that records them and posts
    none (the simulator has no such setting: a sender that asks is simply not answered)."""
    import asyncio
    import signal

    from bannertui.simulator import twilio
    from bannertui.simulator.provider import make_tls

    if callbacks:
        await twilio.run_twilio_simulator(config, cert_dir)
        return

    class Silent(twilio.TwilioSimulator):
        async def _callback(self, message: twilio.TwilioMessage) -> None:
            return None

    tls = make_tls(cert_dir)
    async with Silent(config, tls) as sim:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        print(
            f"Twilio simulator listening on {sim.base_url} "
            f"(account {config.account_sid}, CA: {tls.ca})",
            flush=True,
        )
        stopped = asyncio.create_task(stop.wait())
        serving = asyncio.create_task(sim.wait())
        try:
            await asyncio.wait({stopped, serving}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
            serving.cancel()
            await asyncio.gather(stopped, serving, return_exceptions=True)
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
    if serving.done() and not serving.cancelled() and serving.exception() is not None:
        raise RuntimeError("the Twilio simulator stopped unexpectedly") from serving.exception()


#: Where ``smsc-sim`` takes its password from when not from standard input.
SMSC_SIM_PASSWORD_ENV = "BANNERTUI_SMSC_SIM_PASSWORD"


@app.command("smsc-sim")
def smsc_sim(
    host: Annotated[str, typer.Option(help="Address to listen on (loopback).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="0: a free port.")] = 2775,
    system_id: Annotated[
        str | None,
        typer.Option(
            help="The account ESMEs bind with (default: the demo's, 'bannertui').  Its "
            f"password: --password-stdin, else {SMSC_SIM_PASSWORD_ENV}, else (the demo's "
            "account only) the demo's."
        ),
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    receipt_delay: Annotated[
        float, typer.Option(min=0, help="Seconds from a part's submit_sm_resp to its receipt.")
    ] = 0.5,
    receipt_state: Annotated[
        str, typer.Option(help="The receipts' state (DELIVRD, UNDELIV, REJECTD, EXPIRED, ...).")
    ] = "DELIVRD",
    fail_to: Annotated[
        list[str] | None,
        typer.Option(help="A destination number whose receipts say UNDELIV (repeatable)."),
    ] = None,
    response_delay: Annotated[
        float, typer.Option(min=0, help="Seconds before each submit_sm_resp.")
    ] = 0.0,
    throttle_for: Annotated[
        float,
        typer.Option(min=0, help="Answer every submit_sm ESME_RTHROTTLED for this many seconds."),
    ] = 0.0,
    reject_binds: Annotated[
        bool, typer.Option("--reject-binds", help="Refuse every bind (ESME_RBINDFAIL).")
    ] = False,
    receipts: Annotated[
        bool, typer.Option(help="Send the delivery receipts submits ask for (off: none).")
    ] = True,
    stats_signal: Annotated[
        bool,
        typer.Option(
            "--stats-signal",
            help="On SIGUSR1, print one line of counters ('SMSC simulator stats: "
            "received=N accepted=N ...').",
        ),
    ] = False,
) -> None:
    """A local SMPP 3.4 SMSC for demos, tests and benchmarks (plain TCP: keep it on
    loopback).  Prints where it listens, then one line per bind, message and receipt (never
    the password); stops on Ctrl+C or SIGTERM."""
    import asyncio
    import logging
    import math
    import os
    import sys

    from bannertui.simulator import smsc

    for name, value in (
        ("--receipt-delay", receipt_delay),
        ("--response-delay", response_delay),
        ("--throttle-for", throttle_for),
    ):
        if not math.isfinite(value):
            fail(f"{name}: {value} is not a number of seconds", 2)
    account = system_id if system_id is not None else smsc.DEMO_SYSTEM_ID
    if password_stdin:
        password = read_password("Password", True, "--password-stdin: nothing to read")
    elif os.environ.get(SMSC_SIM_PASSWORD_ENV):
        password = os.environ[SMSC_SIM_PASSWORD_ENV]
    elif account == smsc.DEMO_SYSTEM_ID:
        password = smsc.DEMO_PASSWORD
    else:
        fail(
            f"the password of {account!r}: --password-stdin or {SMSC_SIM_PASSWORD_ENV}",
            2,
        )
    try:
        config = smsc.SmscConfig(
            host=host,
            port=port,
            accounts={account: password},
            receipt_delay=receipt_delay,
            receipt_state=receipt_state.upper(),  # type: ignore[arg-type]  # checked by it
            fail_to=set(fail_to or []),
            response_delay=response_delay,
            throttle_seconds=throttle_for,
            reject_binds=reject_binds,
            receipts=receipts,
        )
    except ValueError as exc:
        fail(str(exc), 2)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log = logging.getLogger(smsc.__name__)
    log.handlers = [handler]
    log.setLevel(logging.INFO)
    log.propagate = False
    ready = _print_stats_on_sigusr1 if stats_signal else None
    try:
        asyncio.run(smsc.run_smsc_simulator(config, ready=ready))
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    except KeyboardInterrupt:
        pass


def _print_stats_on_sigusr1(sim: SmscSimulator) -> None:
    """``smsc-sim --stats-signal``: each SIGUSR1 prints the simulator's counters on one line
    (for the benchmarks: every submit_sm counted, not only the whole messages logged)."""
    import asyncio
    import signal

    def stats() -> None:
        accepted = sum(1 for part in sim.received if part.accepted)
        counters = {
            "received": len(sim.received),
            "accepted": accepted,
            "invalid": len(sim.invalid),
            "messages": len(sim.messages),
            "unanswered": len(sim.unanswered),
            "duplicate_parts": sim.duplicate_parts,
            "throttled": sim.throttled,
            "receipts": len(sim.receipts),
            "binds": sim.binds,
            "bind_refusals": sim.bind_refusals,
            "connections": sim.connections,
        }
        line = " ".join(f"{k}={v}" for k, v in counters.items())
        print(f"SMSC simulator stats: {line}", flush=True)

    usr1 = getattr(signal, "SIGUSR1", None)
    if usr1 is not None:  # not on Windows
        asyncio.get_running_loop().add_signal_handler(usr1, stats)
