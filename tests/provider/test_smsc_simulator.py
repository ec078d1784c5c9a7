"""The SMPP 3.4 SMSC simulator over real loopback TCP, driven by the ``smpp34`` library's own
client as a bare ESME (and, where a test needs to see exact statuses or misbehave, by a raw
ESME built on ``smpplib``'s codec).  No mocks.

Every boundary of issue #21 is sent with :func:`bannertui.domain.smpp.submit_parts` in each
concatenation (UDH 8-bit, UDH 16-bit, SAR): the simulator must take exactly as many
``submit_sm`` as :func:`bannertui.domain.sms.measure` counts credits and reassemble the text
byte for byte.  Then receipts, mobile-originated texts, and the faults.  Every wait is for a
condition, with a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import struct
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import smpp34
import smpplib.smpp

from bannertui.domain.smpp import (
    Concat,
    Part,
    Reassembler,
    is_receipt,
    parse_receipt,
    submit_parts,
)
from bannertui.domain.sms import measure
from bannertui.simulator.smsc import (
    DEMO_SYSTEM_ID,
    ESME_RALYBND,
    ESME_RBINDFAIL,
    ESME_RINVBNDSTS,
    ESME_RINVCMDID,
    ESME_RINVDCS,
    ESME_RINVESMCLASS,
    ESME_RINVMSGLEN,
    ESME_RINVOPTPARAMVAL,
    ESME_RINVPASWD,
    ESME_RINVSYSID,
    ESME_RMISSINGOPTPARAM,
    ESME_RMSGQFUL,
    ESME_ROK,
    ESME_RTHROTTLED,
    RECEIPT_STATES,
    NoReceiver,
    SmscConfig,
    SmscSimulator,
)

pytestmark = pytest.mark.timeout(60)

SYSTEM_ID = "esme"
PASSWORD = "s3cret"
OUR_NUMBER = "33757000011"
MOBILE = "33612345678"
#: Bounds a wait for something asynchronous; only a failing test waits that long.
WAIT_S = 10.0
#: smpp34 reports a refused bind only as "bind timed out" after its connect timeout.
REFUSED_BIND_MS = 300
BIN = Path(sys.executable).with_name("bannertui")


async def wait_until(predicate: Callable[[], bool], what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"not within {WAIT_S:g} s: {what}")
        await asyncio.sleep(0.005)


async def within(awaitable: Awaitable[Any]) -> Any:
    return await asyncio.wait_for(awaitable, WAIT_S)


# --- fixtures ---------------------------------------------------------------------------------


def _own_tasks() -> list[asyncio.Task[Any]]:
    return [
        task
        for task in asyncio.all_tasks()
        if getattr(task.get_coro(), "__qualname__", "").startswith("SmscSimulator.")
    ]


@pytest.fixture
async def make_smsc() -> AsyncIterator[Callable[..., Awaitable[SmscSimulator]]]:
    """Start simulators (``await make_smsc(receipt_delay=...)``); each is stopped at the end
    and must leave no task behind."""
    sims: list[SmscSimulator] = []

    async def make(**overrides: Any) -> SmscSimulator:
        values: dict[str, Any] = {"accounts": {SYSTEM_ID: PASSWORD}, "receipt_delay": 0.01}
        sim = SmscSimulator(SmscConfig(**(values | overrides)))
        await sim.start()
        sims.append(sim)
        return sim

    yield make
    for sim in sims:
        await sim.stop()
    assert _own_tasks() == []


@pytest.fixture
async def smsc(make_smsc: Callable[..., Awaitable[SmscSimulator]]) -> SmscSimulator:
    return await make_smsc()


@contextlib.asynccontextmanager
async def esme(
    sim: SmscSimulator,
    *,
    bind_type: str = "TRX",
    system_id: str = SYSTEM_ID,
    password: str = PASSWORD,
    connect_timeout_ms: int = 5000,
) -> AsyncIterator[smpp34.Smsc]:
    """A bound smpp34 session; unbound and stopped on the way out (smpp34's ``stop()`` alone
    leaves the TCP connection open)."""
    client = smpp34.Client(
        host="127.0.0.1",
        port=sim.port,
        system_id=system_id,
        password=password,
        bind_type=bind_type,
        window_size=10,
        connect_timeout_ms=connect_timeout_ms,
    )
    try:
        session = await client.connect()
        try:
            yield session
        finally:
            with contextlib.suppress(smpp34.SmppError, TimeoutError):
                await asyncio.wait_for(session.unbind(), 2)
    finally:
        await client.stop()


async def submit(
    session: smpp34.Smsc,
    part: Part,
    *,
    destination: str = MOBILE,
    registered_delivery: int = 0,
) -> smpp34.SubmitSmResp:
    return await session.submit_sm(
        destination_addr=destination,
        source_addr=OUR_NUMBER,
        source_addr_ton=1,
        source_addr_npi=1,
        dest_addr_ton=1,
        dest_addr_npi=1,
        short_message=part.short_message,
        data_coding=part.data_coding,
        esm_class=part.esm_class,
        registered_delivery=registered_delivery,
        tlvs=[smpp34.Tlv(tag, value) for tag, value in part.tlvs],
    )


async def next_deliver(session: smpp34.Smsc) -> smpp34.DeliverSmEvent:
    event = await within(session.next())
    assert isinstance(event, smpp34.DeliverSmEvent), event
    return event


def tlvs_of(event: smpp34.DeliverSmEvent) -> list[tuple[int, bytes]]:
    return [(tlv.tag, tlv.value) for tlv in event.tlvs]


@dataclass(frozen=True)
class Delivered:
    """A deliver_sm event as :class:`bannertui.domain.smpp.PartLike`."""

    short_message: bytes
    data_coding: int
    esm_class: int
    tlvs: tuple[tuple[int, bytes], ...]

    @classmethod
    def of(cls, event: smpp34.DeliverSmEvent) -> Delivered:
        return cls(event.short_message, event.data_coding, event.esm_class, tuple(tlvs_of(event)))


class _Sequences:
    sequence = None  # smpplib keeps a client's non-None ``sequence`` over the one given

    def __init__(self) -> None:
        self._next = itertools.count(1)

    def next_sequence(self) -> int:
        return next(self._next)


class RawEsme:
    """An ESME on a bare socket, PDUs made and read by smpplib's codec: for exact statuses
    and for misbehaving (no answer, half a PDU, an unknown command)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.sequences = _Sequences()

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(cls, sim: SmscSimulator) -> AsyncIterator[RawEsme]:
        reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
        raw = cls(reader, writer)
        try:
            yield raw
        finally:
            writer.transport.abort()

    def send(self, name: str, **fields: Any) -> int:
        pdu = smpplib.smpp.make_pdu(name, client=self.sequences, **fields)
        self.writer.write(pdu.generate())
        return int(pdu.sequence)

    async def read(self) -> Any:
        head = await within(self.reader.readexactly(4))
        (length,) = struct.unpack(">L", head)
        data = head + await within(self.reader.readexactly(length - 4))
        return smpplib.smpp.parse_pdu(data, client=self.sequences, sequence=0)

    async def request(self, name: str, **fields: Any) -> Any:
        """Send ``name`` and read until its answer (skipping anything else)."""
        sequence = self.send(name, **fields)
        while True:
            pdu = await self.read()
            if pdu.sequence == sequence and pdu.is_response():
                return pdu

    async def bind(
        self, password: str = PASSWORD, system_id: str = SYSTEM_ID, mode: str = "transceiver"
    ) -> int:
        resp = await self.request(
            f"bind_{mode}", system_id=system_id, password=password, system_type=""
        )
        return int(resp.status)


