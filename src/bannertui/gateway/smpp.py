"""The SMPP 3.4 adapter (issue #21): a carrier's SMSC, over one session per connector.

Sessions run on the ``smpp34`` library (asyncio over a Rust core: framing, windowing,
``enquire_link`` every 30 s, the answers to ``deliver_sm``); a bind is checked for *Test
connection* with ``smpplib``'s codec, which reports the SMSC's refusal by its status (smpp34
reports a refused bind only as a timeout).  No PDU is encoded by hand here: the message fields
come from :mod:`bannertui.domain.smpp`.

* **One session per connector per dispatcher process**, shared by its workers: a transceiver
  bind, or a transmitter and a receiver (``bind_mode`` ``pair``).  It is opened when the
  dispatcher starts (receipts and mobile-originated texts arrive on it even when nothing is
  sent), kept up with reconnects backed off from 1 s to 60 s, and re-bound after a drop.
* **Parts**: :func:`~bannertui.domain.smpp.submit_parts` splits the text exactly as it was
  charged, one ``submit_sm`` a part, with ``registered_delivery`` asking for a receipt.  At
  most ``window`` submits are in flight and, with ``throughput`` set, at most that many a
  second leave (a steady pace, not bursts).
* **Answers**: ``ESME_ROK`` gives the part's id; ``ESME_RTHROTTLED`` / ``ESME_RMSGQFUL`` pause
  the whole session (1 s, doubling to 30 s) and the part is tried again; other statuses are
  permanent (the message is refused and refunded) or transient (:data:`TRANSIENT_STATUSES`).
  A message whose first parts were accepted resumes at its first unaccepted part, with the same
  concatenation reference, when it is tried again by this process.
* **Lost answers**: a ``submit_sm`` whose answer never came (the connection dropped, or no
  answer within ``response_timeout``) may have been taken by the SMSC, and SMPP has no
  idempotency key: the outcome is *uncertain*, and the dispatcher waits its
  ``uncertain_wait_seconds`` before sending it again (docs/connectors.md).  Such resends are
  counted (:attr:`SmppProvider.uncertain`).
* **Receipts and mobile-originated texts** (``deliver_sm``) go to the :class:`InboundPort`
  the dispatcher attached: receipts by the part's id, texts reassembled from their parts (any
  order, either encoding).  The library answers every ``deliver_sm`` itself, even one that
  cannot be parsed (logged here).  Storing is retried while the database is away.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import struct
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import smpp34

from bannertui.domain import smpp as codec
from bannertui.domain.errors import BannerError, UnknownMessage
from bannertui.domain.text import one_line
from bannertui.services.gateway import (
    ConnectionCheck,
    ConnectionReport,
    InboundPort,
    MobileOriginated,
    OutcomeKind,
    PartReport,
    SendOutcome,
    SendPayload,
    SmppConfig,
)

log = logging.getLogger(__name__)

# command_status values (SMPP 3.4 §5.1.3)
ESME_ROK = 0x00
ESME_RINVMSGLEN = 0x01
ESME_RSYSERR = 0x08
ESME_RINVSRCADR = 0x0A
ESME_RINVDSTADR = 0x0B
ESME_RBINDFAIL = 0x0D
ESME_RINVPASWD = 0x0E
ESME_RINVSYSID = 0x0F
ESME_RMSGQFUL = 0x14
ESME_RSUBMITFAIL = 0x45
ESME_RTHROTTLED = 0x58
ESME_RX_T_APPN = 0x64
ESME_RX_R_APPN = 0x65
ESME_RINVDCS = 0x104

STATUS_NAMES: dict[int, str] = {
    0x00: "ESME_ROK",
    0x01: "ESME_RINVMSGLEN: message length is invalid",
    0x02: "ESME_RINVCMDLEN: command length is invalid",
    0x03: "ESME_RINVCMDID: invalid command id",
    0x04: "ESME_RINVBNDSTS: incorrect bind status",
    0x05: "ESME_RALYBND: already bound",
    0x08: "ESME_RSYSERR: system error",
    0x0A: "ESME_RINVSRCADR: invalid source address",
    0x0B: "ESME_RINVDSTADR: invalid destination address",
    0x0C: "ESME_RINVMSGID: invalid message id",
    0x0D: "ESME_RBINDFAIL: bind failed",
    0x0E: "ESME_RINVPASWD: invalid password",
    0x0F: "ESME_RINVSYSID: invalid system_id",
    0x14: "ESME_RMSGQFUL: message queue full",
    0x15: "ESME_RINVSERTYP: invalid service type",
    0x45: "ESME_RSUBMITFAIL: submit_sm failed",
    0x48: "ESME_RINVSRCTON: invalid source address TON",
    0x49: "ESME_RINVSRCNPI: invalid source address NPI",
    0x50: "ESME_RINVDSTTON: invalid destination address TON",
    0x51: "ESME_RINVDSTNPI: invalid destination address NPI",
    0x53: "ESME_RINVSYSTYP: invalid system_type",
    0x58: "ESME_RTHROTTLED: throttling error",
    0x61: "ESME_RINVSCHED: invalid scheduled delivery time",
    0x62: "ESME_RINVEXPIRY: invalid validity period",
    0x64: "ESME_RX_T_APPN: temporary application error",
    0x65: "ESME_RX_P_APPN: permanent application error",
    0x66: "ESME_RX_R_APPN: message rejected by the application",
    0xC0: "ESME_RINVOPTPARSTREAM: error in the optional part",
    0xC1: "ESME_ROPTPARNOTALLWD: optional parameter not allowed",
    0xC2: "ESME_RINVPARLEN: invalid parameter length",
    0xC4: "ESME_RINVOPTPARAMVAL: invalid optional parameter value",
    0xFE: "ESME_RDELIVERYFAILURE: delivery failure",
    0xFF: "ESME_RUNKNOWNERR: unknown error",
    0x104: "ESME_RINVDCS: invalid data coding scheme",
}
#: Worth trying again later (with the message's backoff); any other refusal is permanent.
TRANSIENT_STATUSES = frozenset({ESME_RSYSERR, ESME_RSUBMITFAIL, ESME_RX_T_APPN, 0xFF})
#: The SMSC asks us to slow down: the session pauses, and the part is tried again.
SLOW_DOWN = frozenset({ESME_RTHROTTLED, ESME_RMSGQFUL})

#: Reconnects back off from the first to the last, doubling.
RECONNECT_FIRST_S = 1.0
RECONNECT_MAX_S = 60.0
#: A throttled session pauses this long at first, doubling while the SMSC goes on refusing.
THROTTLE_FIRST_S = 1.0
THROTTLE_MAX_S = 30.0
#: A send waits this long at most for a throttled or reconnecting session before it gives
#: the message back to the dispatcher (which tries again later; nothing is lost).
SEND_PATIENCE_S = 20.0
#: Incomplete mobile-originated texts are given up after this long (logged).
REASSEMBLY_TIMEOUT_S = 600.0
#: Storing what arrived is retried this long while the database is away.
STORE_PATIENCE_S = 300.0
#: A receipt for a part id not (yet) known is retried this long: the dispatcher writes the
#: ids of accepted parts in batches, just after the SMSC's answer, and a quick receipt may
#: come first.  Later, it is a receipt for a part whose answer was lost (logged).
UNKNOWN_PART_PATIENCE_S = 30.0


def status_text(status: int) -> str:
    return STATUS_NAMES.get(status, f"command_status 0x{status:08X}")


def _status_of(exc: BaseException) -> int | None:
    """The command_status an smpp34 error names (``"ESME_RSYSERR (0x00000008)"``)."""
    text = str(exc)
    start = text.rfind("(0x")
    if start < 0:
        return None
    try:
        return int(text[start + 1 : text.index(")", start)], 16)
    except ValueError:
        return None


def _address(number: str | None, ton: int, npi: int) -> tuple[str, int, int]:
    """An address field: an E.164 number without its ``+`` (TON 1, NPI 1), an alphanumeric
    sender (TON 5, NPI 0), or the configured TON/NPI for anything else."""
    if not number:
        return "", 0, 0
    if number.startswith("+") and number[1:].isdigit():
        return number[1:], 1, 1
    if not number.isdigit():
        return number, 5, 0
    return number, ton, npi


def _e164(address: str, ton: int) -> str:
    """An address from the SMSC as we store numbers: ``+`` and digits when international."""
    if address.isdigit() and (ton == 1 or len(address) >= 10):
        return f"+{address}"
    return address


@dataclass(frozen=True, slots=True)
class _PduPart:
    """A ``deliver_sm`` seen as :class:`bannertui.domain.smpp.PartLike`."""

    short_message: bytes
    data_coding: int
    esm_class: int
    tlvs: tuple[tuple[int, bytes], ...]


@dataclass
class _Partial:
    """Parts of a message the SMSC already accepted, kept for its next try here."""

    reference: int
    ids: dict[int, str] = field(default_factory=dict)  # part index → SMSC id


class _Bind:
    """One smpp34 client and its bound session."""

    def __init__(self, config: SmppConfig, bind_type: str) -> None:
        self.client = smpp34.Client(
            host=config.host,
            port=config.port,
            system_id=config.system_id,
            password=config.password,
            bind_type=bind_type,
            system_type=config.system_type,
            tls=config.tls,
            window_size=config.window,
            connect_timeout_ms=int(config.connect_timeout * 1000),
        )
        self.smsc: smpp34.Smsc | None = None

    async def open(self) -> smpp34.Smsc:
        self.smsc = await self.client.connect()
        return self.smsc

    async def close(self) -> None:
        smsc, self.smsc = self.smsc, None
        if smsc is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(smsc.unbind(), 2.0)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.client.stop(), 2.0)

    async def alive(self) -> bool:
        try:
            return self.smsc is not None and bool(await self.client.is_alive())
        except Exception:
            return False


class SmppProvider:
    """An :class:`~bannertui.services.gateway.SmsProvider` for one SMPP connector (see the
    module's notes)."""

    def __init__(
        self,
        config: SmppConfig,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self._clock = clock
        self._inbound: InboundPort | None = None
        self._binds: list[_Bind] = []
        self._tx: smpp34.Smsc | None = None
        self._ready = asyncio.Event()
        self._keeper: asyncio.Task[None] | None = None
        self._readers: list[asyncio.Task[None]] = []
        self._closing = False
        self._window = asyncio.Semaphore(max(1, config.window))
        self._next_slot = 0.0
        self._paused_until = 0.0
        self._throttle_pause = THROTTLE_FIRST_S
        self._retry_at = 0.0
        self._last_error = ""
        self._partials: dict[str, _Partial] = {}
        self._reference = uuid.uuid4().int & 0xFFFF
        self._reassembler = codec.Reassembler()
        self._storing: set[asyncio.Task[None]] = set()
        #: Figures: binds made, sends whose answer was lost (their resend may duplicate),
        #: deliver_sm that could not be understood.
        self.binds = 0
        self.uncertain = 0
        self.unparsed = 0
        self.unmatched = 0  # receipts naming a part we never heard of (a lost answer's)

    # --- the session ------------------------------------------------------------------------

    def attach_inbound(self, port: InboundPort) -> None:
        """Where receipts and mobile-originated texts go (the dispatcher's services)."""
        self._inbound = port

    async def start(self) -> None:
        """Open the session now and keep it up (the dispatcher, at start: receipts and texts
        arrive even when nothing is sent).  Without it, the first send opens it."""
        if self._keeper is None and not self._closing:
            self._keeper = asyncio.create_task(self._keep(), name=f"smpp-{self.config.host}")

    async def _keep(self) -> None:
        delay = RECONNECT_FIRST_S
        failed = True  # not bound yet: the first bind is checked too
        while not self._closing:
            try:
                if failed:
                    # smpp34 reports a refused bind only as a timeout (10 s on): ask the SMSC
                    # first, with smpplib's codec, and wait without a session while it
                    # refuses, naming its reason.
                    report = await check_bind(self.config)
                    if not report.ok:
                        raise ConnectionError(report.message)
                await self._bind()
            except Exception as exc:
                failed = True
                self._last_error = f"cannot bind to {self._where()}: {_describe(exc)}"
                if isinstance(exc, ConnectionError) and str(exc):
                    self._last_error = f"cannot bind: {exc}"
                log.warning("SMPP connector %s: %s", self.config.connector_id, self._last_error)
                self._retry_at = self._clock() + delay
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_S)
                continue
            delay, failed = RECONNECT_FIRST_S, False
            self._last_error = ""
            self._ready.set()
            # Until one of the binds ends (the readers see Disconnected).
            await asyncio.wait(self._readers, return_when=asyncio.FIRST_COMPLETED)
            self._ready.clear()
            await self._unbind()
            if not self._closing:
                self._last_error = f"the connection to {self._where()} was lost"
                log.warning("SMPP connector %s: %s", self.config.connector_id, self._last_error)
                self._retry_at = self._clock() + delay
                await asyncio.sleep(delay)

    def _where(self) -> str:
        return f"{self.config.host}:{self.config.port}"

    async def _bind(self) -> None:
        pair = self.config.bind_mode == "pair"
        kinds = ("TX", "RX") if pair else ("TRX",)
        binds = [_Bind(self.config, kind) for kind in kinds]
        try:
            sessions = [await b.open() for b in binds]
        except BaseException:
            for b in binds:
                await b.close()
            raise
        self._binds = binds
        self._tx = sessions[0]
        self._readers = [
            asyncio.create_task(self._read(s), name=f"smpp-read-{i}")
            for i, s in enumerate(sessions)
        ]
        self.binds += 1
        log.info(
            "SMPP connector %s bound to %s as %s (%s)",
            self.config.connector_id,
            self._where(),
            self.config.system_id,
            "transmitter + receiver" if pair else "transceiver",
        )

    async def _unbind(self) -> None:
        self._tx = None
        readers, self._readers = self._readers, []
        for task in readers:
            task.cancel()
        for task in readers:
            with contextlib.suppress(BaseException):
                await task
        binds, self._binds = self._binds, []
        for b in binds:
            await b.close()

    async def _drop(self) -> None:
        """The session is deemed dead (no answer in time): end its readers, so that the keeper
        unbinds (smpp34's ``stop`` alone leaves the connection open) and binds again."""
        self._ready.clear()
        for task in self._readers:
            task.cancel()

    async def _session(self, deadline: float) -> smpp34.Smsc | None:
        await self.start()
        remaining = deadline - self._clock()
        if self._last_error and not self._ready.is_set():
            return None  # down, and the keeper says why: the message waits for it elsewhere
        if remaining > 0 and not self._ready.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._ready.wait(), remaining)
        return self._tx if self._ready.is_set() else None

    # --- sending ----------------------------------------------------------------------------

    async def _pace(self) -> None:
        """The throughput limit (a steady pace) and a throttled session's pause."""
        now = self._clock()
        if self._paused_until > now:
            await asyncio.sleep(self._paused_until - now)
            now = self._clock()
        if self.config.throughput > 0:
            slot = max(now, self._next_slot)
            self._next_slot = slot + 1.0 / self.config.throughput
            if slot > now:
                await asyncio.sleep(slot - now)

    def _slow_down(self) -> None:
        now = self._clock()
        if self._paused_until <= now:
            self._paused_until = now + self._throttle_pause
            self._throttle_pause = min(self._throttle_pause * 2, THROTTLE_MAX_S)

    def _next_reference(self) -> int:
        self._reference = (self._reference + 1) & 0xFFFF
        return self._reference

    async def send(self, payload: SendPayload) -> SendOutcome:
        concat: Any = self.config.concat
        partial = self._partials.get(payload.ret_id)
        if partial is None:
            partial = _Partial(self._next_reference())
        try:
            parts = codec.submit_parts(payload.text, partial.reference, concat=concat)
        except ValueError as exc:
            return SendOutcome(OutcomeKind.PERMANENT, f"cannot be sent over SMPP: {exc}")
        source, s_ton, s_npi = _address(
            payload.sender, self.config.source_ton, self.config.source_npi
        )
        destination, d_ton, d_npi = _address(payload.to, 1, 1)
        deadline = self._clock() + SEND_PATIENCE_S
        for index, part in enumerate(parts):
            if index in partial.ids:
                continue  # accepted on an earlier try
            while True:
                smsc = await self._session(deadline)
                if smsc is None:
                    return SendOutcome(
                        OutcomeKind.TRANSIENT,
                        f"SMPP: {self._last_error or 'not bound to ' + self._where()}",
                        retry_after=max(1.0, self._retry_at - self._clock()),
                        held=not partial.ids,
                    )
                await self._pace()
                async with self._window:
                    result = await self._submit(
                        smsc, part, source, s_ton, s_npi, destination, d_ton, d_npi
                    )
                status, message_id, uncertain = result
                if status == ESME_ROK and message_id is not None:
                    partial.ids[index] = message_id
                    self._throttle_pause = THROTTLE_FIRST_S
                    break
                if uncertain:
                    self.uncertain += 1
                    self._partials.pop(payload.ret_id, None)
                    return SendOutcome(
                        OutcomeKind.TRANSIENT,
                        f"SMPP: no answer to part {index + 1} of {len(parts)} "
                        f"({self._last_error or 'the connection was lost'}): the SMSC may have "
                        "it; sent again only after the receipt window",
                        uncertain=True,
                    )
                if status in SLOW_DOWN:
                    self._slow_down()
                    if self._clock() + self._throttle_pause > deadline:
                        self._keep_partial(payload.ret_id, partial)
                        return SendOutcome(
                            OutcomeKind.TRANSIENT,
                            f"SMPP: {status_text(status)}",
                            retry_after=self._paused_until - self._clock(),
                        )
                    continue
                self._partials.pop(payload.ret_id, None)
                kind = (
                    OutcomeKind.TRANSIENT if status in TRANSIENT_STATUSES else OutcomeKind.PERMANENT
                )
                where = f"part {index + 1} of {len(parts)}: " if len(parts) > 1 else ""
                if partial.ids and kind is OutcomeKind.TRANSIENT:
                    self._keep_partial(payload.ret_id, partial)
                return SendOutcome(kind, f"SMPP {where}{status_text(status)}")
        self._partials.pop(payload.ret_id, None)
        ids = tuple(partial.ids[i] for i in range(len(parts)))
        return SendOutcome(OutcomeKind.ACCEPTED, provider_id=ids[0], part_ids=ids)

    def _keep_partial(self, ret_id: str, partial: _Partial) -> None:
        if partial.ids:
            self._partials[ret_id] = partial

    async def _submit(
        self,
        smsc: smpp34.Smsc,
        part: codec.Part,
        source: str,
        s_ton: int,
        s_npi: int,
        destination: str,
        d_ton: int,
        d_npi: int,
    ) -> tuple[int, str | None, bool]:
        """(command_status, message id, uncertain): uncertain when no answer came back."""
        try:
            resp = await asyncio.wait_for(
                smsc.submit_sm(
                    destination,
                    part.short_message,
                    source_addr=source,
                    source_addr_ton=s_ton,
                    source_addr_npi=s_npi,
                    dest_addr_ton=d_ton,
                    dest_addr_npi=d_npi,
                    esm_class=part.esm_class,
                    registered_delivery=1,
                    data_coding=part.data_coding,
                    tlvs=[smpp34.Tlv(tag, value) for tag, value in part.tlvs],
                ),
                self.config.response_timeout,
            )
        except TimeoutError:
            self._last_error = f"no answer within {self.config.response_timeout:g} s"
            await self._drop()
            return ESME_RSYSERR, None, True
        except smpp34.SmppError as exc:
            # smpp34 fails the submits in flight of a lost connection as ESME_RSYSERR, as an
            # SMSC's own "system error": a session still alive means the SMSC answered.
            status = _status_of(exc)
            alive = any([await b.alive() for b in self._binds]) if self._binds else False
            if not alive or status is None:
                self._last_error = f"the connection to {self._where()} was lost"
                return ESME_RSYSERR, None, True
            return status, None, False
        except Exception as exc:  # a broken session: the submit may have left
            self._last_error = _describe(exc)
            return ESME_RSYSERR, None, True
        if resp.command_status != ESME_ROK or not resp.message_id:
            status = resp.command_status or ESME_RSYSERR
            return status, None, False
        return ESME_ROK, str(resp.message_id), False

    # --- what arrives -----------------------------------------------------------------------

    async def _read(self, smsc: smpp34.Smsc) -> None:
        while True:
            event = await smsc.next()
            if isinstance(event, smpp34.Disconnected):
                return
            try:
                self._deliver(event)
            except Exception:  # one bad PDU must not end the session
                self.unparsed += 1
                log.exception("SMPP connector %s: a deliver_sm failed", self.config.connector_id)

    def _deliver(self, event: smpp34.DeliverSmEvent) -> None:
        tlvs = tuple((t.tag, bytes(t.value)) for t in event.tlvs)
        cid = self.config.connector_id
        if codec.is_receipt(event.esm_class):
            receipt = codec.parse_receipt(bytes(event.short_message), tlvs)
            if receipt is None:
                self.unparsed += 1
                log.warning(
                    "SMPP connector %s: a delivery receipt that cannot be read (answered, "
                    "ignored): %r",
                    cid,
                    bytes(event.short_message)[:160],
                )
                return
            outcome = codec.receipt_outcome(receipt.state)
            if outcome == "pending":
                return
            delivered = outcome == "delivered"
            reason = None
            if not delivered:
                reason = f"SMSC receipt {receipt.state}" + (
                    f" (err {one_line(receipt.error)})" if receipt.error else ""
                )
            self._store(
                self._port().part_report, PartReport(cid, receipt.message_id, delivered, reason)
            )
            return
        part = _PduPart(bytes(event.short_message), event.data_coding, event.esm_class, tlvs)
        source = _e164(event.source_addr, event.source_addr_ton)
        destination = _e164(event.destination_addr, event.dest_addr_ton)
        now = self._clock()
        try:
            whole = self._reassembler.add(source, destination, part, now=now)
        except codec.MalformedPart as exc:
            self.unparsed += 1
            log.warning("SMPP connector %s: a text part that cannot be read: %s", cid, exc)
            return
        for dropped in self._reassembler.expire(now, REASSEMBLY_TIMEOUT_S):
            log.warning(
                "SMPP connector %s: gave up a text from %s in %d parts (%d arrived)",
                cid,
                dropped.source,
                dropped.total,
                len(dropped.received),
            )
        if whole is None:
            return
        if whole.guessed:
            log.warning(
                "SMPP connector %s: data_coding 0x%02X read as Latin-1", cid, whole.data_coding
            )
        mo = MobileOriginated(
            cid, source, destination, whole.text, f"smpp-{cid}-{uuid.uuid4().hex}"
        )
        self._store(self._port().mobile_originated, mo)

    def _port(self) -> InboundPort:
        if self._inbound is None:
            raise RuntimeError("no inbound port attached: receipts and texts cannot be stored")
        return self._inbound

    def _store(self, handler: Callable[[Any], Awaitable[None]], item: Any) -> None:
        task = asyncio.create_task(self._store_retrying(handler, item))
        self._storing.add(task)
        task.add_done_callback(self._storing.discard)

    async def _store_retrying(self, handler: Callable[[Any], Awaitable[None]], item: Any) -> None:
        start = self._clock()
        delay, deadline = 0.2, start + STORE_PATIENCE_S
        while True:
            try:
                await handler(item)
                return
            except Exception as exc:
                log.debug("SMPP connector %s: storing failed: %r", self.config.connector_id, exc)
                if isinstance(exc, UnknownMessage):
                    gave_up = self._clock() > start + UNKNOWN_PART_PATIENCE_S
                    if gave_up:
                        self.unmatched += 1
                else:
                    gave_up = isinstance(exc, BannerError) or self._clock() > deadline
                if gave_up:
                    log.warning(
                        "SMPP connector %s: not stored: %s (%s)",
                        self.config.connector_id,
                        type(item).__name__,
                        _describe(exc),
                    )
                    return
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    # --- checking and closing -----------------------------------------------------------------

    async def test_connection(self) -> ConnectionReport:
        """Bind (transceiver, or transmitter for a pair) and unbind, sending nothing."""
        return await check_bind(self.config)

    async def aclose(self) -> None:
        self._closing = True
        keeper, self._keeper = self._keeper, None
        if keeper is not None:
            keeper.cancel()
            with contextlib.suppress(BaseException):
                await keeper
        await self._unbind()
        if self._storing:
            await asyncio.wait(set(self._storing), timeout=5.0)
        for task in list(self._storing):  # still failing: logged as not stored
            task.cancel()
        if self._storing:
            await asyncio.wait(set(self._storing))


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200]}" if text else type(exc).__name__