# --- binds ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bind_type", "name"),
    [("TRX", "transceiver"), ("TX", "transmitter"), ("RX", "receiver")],
)
async def test_a_bind_with_the_right_password_is_accepted(
    smsc: SmscSimulator, bind_type: str, name: str
) -> None:
    async with esme(smsc, bind_type=bind_type):
        assert [(b.system_id, b.bind_type) for b in smsc.bound] == [(SYSTEM_ID, name)]
        assert (smsc.binds, smsc.bind_refusals) == (1, 0)
    await wait_until(lambda: not smsc.bound, "the unbound session forgotten")


async def test_a_wrong_password_or_account_is_refused(smsc: SmscSimulator) -> None:
    with pytest.raises(smpp34.SmppError):
        async with esme(smsc, password="wrong", connect_timeout_ms=REFUSED_BIND_MS):
            pass
    assert (smsc.binds, smsc.bind_refusals, smsc.bound) == (0, 1, [])
    async with RawEsme.connect(smsc) as raw:
        assert await raw.bind(password="wrong") == ESME_RINVPASWD
    async with RawEsme.connect(smsc) as raw:
        assert await raw.bind(system_id="nobody") == ESME_RINVSYSID
    assert (smsc.binds, smsc.bind_refusals) == (0, 3)


async def test_reject_binds_refuses_every_bind(
    make_smsc: Callable[..., Awaitable[SmscSimulator]],
) -> None:
    sim = await make_smsc(reject_binds=True)
    with pytest.raises(smpp34.SmppError):
        async with esme(sim, connect_timeout_ms=REFUSED_BIND_MS):
            pass
    async with RawEsme.connect(sim) as raw:
        assert await raw.bind() == ESME_RBINDFAIL
    assert (sim.binds, sim.bind_refusals) == (0, 2)
    sim.config.reject_binds = False  # read on each bind
    async with esme(sim):
        assert sim.binds == 1


# --- every boundary, in every concatenation ---------------------------------------------------


def gsm_cases() -> Iterator[tuple[str, str]]:
    """(label, text): 160/161, 153×k ± 1 for k = 2..8, the same with a '€' (2 septets)
    straddling the last part boundary, and 8 credits exactly."""
    yield "160 GSM", "a" * 160
    yield "161 GSM", "a" * 161
    yield "€ at 159-160", "a" * 159 + "€"
    for k in range(2, 9):
        for n in (153 * k - 1, 153 * k, 153 * k + 1):
            if n <= 153 * 8:
                yield f"{n} GSM", "b" * n
            edge = 153 * (k - 1)
            text = "c" * (edge - 1) + "€" + "d" * (n - edge - 1)
            if measure(text).credits <= 8:
                yield f"{n} GSM, € at {edge - 1}-{edge}", text
    yield "8 credits GSM", "e" * 153 * 8


def ucs2_cases() -> Iterator[tuple[str, str]]:
    """The same in UCS-2: 70/71, 67×k ± 1, an emoji (a surrogate pair) straddling."""
    yield "70 UCS-2", "ж" * 70
    yield "71 UCS-2", "ж" * 71
    yield "emoji at 69-70", "ж" * 69 + "😀"
    for k in range(2, 9):
        for n in (67 * k - 1, 67 * k, 67 * k + 1):
            if n <= 67 * 8:
                yield f"{n} UCS-2", "щ" * n
            edge = 67 * (k - 1)
            text = "ю" * (edge - 1) + "😀" + "я" * (n - edge - 1)
            if measure(text).credits <= 8:
                yield f"{n} UCS-2, emoji at {edge - 1}-{edge}", text
    yield "8 credits UCS-2", "ы" * 67 * 8


def test_the_boundary_cases_are_the_issues() -> None:
    credits = {label: measure(text).credits for label, text in [*gsm_cases(), *ucs2_cases()]}
    assert credits["160 GSM"] == credits["70 UCS-2"] == 1
    assert credits["161 GSM"] == credits["71 UCS-2"] == 2
    assert credits["8 credits GSM"] == credits["8 credits UCS-2"] == 8
    assert credits["305 GSM"] == credits["133 UCS-2"] == 2
    assert credits["307 GSM"] == credits["135 UCS-2"] == 3
    # the straddling character moves to the next part, which can cost a credit
    assert credits["306 GSM, € at 152-153"] == 3
    assert credits["134 UCS-2, emoji at 66-67"] == 3
    with pytest.raises(ValueError, match="over the limit"):
        submit_parts("f" * (153 * 8 + 1), 1)
    with pytest.raises(ValueError, match="over the limit"):
        submit_parts("ф" * (67 * 8 + 1), 1)


@pytest.mark.parametrize("concat", ["udh8", "udh16", "sar"])
@pytest.mark.parametrize("alphabet", ["gsm", "ucs2"])
async def test_every_boundary_arrives_as_its_credits_and_reassembles_exactly(
    smsc: SmscSimulator, concat: Concat, alphabet: str
) -> None:
    cases = list(gsm_cases() if alphabet == "gsm" else ucs2_cases())
    async with esme(smsc) as session:
        for reference, (label, text) in enumerate(cases, start=1):
            credits = measure(text).credits
            parts = submit_parts(text, reference, concat=concat)
            before = len(smsc.received)
            resps = [await submit(session, part) for part in parts]

            assert [r.command_status for r in resps] == [ESME_ROK] * len(parts), label
            received = smsc.received[before:]
            assert len(received) == credits == len(parts), label
            assert [p.short_message for p in received] == [p.short_message for p in parts]
            assert [p.data_coding for p in received] == [p.data_coding for p in parts]
            assert [p.tlvs for p in received] == [p.tlvs for p in parts], label
            message = smsc.messages[-1]
            assert message.text.encode("utf-16-be", "surrogatepass") == text.encode(
                "utf-16-be", "surrogatepass"
            ), label
            assert message.parts == credits, label
            assert message.message_ids == tuple(r.message_id for r in resps), label
            assert (message.source, message.destination) == (OUR_NUMBER, MOBILE)
    assert len(smsc.messages) == len(cases)
    assert smsc.invalid == []
    ids = [p.message_id for p in smsc.received]
    assert len(set(ids)) == len(ids)
    assert all(i is not None and len(i) <= 64 for i in ids)