class _Sequence:
    """What smpplib's codec asks for: the next sequence number."""

    #: None: the responses made keep the ``sequence=`` given (smpplib's own default client
    #: has 0 here, which overrides it).
    sequence = None

    def __init__(self) -> None:
        self.n = 0

    def next_sequence(self) -> int:
        self.n += 1
        return self.n


async def check_bind(config: SmppConfig) -> ConnectionReport:
    """Connect, bind with the connector's credentials, and unbind: the SMSC's answer, by
    its status when it refuses."""
    from smpplib import smpp as pdus  # the codec (the sessions run on smpp34)

    where = f"{config.host}:{config.port}"
    context = ssl.create_default_context() if config.tls else None
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(config.host, config.port, ssl=context),
            config.connect_timeout,
        )
    except TimeoutError:
        return ConnectionReport(ConnectionCheck.TIMEOUT, f"{where} did not answer in time")
    except ssl.SSLError as exc:
        return ConnectionReport(ConnectionCheck.TLS_FAILURE, f"TLS with {where} failed: {exc}")
    except OSError as exc:
        return ConnectionReport(
            ConnectionCheck.UNREACHABLE, f"cannot connect to {where}: {exc.strerror or exc}"
        )
    seq = _Sequence()
    command = "bind_transmitter" if config.bind_mode == "pair" else "bind_transceiver"
    try:
        bind = pdus.make_pdu(
            command,
            client=seq,
            system_id=config.system_id,
            password=config.password,
            system_type=config.system_type,
            interface_version=0x34,
            addr_ton=0,
            addr_npi=0,
            address_range="",
        )
        writer.write(bind.generate())
        await writer.drain()

        async def answer() -> Any:
            while True:
                head = await reader.readexactly(16)
                length = struct.unpack(">I", head[:4])[0]
                if not 16 <= length <= 4096:
                    raise ValueError(f"a PDU of {length} octets")
                data = head + await reader.readexactly(length - 16)
                pdu = pdus.parse_pdu(data, client=seq)
                if pdu.command == f"{command}_resp":
                    return pdu
                if pdu.command == "enquire_link":
                    resp = pdus.make_pdu("enquire_link_resp", client=seq, sequence=pdu.sequence)
                    writer.write(resp.generate())

        resp = await asyncio.wait_for(answer(), config.connect_timeout)
        status = int(resp.status or 0)
        if status != ESME_ROK:
            return ConnectionReport(
                ConnectionCheck.BIND_REFUSED,
                f"{where} refused the bind of {config.system_id!r}: {status_text(status)}",
            )
        smsc_id = resp.system_id.decode("latin-1") if isinstance(resp.system_id, bytes) else ""
        with contextlib.suppress(Exception):
            writer.write(pdus.make_pdu("unbind", client=seq).generate())
            await writer.drain()
            await asyncio.wait_for(reader.read(4096), 2.0)
        return ConnectionReport(
            ConnectionCheck.REACHABLE,
            f"bound to {where} as {config.system_id!r}"
            + (f" (SMSC {one_line(smsc_id)!r})" if smsc_id else ""),
        )
    except TimeoutError:
        return ConnectionReport(
            ConnectionCheck.TIMEOUT, f"{where} did not answer the bind in time: is it an SMSC?"
        )
    except (asyncio.IncompleteReadError, ConnectionError) as exc:
        return ConnectionReport(
            ConnectionCheck.UNREACHABLE, f"{where} closed the connection during the bind: {exc}"
        )
    except Exception as exc:  # not SMPP on the other end
        return ConnectionReport(
            ConnectionCheck.UNREACHABLE, f"{where} did not answer as an SMSC: {_describe(exc)}"
        )
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