async def test_parts_may_come_in_any_order_through_the_window(smsc: SmscSimulator) -> None:
    text = "Réunion à 10 h € " * 40  # GSM, 5 credits
    parts = submit_parts(text, 77)
    async with esme(smsc) as session:
        resps = await asyncio.gather(*(submit(session, p) for p in reversed(parts)))
    assert all(r.command_status == ESME_ROK for r in resps)
    assert [m.text for m in smsc.messages] == [text]
    assert len(smsc.messages[0].message_ids) == measure(text).credits == 5


# --- invalid parts ----------------------------------------------------------------------------


UDH8 = bytes((0x05, 0x00, 0x03, 0x2A, 0x02, 0x01))
SAR = ((0x020C, b"\x00\x2a"), (0x020E, b"\x02"), (0x020F, b"\x01"))
INVALID_PARTS = {
    "data_coding 0x03": (Part(b"hello", 0x03), ESME_RINVDCS),
    "GSM octet over 0x7F": (Part(b"caf\xe9", 0x00), ESME_RINVDCS),
    "GSM escape + a code not in the table": (Part(b"a\x1bA", 0x00), ESME_RINVDCS),
    "GSM part ending inside an escape pair": (
        Part(UDH8 + b"a" * 10 + b"\x1b", 0x00, 0x40),
        ESME_RINVMSGLEN,
    ),
    "161 GSM septets in one part": (Part(b"a" * 161, 0x00), ESME_RINVMSGLEN),
    "154 GSM septets in a concatenated part": (
        Part(UDH8 + b"a" * 154, 0x00, 0x40),
        ESME_RINVMSGLEN,
    ),
    "UCS-2 odd length": (Part(b"\x04\x36\x04", 0x08), ESME_RINVDCS),
    "UCS-2 part ending inside a surrogate pair": (
        Part(UDH8 + "ж".encode("utf-16-be") + b"\xd8\x3d", 0x08, 0x40),
        ESME_RINVMSGLEN,
    ),
    "UCS-2 lone low surrogate": (Part(b"\x04\x36\xde\x00\x04\x36", 0x08), ESME_RINVDCS),
    "141 UCS-2 octets in one part": (Part(b"\x04\x36" * 70 + b"\x04", 0x08), ESME_RINVDCS),
    "142 UCS-2 octets in one part": (Part(b"\x04\x36" * 71, 0x08), ESME_RINVMSGLEN),
    "UDH longer than the message": (Part(b"\x0a\x00\x03\x01", 0x00, 0x40), ESME_RINVMSGLEN),
    "UDHI without a concatenation element": (
        Part(bytes((0x04, 0x24, 0x02, 0x00, 0x00)) + b"hi", 0x00, 0x40),
        ESME_RINVESMCLASS,
    ),
    "UDH segment 3 of 2": (
        Part(bytes((0x05, 0x00, 0x03, 0x01, 0x02, 0x03)) + b"hi", 0x00, 0x40),
        ESME_RINVESMCLASS,
    ),
    "SAR without its total": (
        Part(b"hi", 0x00, 0, ((0x020C, b"\x00\x01"), (0x020F, b"\x01"))),
        ESME_RMISSINGOPTPARAM,
    ),
    "SAR segment 0": (
        Part(b"hi", 0x00, 0, ((0x020C, b"\x00\x01"), (0x020E, b"\x02"), (0x020F, b"\x00"))),
        ESME_RINVOPTPARAMVAL,
    ),
    "UDH and SAR together": (Part(UDH8 + b"hi", 0x00, 0x40, SAR), ESME_RINVOPTPARAMVAL),
    "empty": (Part(b"", 0x00), ESME_RINVMSGLEN),
}


@pytest.mark.parametrize("case", list(INVALID_PARTS))
async def test_a_malformed_part_is_refused_and_recorded(smsc: SmscSimulator, case: str) -> None:
    part, status = INVALID_PARTS[case]
    async with esme(smsc) as session:
        resp = await submit(session, part)
        assert resp.command_status == status
        assert resp.message_id in (None, "")
        ok = await submit(session, Part(b"still fine", 0x00))  # the session goes on
        assert ok.command_status == ESME_ROK
    assert [(p.status, p.message_id) for p in smsc.invalid] == [(status, None)]
    assert smsc.invalid[0].error
    assert [m.text for m in smsc.messages] == ["still fine"]


async def test_the_parts_of_one_message_share_their_data_coding(smsc: SmscSimulator) -> None:
    gsm = submit_parts("a" * 200, 9)
    ucs2 = submit_parts("ж" * 100, 9)
    async with esme(smsc) as session:
        assert (await submit(session, gsm[0])).command_status == ESME_ROK
        assert (await submit(session, ucs2[1])).command_status == ESME_RINVDCS
        assert (await submit(session, gsm[1])).command_status == ESME_ROK
    assert [m.text for m in smsc.messages] == ["a" * 200]


# --- receipts ---------------------------------------------------------------------------------


@pytest.mark.parametrize("state", RECEIPT_STATES)
async def test_a_receipt_carries_the_id_and_the_state(
    make_smsc: Callable[..., Awaitable[SmscSimulator]], state: Any
) -> None:
    sim = await make_smsc(receipt_state=state)
    text = "Votre rendez-vous est confirmé pour demain"
    async with esme(sim) as session:
        resp = await submit(session, submit_parts(text, 1)[0], registered_delivery=1)
        event = await next_deliver(session)
    assert is_receipt(event.esm_class)
    assert (event.source_addr, event.destination_addr) == (MOBILE, OUR_NUMBER)
    by_tlvs = parse_receipt(event.short_message, tlvs_of(event))
    by_text = parse_receipt(event.short_message)  # the text alone says the same
    assert by_tlvs is not None
    assert by_text is not None
    assert (by_tlvs.message_id, by_tlvs.state) == (resp.message_id, state)
    assert (by_text.message_id, by_text.state) == (resp.message_id, state)
    assert by_text.text == text[:20]
    assert sim.deliver_sm_resps == [ESME_ROK]
    assert [(r.message_id, r.state, r.status) for r in sim.receipts] == [
        (resp.message_id, state, ESME_ROK)
    ]


async def test_one_receipt_per_part_and_undeliv_for_fail_to(
    make_smsc: Callable[..., Awaitable[SmscSimulator]],
) -> None:
    sim = await make_smsc(fail_to={"33699999999"})
    async with esme(sim) as session:
        good = [await submit(session, p, registered_delivery=1) for p in submit_parts("a" * 200, 3)]
        bad = await submit(
            session, Part(b"hi", 0), destination="33699999999", registered_delivery=1
        )
        receipts = [
            parse_receipt(e.short_message, tlvs_of(e))
            for e in [await next_deliver(session) for _ in range(3)]
        ]
    states = {r.message_id: r.state for r in receipts if r is not None}
    assert states == {
        good[0].message_id: "DELIVRD",
        good[1].message_id: "DELIVRD",
        bad.message_id: "UNDELIV",
    }


async def test_a_receipt_only_when_asked(smsc: SmscSimulator) -> None:
    async with esme(smsc) as session:
        silent = await submit(session, Part(b"no receipt", 0), registered_delivery=0)
        failures_only = await submit(session, Part(b"on failure", 0), registered_delivery=2)
        asked = await submit(session, Part(b"receipt", 0), registered_delivery=1)
        receipt = parse_receipt((await next_deliver(session)).short_message)
    assert receipt is not None
    assert receipt.message_id == asked.message_id  # the earlier ones sent none
    assert silent.message_id != asked.message_id != failures_only.message_id
    assert len(smsc.receipts) == 1


async def test_receipts_wait_for_a_receiver_then_go(smsc: SmscSimulator) -> None:
    async with esme(smsc, bind_type="TX") as transmitter:
        resp = await submit(transmitter, Part(b"hello", 0), registered_delivery=1)
        await wait_until(lambda: smsc.queued_receipts == 1, "the receipt queued")
        async with esme(smsc, bind_type="RX") as receiver:
            receipt = parse_receipt((await next_deliver(receiver)).short_message)
    assert receipt is not None
    assert receipt.message_id == resp.message_id
    assert smsc.queued_receipts == 0


async def test_a_receipt_not_acknowledged_is_sent_again(smsc: SmscSimulator) -> None:
    async with RawEsme.connect(smsc) as raw:
        assert await raw.bind() == ESME_ROK
        resp = await raw.request(
            "submit_sm",
            source_addr=OUR_NUMBER,
            destination_addr=MOBILE,
            short_message=b"hello",
            registered_delivery=1,
        )
        first = await raw.read()  # the receipt, never answered: the connection drops
        assert first.command == "deliver_sm"
    await wait_until(lambda: not smsc.bound, "the dropped session forgotten")
    async with esme(smsc) as session:
        again = parse_receipt((await next_deliver(session)).short_message)
    assert again is not None
    assert again.message_id == _text(resp.message_id)
    assert [r.message_id for r in smsc.receipts] == [again.message_id]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def test_an_unparseable_receipt_is_delivered_as_it_is(smsc: SmscSimulator) -> None:
    async with esme(smsc) as session:
        status = await smsc.send_raw_deliver(b"this is \x00 not a receipt \xff")
        event = await next_deliver(session)
    assert status == ESME_ROK
    assert is_receipt(event.esm_class)
    assert event.short_message == b"this is \x00 not a receipt \xff"
    assert parse_receipt(event.short_message, tlvs_of(event)) is None
    assert smsc.deliver_sm_resps == [ESME_ROK]


# --- mobile-originated ------------------------------------------------------------------------


@pytest.mark.parametrize("concat", ["udh8", "udh16", "sar"])
async def test_a_ucs2_mo_in_three_parts_out_of_order(smsc: SmscSimulator, concat: Concat) -> None:
    text = "Bonjour, je rappelle demain 😀 " + "ж" * 35 + "😀" + "ю" * 80
    assert measure(text).credits == 3
    assert measure(text).unicode
    async with esme(smsc) as session:
        statuses = await smsc.send_mo(MOBILE, OUR_NUMBER, text, concat=concat, order=[2, 0, 1])
        events = [await next_deliver(session) for _ in range(3)]
    assert statuses == [ESME_ROK] * 3
    assert smsc.deliver_sm_resps == [ESME_ROK] * 3
    assert all(e.data_coding == 0x08 and not is_receipt(e.esm_class) for e in events)
    reassembler = Reassembler()
    results = [
        reassembler.add(e.source_addr, e.destination_addr, Delivered.of(e), now=0.0) for e in events
    ]
    assert results[:2] == [None, None]
    assert results[2] is not None
    assert results[2].text == text
    assert results[2].parts == 3
    assert (events[0].source_addr, events[0].destination_addr) == (MOBILE, OUR_NUMBER)


async def test_a_gsm_mo_in_one_part_and_no_receiver(smsc: SmscSimulator) -> None:
    with pytest.raises(NoReceiver):
        await smsc.send_mo(MOBILE, OUR_NUMBER, "STOP")
    async with esme(smsc, bind_type="TX"):
        with pytest.raises(NoReceiver):
            await smsc.send_mo(MOBILE, OUR_NUMBER, "STOP")
    async with esme(smsc, bind_type="RX") as receiver:
        assert await smsc.send_mo(MOBILE, OUR_NUMBER, "STOP {€}") == [ESME_ROK]
        event = await next_deliver(receiver)
    assert (event.esm_class, event.data_coding) == (0, 0)
    assert event.short_message == b"STOP \x1b\x28\x1b\x65\x1b\x29"


# --- faults -----------------------------------------------------------------------------------


async def test_throttled_then_accepted(smsc: SmscSimulator) -> None:
    async with esme(smsc) as session:
        smsc.throttle(0.2)
        refused = await submit(session, Part(b"too fast", 0))
        assert refused.command_status == ESME_RTHROTTLED
        await wait_until(lambda: not smsc.throttling, "the throttle over")
        accepted = await submit(session, Part(b"now", 0))
    assert accepted.command_status == ESME_ROK
    assert accepted.message_id
    assert smsc.throttled == 1
    assert [m.text for m in smsc.messages] == ["now"]


async def test_throttled_from_the_start_and_queue_full(
    make_smsc: Callable[..., Awaitable[SmscSimulator]],
) -> None:
    sim = await make_smsc(throttle_seconds=60, queue_full=True)
    async with esme(sim) as session:
        assert (await submit(session, Part(b"x", 0))).command_status == ESME_RTHROTTLED
        sim.throttle(0)
        assert (await submit(session, Part(b"x", 0))).command_status == ESME_RMSGQFUL
        sim.config.queue_full = False
        assert (await submit(session, Part(b"x", 0))).command_status == ESME_ROK


async def test_response_delay_holds_each_answer(
    make_smsc: Callable[..., Awaitable[SmscSimulator]],
) -> None:
    sim = await make_smsc(response_delay=0.2)
    async with esme(sim) as session:
        started = time.monotonic()
        resps = await asyncio.gather(*(submit(session, Part(b"m%d" % i, 0)) for i in range(5)))
        elapsed = time.monotonic() - started
    assert all(r.command_status == ESME_ROK for r in resps)
    assert 0.2 <= elapsed < 1.0  # concurrent, through the window


async def test_the_smsc_drops_the_connection_with_10_pdus_in_flight(
    make_smsc: Callable[..., Awaitable[SmscSimulator]],
) -> None:
    sim = await make_smsc(drop_after_in_flight=10)
    texts = [f"message {i}" for i in range(10)]
    async with esme(sim) as session:
        results = await asyncio.gather(
            *(submit(session, Part(t.encode(), 0), registered_delivery=1) for t in texts),
            return_exceptions=True,
        )
        assert all(isinstance(r, smpp34.SmppError) for r in results), results
        assert all("ESME_RSYSERR" in str(r) for r in results)
        assert isinstance(await within(session.next()), smpp34.Disconnected)
    assert len(sim.unanswered) == 10
    assert sorted(p.text for p in sim.unanswered) == sorted(texts)
    # taken though never answered (drop_taken): the uncertain case
    assert sorted(m.text for m in sim.messages) == sorted(texts)
    unknown_ids = {p.message_id for p in sim.unanswered}
    async with esme(sim) as session:  # a new bind works: the fault fired once
        receipts = [parse_receipt((await next_deliver(session)).short_message) for _ in texts]
        assert {r.message_id for r in receipts if r is not None} == unknown_ids
        again = await submit(session, Part(b"message 0", 0))  # a resend ...
        assert again.command_status == ESME_ROK
    assert [m.text for m in sim.duplicates()] == ["message 0"]  # ... counted


async def test_a_drop_may_lose_what_was_in_flight(
    make_smsc: Callable[..., Awaitable[SmscSimulator]],
) -> None:
    sim = await make_smsc(drop_after_in_flight=3, drop_taken=False)
    async with esme(sim) as session:
        results = await asyncio.gather(
            *(submit(session, Part(b"x%d" % i, 0), registered_delivery=1) for i in range(3)),
            return_exceptions=True,
        )
    assert all(isinstance(r, smpp34.SmppError) for r in results)
    assert len(sim.unanswered) == 3
    assert sim.messages == []
    assert sim.accepted == []
    assert sim.queued_receipts == 0


async def test_the_smsc_restarts_on_the_same_port(smsc: SmscSimulator) -> None:
    port = smsc.port
    async with esme(smsc) as session:
        assert (await submit(session, Part(b"before", 0))).command_status == ESME_ROK
        await smsc.restart()
        assert isinstance(await within(session.next()), smpp34.Disconnected)
    assert smsc.port == port
    assert smsc.bound == []
    async with esme(smsc) as session:
        assert (await submit(session, Part(b"after", 0))).command_status == ESME_ROK
    assert smsc.binds == 2
    assert [m.text for m in smsc.messages] == ["before", "after"]


async def test_drop_connections(smsc: SmscSimulator) -> None:
    async with esme(smsc) as first, esme(smsc, bind_type="RX") as second:
        await wait_until(lambda: len(smsc.bound) == 2, "both bound")
        await smsc.drop_connections()
        assert isinstance(await within(first.next()), smpp34.Disconnected)
        assert isinstance(await within(second.next()), smpp34.Disconnected)
    assert smsc.bound == []
    async with esme(smsc):
        assert len(smsc.bound) == 1


async def test_a_client_that_vanishes_mid_answer(
    make_smsc: Callable[..., Awaitable[SmscSimulator]],
) -> None:
    sim = await make_smsc(response_delay=0.1)
    async with RawEsme.connect(sim) as raw:
        assert await raw.bind() == ESME_ROK
        raw.send(
            "submit_sm",
            source_addr=OUR_NUMBER,
            destination_addr=MOBILE,
            short_message=b"gone",
            registered_delivery=1,
        )
        await wait_until(lambda: len(sim.received) == 1, "the submit received")
        raw.writer.write(b"\x00\x00\x00\x40\x00\x00")  # half a PDU, then a reset
    await wait_until(lambda: len(sim.unanswered) == 1, "the answer lost")
    assert sim.bound == []
    assert [m.text for m in sim.messages] == ["gone"]  # taken before the answer
    await wait_until(lambda: sim.queued_receipts == 1, "its receipt waiting for a receiver")


# --- the rest of the protocol -----------------------------------------------------------------


async def test_enquire_link_generic_nack_and_bind_states(smsc: SmscSimulator) -> None:
    async with RawEsme.connect(smsc) as raw:
        resp = await raw.request("enquire_link")  # answered before a bind too
        assert (resp.command, resp.status) == ("enquire_link_resp", ESME_ROK)
        early = await raw.request(
            "submit_sm", source_addr=OUR_NUMBER, destination_addr=MOBILE, short_message=b"x"
        )
        assert (early.command, early.status) == ("submit_sm_resp", ESME_RINVBNDSTS)
        assert await raw.bind() == ESME_ROK
        assert await raw.bind() == ESME_RALYBND
        resp = await raw.request("enquire_link")
        assert (resp.command, resp.status) == ("enquire_link_resp", ESME_ROK)
        raw.writer.write(struct.pack(">LLLL", 16, 0x00000077, 0, 4242))  # no such command
        nack = await raw.read()
        assert (nack.command, nack.status, nack.sequence) == ("generic_nack", ESME_RINVCMDID, 4242)
        query = await raw.request("query_sm", message_id="1", source_addr=OUR_NUMBER)
        assert (query.command, query.status) == ("generic_nack", ESME_RINVCMDID)
        resp = await raw.request("unbind")
        assert resp.command == "unbind_resp"
        assert await within(raw.reader.read()) == b""  # then it closes
    assert smsc.enquire_links == 2
    assert smsc.received[0].status == ESME_RINVBNDSTS


async def test_a_receiver_may_not_submit(smsc: SmscSimulator) -> None:
    # (smpp34 itself panics on a submit_sm in a receiver bind: a raw ESME sends it)
    async with RawEsme.connect(smsc) as raw:
        assert await raw.bind(mode="receiver") == ESME_ROK
        resp = await raw.request(
            "submit_sm", source_addr=OUR_NUMBER, destination_addr=MOBILE, short_message=b"x"
        )
    assert resp.status == ESME_RINVBNDSTS
    assert smsc.messages == []


def test_the_configuration_is_checked() -> None:
    bad: dict[str, Any]
    for bad in (
        {"port": 70000},
        {"receipt_delay": -1},
        {"receipt_state": "GONE"},
        {"drop_after_in_flight": 0},
        {"accounts": {}},
        {"accounts": {"x" * 16: "pw"}},
        {"accounts": {"esme": "nine-char"}},
        {"accounts": {"esme": ""}},
    ):
        with pytest.raises(ValueError):  # noqa: PT011 - each names its own field
            SmscConfig(**bad)
    assert "s3cret" not in repr(SmscConfig(accounts={SYSTEM_ID: PASSWORD}))


# --- the command ------------------------------------------------------------------------------


@pytest.mark.parametrize("via", ["env", "stdin"])
async def test_the_smsc_sim_command(tmp_path: Path, via: str) -> None:
    """``bannertui smsc-sim --port 0``: one line saying where it listens, then one line per
    bind, message and receipt (no raw control characters, never the password); SIGTERM
    stops it with status 0."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANNERTUI_")}
    env.update(BANNERTUI_DATA_DIR=str(tmp_path / "data"))
    args = [str(BIN), "smsc-sim", "--port", "0", "--system-id", SYSTEM_ID]
    args += ["--receipt-delay", "0", "--fail-to", "33699999999"]
    if via == "env":
        env["BANNERTUI_SMSC_SIM_PASSWORD"] = PASSWORD
    else:
        args.append("--password-stdin")
    proc = await asyncio.create_subprocess_exec(
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    assert proc.stderr is not None
    try:
        if via == "stdin":
            proc.stdin.write(PASSWORD.encode() + b"\n")
            await proc.stdin.drain()
        proc.stdin.close()
        first = (await within(proc.stdout.readline())).decode()
        prefix = "SMSC simulator listening on 127.0.0.1:"
        assert first.startswith(prefix), first
        port = int(first.removeprefix(prefix))
        client = smpp34.Client(
            host="127.0.0.1", port=port, system_id=SYSTEM_ID, password=PASSWORD, bind_type="TRX"
        )
        session = await client.connect()
        text = "Hello \x1b[31mred\x1b[0m " + "ж" * 80  # UCS-2, 2 parts
        for part in submit_parts(text, 5):
            assert (await submit(session, part, registered_delivery=1)).command_status == 0
        for _ in range(2):
            await next_deliver(session)
        await session.unbind()
        await client.stop()
        lines: list[str] = []
        while not any("disconnected" in line for line in lines):
            lines.append((await within(proc.stdout.readline())).decode())
        proc.send_signal(signal.SIGTERM)
        out, err = await within(proc.communicate())
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    log = "".join(lines) + out.decode()
    assert proc.returncode == 0, err
    assert err == b""
    assert f"bind transceiver by '{SYSTEM_ID}'" in log
    assert "2 parts, 2 credits (UCS-2)" in log
    assert log.count("DELIVRD") == 2
    assert "\x1b" not in log
    assert PASSWORD not in log


def test_the_demo_account_is_the_default() -> None:
    assert list(SmscConfig().accounts) == [DEMO_SYSTEM_ID]
