"""An SMPP 3.4 SMSC simulator over loopback TCP, for the demo, the tests and the benchmarks of
the SMPP connector (``bannertui smsc-sim``).

Every PDU is encoded and decoded by the ``smpplib`` codec; this module only frames them (the
4-octet ``command_length`` first) and plays the SMSC:

* **Binds**: ``bind_transceiver``, ``bind_transmitter`` and ``bind_receiver`` with a
  ``system_id`` of :attr:`SmscConfig.accounts` and its password; else the ``*_resp`` carries
  ESME_RINVSYSID (0x0F) or ESME_RINVPASWD (0x0E) — ESME_RBINDFAIL (0x0D) for every bind
  with ``reject_binds`` — and the connection is closed.  ``enquire_link`` is answered in any
  state, ``unbind`` answered and the connection closed, an unknown or unsupported command
  answered ``generic_nack`` ESME_RINVCMDID (0x03), a ``submit_sm`` outside a transmitter or
  transceiver bind ESME_RINVBNDSTS (0x04).
* **Each submit_sm is validated** as the connector must send it (:mod:`bannertui.domain.smpp`):
  ``data_coding`` 0x00 (GSM 03.38, one octet per septet, an extension character as 0x1B +
  its code) or 0x08 (UCS-2, UTF-16-BE); a single part of up to 160 septets / 140 octets, a
  concatenated one (UDH IEI 0x00 or 0x08 with ``esm_class`` 0x40, or the SAR TLVs) of up to
  153 septets / 134 octets after its header, never ending inside an escape or a surrogate
  pair, its parts in one ``data_coding``.  A part that is not is refused (:data:`INVALID`
  names the statuses) and kept in :attr:`SmscSimulator.invalid`.  The accepted parts are
  reassembled by :class:`bannertui.domain.smpp.Reassembler` into
  :attr:`SmscSimulator.messages`, the text exactly as decoded.
* **Message ids**: a hex counter after a prefix of the simulator (16 characters), unique.
* **Delivery receipts** (unless ``receipts`` is off): for each accepted part that asks for
  one (``registered_delivery`` bit 0; bit 1 alone: only for a failure), ``receipt_delay``
  seconds after its answer, a ``deliver_sm`` (``esm_class`` 0x04) to a receiver or
  transceiver session of the same ``system_id`` with the standard text ``id:… sub:001
  dlvrd:… submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:… err:… text:…`` and the
  ``receipted_message_id`` / ``message_state`` TLVs; ``receipt_state`` (DELIVRD), UNDELIV
  for a destination in ``fail_to``.  Receipts wait while no such session is bound, and go
  when one binds; one whose ``deliver_sm_resp`` never came (the connection dropped) is sent
  again.
* **Mobile-originated texts**: :meth:`SmscSimulator.send_mo` (any concatenation, parts in any
  order) and :meth:`SmscSimulator.send_raw_deliver` (e.g. a receipt nobody can parse).

Faults (the flags of :class:`SmscConfig` are read on each PDU: change them on ``sim.config``
while it runs): ``response_delay`` before each ``submit_sm_resp``; ``reject_binds``;
:meth:`SmscSimulator.throttle` (every ``submit_sm`` answered ESME_RTHROTTLED 0x58 for a
while; ``throttle_seconds`` from the start); ``queue_full`` (ESME_RMSGQFUL 0x14);
``drop_after_in_flight`` (hold the answers of a session's ``submit_sm`` until that many are
in flight, then close its connection without answering them, once; they are kept in
:attr:`SmscSimulator.unanswered` and, with ``drop_taken``, were taken: reassembled and
receipted with ids the ESME never learned — SMPP's uncertain case);
:meth:`SmscSimulator.restart` and :meth:`SmscSimulator.drop_connections`.
"""

from __future__ import annotations

import asyncio
import hmac
import itertools
import logging
import struct
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal, Self, cast, get_args

import smpplib.command
import smpplib.consts
import smpplib.exceptions
import smpplib.smpp

from bannertui.domain.smpp import (
    DATA_CODING_GSM,
    DATA_CODING_UCS2,
    ESC,
    ESM_DELIVERY_RECEIPT,
    ESM_UDHI,
    IEI_CONCAT_8,
    IEI_CONCAT_16,
    MESSAGE_STATES,
    TAG_MESSAGE_PAYLOAD,
    TAG_SAR_MSG_REF_NUM,
    TAG_SAR_SEGMENT_SEQNUM,
    TAG_SAR_TOTAL_SEGMENTS,
    Concat,
    MalformedPart,
    Reassembler,
    ReceiptState,
    decode_text,
    submit_parts,
)
from bannertui.domain.sms import GSM_EXTENSION, measure
from bannertui.domain.text import one_line
from bannertui.simulator.base import stop_on_signals

__all__ = [
    "DEMO_PASSWORD",
    "DEMO_SYSTEM_ID",
    "BindType",
    "BoundSession",
    "NoReceiver",
    "ReceivedMessage",
    "ReceivedPart",
    "SentReceipt",
    "SmscConfig",
    "SmscSimulator",
    "run_smsc_simulator",
]

logger = logging.getLogger(__name__)

#: The demo account: fixed, so that a demo's connector settings survive a restart.
DEMO_SYSTEM_ID: Final = "bannertui"
DEMO_PASSWORD: Final = "demo-sim"  # the loopback demo's, not a secret
#: What the SMSC calls itself in its ``bind_*_resp``.
SMSC_SYSTEM_ID: Final = "bannertui-smsc"

# command_status values (SMPP 3.4 section 5.1.3; ESME_RINVDCS is SMPP 5.0's).
ESME_ROK: Final = smpplib.consts.SMPP_ESME_ROK
ESME_RINVMSGLEN: Final = smpplib.consts.SMPP_ESME_RINVMSGLEN
ESME_RINVCMDLEN: Final = smpplib.consts.SMPP_ESME_RINVCMDLEN
ESME_RINVCMDID: Final = smpplib.consts.SMPP_ESME_RINVCMDID
ESME_RINVBNDSTS: Final = smpplib.consts.SMPP_ESME_RINVBNDSTS
ESME_RALYBND: Final = smpplib.consts.SMPP_ESME_RALYBND
ESME_RSYSERR: Final = smpplib.consts.SMPP_ESME_RSYSERR
ESME_RINVDSTADR: Final = smpplib.consts.SMPP_ESME_RINVDSTADR
ESME_RBINDFAIL: Final = smpplib.consts.SMPP_ESME_RBINDFAIL
ESME_RINVPASWD: Final = smpplib.consts.SMPP_ESME_RINVPASWD
ESME_RINVSYSID: Final = smpplib.consts.SMPP_ESME_RINVSYSID
ESME_RMSGQFUL: Final = smpplib.consts.SMPP_ESME_RMSGQFUL
ESME_RINVESMCLASS: Final = smpplib.consts.SMPP_ESME_RINVESMCLASS
ESME_RTHROTTLED: Final = smpplib.consts.SMPP_ESME_RTHROTTLED
ESME_RINVOPTPARSTREAM: Final = smpplib.consts.SMPP_ESME_RINVOPTPARSTREAM
ESME_ROPTPARNOTALLWD: Final = smpplib.consts.SMPP_ESME_ROPTPARNOTALLWD
ESME_RMISSINGOPTPARAM: Final = smpplib.consts.SMPP_ESME_RMISSINGOPTPARAM
ESME_RINVOPTPARAMVAL: Final = smpplib.consts.SMPP_ESME_RINVOPTPARAMVAL
ESME_RX_T_APPN: Final = smpplib.consts.SMPP_ESME_RX_T_APPN
ESME_RINVDCS: Final = 0x00000104

#: The statuses a ``submit_sm`` failing validation is answered with, and why.
INVALID: Final[dict[int, str]] = {
    ESME_RINVDCS: "data_coding other than 0x00 / 0x08, or octets that are not of it",
    ESME_RINVMSGLEN: "empty, too long, or ending inside an escape or a surrogate pair",
    ESME_RINVESMCLASS: "a user data header without a valid concatenation element",
    ESME_RMISSINGOPTPARAM: "some of the SAR TLVs but not all three",
    ESME_RINVOPTPARAMVAL: "a segment number outside 1..total, or UDH and SAR together",
    ESME_ROPTPARNOTALLWD: "short_message and message_payload together",
    ESME_RINVOPTPARSTREAM: "TLVs the codec cannot read",
    ESME_RINVDSTADR: "no destination address",
}

STATUS_NAMES: Final[dict[int, str]] = {
    value: name.removeprefix("SMPP_")
    for name, value in vars(smpplib.consts).items()
    if name.startswith("SMPP_ESME_R") and isinstance(value, int)
} | {ESME_RINVDCS: "ESME_RINVDCS"}

BindType = Literal["transceiver", "transmitter", "receiver"]
_BIND_COMMANDS: Final[dict[str, BindType]] = {
    "bind_transceiver": "transceiver",
    "bind_transmitter": "transmitter",
    "bind_receiver": "receiver",
}
RECEIPT_STATES: Final[tuple[str, ...]] = get_args(ReceiptState)
_STATE_CODES: Final[dict[str, int]] = {state: code for code, state in MESSAGE_STATES.items()}
_FAILED_STATES: Final = frozenset({"UNDELIV", "REJECTD", "EXPIRED", "DELETED", "UNKNOWN"})
#: A deliver_sm_resp with one of these is a "not now": the receipt is sent again (a few times).
_TEMPORARY: Final = frozenset({ESME_RX_T_APPN, ESME_RMSGQFUL, ESME_RTHROTTLED, ESME_RSYSERR})
RECEIPT_ATTEMPTS: Final = 5

HEADER_BYTES: Final = 16
MAX_PDU_BYTES: Final = 64 * 1024 + HEADER_BYTES
MAX_SEQUENCE: Final = 0x7FFFFFFF
#: User data of one part: septets of GSM (one octet each, unpacked) or octets of UCS-2.
SINGLE_SEPTETS, PART_SEPTETS = 160, 153
SINGLE_UCS2_OCTETS, PART_UCS2_OCTETS = 140, 134
MAX_PAYLOAD_OCTETS: Final = 64 * 1024
#: SMPP 3.4's C-octet string limits, terminating NUL excluded.
MAX_SYSTEM_ID, MAX_PASSWORD = 15, 8

Tlvs = tuple[tuple[int, bytes], ...]


def status_name(status: int) -> str:
    """``ESME_RTHROTTLED (0x58)``."""
    return f"{STATUS_NAMES.get(status, 'status')} (0x{status:02X})"


# --- configuration ----------------------------------------------------------------------------


@dataclass
class SmscConfig:
    """How the simulator behaves; times are seconds.  The fault flags may be changed on a
    running simulator's ``config``: each PDU reads them afresh."""

    host: str = "127.0.0.1"
    port: int = 0  # 0: a free port (SmscSimulator.port tells which)
    #: system_id → password (at most 15 and 8 characters, SMPP 3.4's limits).
    accounts: dict[str, str] = field(
        default_factory=lambda: {DEMO_SYSTEM_ID: DEMO_PASSWORD}, repr=False
    )
    #: From a part's submit_sm_resp to its delivery receipt.
    receipt_delay: float = 0.05
    #: Send delivery receipts (those the submit_sm ask for); off: none at all (benchmarks).
    receipts: bool = True
    receipt_state: ReceiptState = "DELIVRD"
    #: Destination numbers (as submitted) whose receipts say UNDELIV.
    fail_to: set[str] = field(default_factory=set)
    #: Before each submit_sm_resp.
    response_delay: float = 0.0
    #: Refuse every bind with ESME_RBINDFAIL.
    reject_binds: bool = False
    #: Answer every submit_sm ESME_RTHROTTLED for this long after start (see throttle()).
    throttle_seconds: float = 0.0
    #: Answer every submit_sm ESME_RMSGQFUL.
    queue_full: bool = False
    #: Hold a session's answers until this many submit_sm are in flight, then close its
    #: connection without answering them (once; SmscSimulator.drop_when_in_flight re-arms).
    drop_after_in_flight: int | None = None
    #: Whether the submits a drop left unanswered were taken (reassembled, receipted).
    drop_taken: bool = True
    #: How long send_mo / a receipt waits for each deliver_sm_resp.
    deliver_timeout: float = 10.0
    #: deliver_sm in flight per session at most (receipts and mobile-originated parts).
    deliver_window: int = 10
    #: An incomplete concatenated message is dropped this long after its first part.
    reassembly_timeout: float = 600.0

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be between 0 and 65535, not {self.port}")
        for name in (
            "receipt_delay",
            "response_delay",
            "throttle_seconds",
            "deliver_timeout",
            "reassembly_timeout",
        ):
            if not getattr(self, name) >= 0:  # NaN fails too
                raise ValueError(f"{name} must not be negative")
        if self.deliver_timeout == 0:
            raise ValueError("deliver_timeout must be positive")
        if self.receipt_state not in RECEIPT_STATES:
            raise ValueError(
                f"receipt_state must be one of {', '.join(RECEIPT_STATES)}, "
                f"not {self.receipt_state!r}"
            )
        if self.drop_after_in_flight is not None and self.drop_after_in_flight < 1:
            raise ValueError("drop_after_in_flight must be at least 1")
        if self.deliver_window < 1:
            raise ValueError("deliver_window must be at least 1")
        if not self.accounts:
            raise ValueError("accounts must hold at least one system_id")
        for system_id, password in self.accounts.items():
            if not isinstance(system_id, str) or not 1 <= len(system_id) <= MAX_SYSTEM_ID:
                raise ValueError(f"a system_id is 1 to {MAX_SYSTEM_ID} characters")
            if not system_id.isascii() or not system_id.isprintable():
                raise ValueError(f"system_id {system_id!r} must be printable ASCII")
            if not isinstance(password, str) or not 1 <= len(password) <= MAX_PASSWORD:
                raise ValueError(
                    f"the password of {system_id!r} must be 1 to {MAX_PASSWORD} characters"
                )
            if not password.isascii() or not password.isprintable():
                raise ValueError(f"the password of {system_id!r} must be printable ASCII")
        self.fail_to = set(self.fail_to)


# --- what is recorded -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BoundSession:
    """A bound ESME."""

    system_id: str
    bind_type: BindType
    peer: str

    @property
    def can_receive(self) -> bool:
        return self.bind_type != "transmitter"

    @property
    def can_submit(self) -> bool:
        return self.bind_type != "receiver"


@dataclass(frozen=True, slots=True)
class ReceivedPart:
    """One ``submit_sm`` as received, and what it was answered.

    ``message_id`` is set when the part was taken (accepted); ``status`` is the
    ``command_status`` answered (or that would have been, for an :attr:`SmscSimulator.unanswered`
    part: ESME_RSYSERR for one a drop lost without taking it); ``error`` says why it was
    refused."""

    system_id: str
    sequence: int
    source_addr: str
    source_addr_ton: int
    source_addr_npi: int
    destination_addr: str
    dest_addr_ton: int
    dest_addr_npi: int
    data_coding: int
    esm_class: int
    registered_delivery: int
    short_message: bytes
    tlvs: Tlvs
    message_id: str | None
    status: int
    error: str | None = None
    #: (reference, total, sequence number) when the part is one of a concatenated message.
    concat: tuple[int, int, int] | None = None
    #: The part's own text (its user data decoded), "" when it was refused.
    text: str = ""

    @property
    def accepted(self) -> bool:
        return self.message_id is not None


@dataclass(frozen=True, slots=True)
class ReceivedMessage:
    """A whole text reassembled from its accepted parts."""

    system_id: str
    source: str
    destination: str
    text: str
    parts: int
    message_ids: tuple[str, ...]  # in the parts' order (1..total)
    data_coding: int


@dataclass(frozen=True, slots=True)
class SentReceipt:
    """A delivery receipt acknowledged by the ESME (``status``: its deliver_sm_resp)."""

    system_id: str
    message_id: str
    state: ReceiptState
    short_message: bytes
    status: int


class NoReceiver(LookupError):
    """No receiver or transceiver session is bound to take a deliver_sm."""


# --- smpplib glue -----------------------------------------------------------------------------


class _Sequences:
    """What smpplib asks of a "client": ``next_sequence()``.  ``sequence`` must be None, or
    smpplib keeps it instead of the ``sequence=`` given to a PDU it makes."""

    sequence = None

    def __init__(self) -> None:
        self._next = itertools.count(1)

    def next_sequence(self) -> int:
        return (next(self._next) - 1) % MAX_SEQUENCE + 1


_CODEC = _Sequences()  # for parsing, where smpplib only needs one to exist
_TAG_NAMES: Final[dict[int, str]] = {
    code: name for name, code in smpplib.consts.OPTIONAL_PARAMS.items()
}
_OSTR: Final = smpplib.command.ostr


def _text_field(value: object) -> str:
    """A C-octet string field as smpplib parsed it (bytes), or as we set it (str)."""
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("latin-1")
    return "" if value is None else str(value)


def _int_field(value: object) -> int:
    return value if isinstance(value, int) else 0


def _tlvs_of(pdu: Any) -> Tlvs:
    """The optional parameters smpplib parsed into named attributes, back as (tag, value)
    pairs in the order smpplib knows them (a C-octet string with its NUL)."""
    out: list[tuple[int, bytes]] = []
    for name in pdu.params_order:
        if name not in smpplib.consts.OPTIONAL_PARAMS or not pdu.field_is_optional(name):
            continue
        value = getattr(pdu, name, None)
        if value is None:
            continue
        param = pdu.params[name]
        tag = smpplib.consts.OPTIONAL_PARAMS[name]
        if param.type is int:
            out.append((tag, int(value).to_bytes(param.size, "big")))
        elif param.type is str:
            raw = value if isinstance(value, bytes) else str(value).encode("latin-1")
            out.append((tag, raw + b"\x00"))
        elif param.type is _OSTR:
            out.append((tag, bytes(value)))
    return tuple(out)


def _tlv_kwargs(command: str, tlvs: Iterable[tuple[int, bytes]]) -> dict[str, Any]:
    """(tag, value) pairs as the named fields smpplib encodes; ``ValueError`` for a tag
    ``command`` cannot carry in smpplib."""
    params = smpplib.command.factory(command, client=_CODEC, sequence=1).params
    kwargs: dict[str, Any] = {}
    for tag, value in tlvs:
        name = _TAG_NAMES.get(tag)
        if name is None or name not in params:
            raise ValueError(f"TLV 0x{tag:04X} cannot be sent in a {command} with smpplib")
        param = params[name]
        if param.type is int:
            kwargs[name] = int.from_bytes(value, "big")
        elif param.type is str:
            kwargs[name] = value.split(b"\x00", 1)[0].decode("ascii")
        else:
            kwargs[name] = bytes(value)
    return kwargs


@dataclass(frozen=True, slots=True)
class _PartView:
    """A received part as :class:`bannertui.domain.smpp.PartLike`."""

    short_message: bytes
    data_coding: int
    esm_class: int
    tlvs: Tlvs


# --- validation -------------------------------------------------------------------------------


class _Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _user_data(
    short_message: bytes, esm_class: int, tlvs: dict[int, bytes]
) -> tuple[bytes, tuple[int, int, int] | None]:
    """The part's text octets and its concatenation (reference, total, seq), checked."""
    payload = tlvs.get(TAG_MESSAGE_PAYLOAD)
    if payload is not None and short_message:
        raise _Refused(ESME_ROPTPARNOTALLWD, "short_message and message_payload together")
    data = payload if payload is not None else short_message
    if not data:
        raise _Refused(ESME_RINVMSGLEN, "an empty message")
    concat: tuple[int, int, int] | None = None
    if esm_class & ESM_UDHI:
        end = 1 + data[0]
        if end > len(data):
            raise _Refused(ESME_RINVMSGLEN, f"a UDH of {data[0]} octets in {len(data)}")
        i = 1
        while i < end:
            if i + 2 > end or i + 2 + data[i + 1] > end:
                raise _Refused(ESME_RINVESMCLASS, "an information element past the UDH")
            iei, length = data[i], data[i + 1]
            value = data[i + 2 : i + 2 + length]
            if iei in (IEI_CONCAT_8, IEI_CONCAT_16):
                if concat is not None:
                    raise _Refused(ESME_RINVESMCLASS, "two concatenation elements")
                if iei == IEI_CONCAT_8 and length == 3:
                    concat = (value[0], value[1], value[2])
                elif iei == IEI_CONCAT_16 and length == 4:
                    concat = (int.from_bytes(value[:2], "big"), value[2], value[3])
                else:
                    raise _Refused(ESME_RINVESMCLASS, f"IEI 0x{iei:02X} of {length} octets")
            i += 2 + length
        if concat is None:
            raise _Refused(ESME_RINVESMCLASS, "UDHI set without a concatenation element")
        data = data[end:]
        if not data:
            raise _Refused(ESME_RINVMSGLEN, "a part with a header and no text")
    sar = [tlvs.get(tag) for tag in (TAG_SAR_MSG_REF_NUM, TAG_SAR_TOTAL_SEGMENTS)]
    sar.append(tlvs.get(TAG_SAR_SEGMENT_SEQNUM))
    if any(v is not None for v in sar):
        if any(v is None for v in sar):
            raise _Refused(ESME_RMISSINGOPTPARAM, "some of the SAR TLVs but not all three")
        if concat is not None:
            raise _Refused(ESME_RINVOPTPARAMVAL, "a concatenation UDH and the SAR TLVs")
        concat = cast(tuple[int, int, int], tuple(int.from_bytes(v or b"", "big") for v in sar))
    if concat is not None:
        _, total, seq = concat
        if not 1 <= seq <= total:
            status = ESME_RINVESMCLASS if esm_class & ESM_UDHI else ESME_RINVOPTPARAMVAL
            raise _Refused(status, f"segment {seq} of {total}")
        if payload is not None:
            raise _Refused(ESME_RINVOPTPARAMVAL, "message_payload in a concatenated part")
    return data, concat


def _check_gsm(data: bytes, *, part: bool, limit: int) -> None:
    i, n = 0, len(data)
    while i < n:
        code = data[i]
        if code > 0x7F:
            raise _Refused(ESME_RINVDCS, f"octet 0x{code:02X} is no GSM 03.38 septet")
        if code == ESC:
            if i + 1 == n:
                reason = "a part ends inside an escape pair" if part else "a bare escape"
                raise _Refused(ESME_RINVMSGLEN if part else ESME_RINVDCS, reason)
            if data[i + 1] not in GSM_EXTENSION:
                raise _Refused(ESME_RINVDCS, f"escape + 0x{data[i + 1]:02X} is no character")
            i += 1
        i += 1
    if n > limit:
        raise _Refused(ESME_RINVMSGLEN, f"{n} septets, at most {limit}")


def _check_ucs2(data: bytes, *, part: bool, limit: int) -> None:
    if len(data) % 2:
        raise _Refused(ESME_RINVDCS, f"an odd number of UCS-2 octets ({len(data)})")
    units = struct.unpack(f">{len(data) // 2}H", data)
    for index, unit in enumerate(units):
        if 0xD800 <= unit <= 0xDBFF:
            if index + 1 == len(units):
                if part:
                    raise _Refused(ESME_RINVMSGLEN, "a part ends inside a surrogate pair")
                raise _Refused(ESME_RINVDCS, "a lone high surrogate")
            if not 0xDC00 <= units[index + 1] <= 0xDFFF:
                raise _Refused(ESME_RINVDCS, "a lone high surrogate")
        elif 0xDC00 <= unit <= 0xDFFF and (index == 0 or not 0xD800 <= units[index - 1] <= 0xDBFF):
            if part and index == 0:
                raise _Refused(ESME_RINVMSGLEN, "a part starts inside a surrogate pair")
            raise _Refused(ESME_RINVDCS, "a lone low surrogate")
    if len(data) > limit:
        raise _Refused(ESME_RINVMSGLEN, f"{len(data)} UCS-2 octets, at most {limit}")


def _validate(
    short_message: bytes, data_coding: int, esm_class: int, tlvs: Tlvs, destination: str
) -> tuple[bytes, tuple[int, int, int] | None]:
    """The part's user data and concatenation; :class:`_Refused` when it is not valid."""
    if not destination:
        raise _Refused(ESME_RINVDSTADR, "no destination address")
    if data_coding not in (DATA_CODING_GSM, DATA_CODING_UCS2):
        raise _Refused(ESME_RINVDCS, f"data_coding 0x{data_coding:02X}")
    by_tag: dict[int, bytes] = {}
    for tag, value in tlvs:
        by_tag.setdefault(tag, value)
    data, concat = _user_data(short_message, esm_class, by_tag)
    part = concat is not None
    if data_coding == DATA_CODING_GSM:
        limit = PART_SEPTETS if part else SINGLE_SEPTETS
        check = _check_gsm
    else:
        limit = PART_UCS2_OCTETS if part else SINGLE_UCS2_OCTETS
        check = _check_ucs2
    if TAG_MESSAGE_PAYLOAD in by_tag:  # one whole text of any length
        limit = MAX_PAYLOAD_OCTETS
    check(data, part=part, limit=limit)
    return data, concat


# --- sessions ---------------------------------------------------------------------------------


class _Session:
    """One TCP connection and its bind."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, window: int):
        self.reader = reader
        self.writer = writer
        host, port, *_ = writer.get_extra_info("peername") or ("?", 0)
        self.peer = f"{host}:{port}"
        self.system_id: str | None = None
        self.bind_type: BindType | None = None
        self.sequences = _Sequences()
        self.waiting: dict[int, asyncio.Future[int]] = {}
        self.held: list[ReceivedPart] = []
        self.closed = False
        self.window = asyncio.Semaphore(window)

    @property
    def can_receive(self) -> bool:
        return self.bind_type in ("transceiver", "receiver") and not self.closed

    @property
    def can_submit(self) -> bool:
        return self.bind_type in ("transceiver", "transmitter")

    def send(self, pdu: Any) -> None:
        if not self.closed:
            self.writer.write(pdu.generate())

    def close(self, *, abort: bool = False) -> None:
        """Close (after what was written) or, with ``abort``, drop the connection at once."""
        self.closed = True
        if abort:
            self.writer.transport.abort()
        else:
            self.writer.close()
        for future in self.waiting.values():
            if not future.done():
                future.set_exception(ConnectionError("the connection closed"))


#: The reassembler's key: (account/source, destination, reference, total).
_Key = tuple[str, str, int, int]


def _origin(system_id: str, source: str) -> str:
    """The reassembler's source: parts of different accounts never join."""
    return f"{system_id}/{source}"


def _now_stamp(when: datetime) -> str:
    return when.strftime("%y%m%d%H%M")


def _receipt_text(part_text: str) -> str:
    """The receipt's ``text:`` field: the part's first 20 characters, printable ASCII."""
    return "".join(c if c.isascii() and c.isprintable() else "?" for c in part_text[:20])


@dataclass(slots=True)
class _Receipt:
    system_id: str
    message_id: str
    state: ReceiptState
    source: str  # the submit's destination (the handset)
    source_ton: int
    source_npi: int
    destination: str  # the submit's source (our number)
    dest_ton: int
    dest_npi: int
    submitted: datetime
    text: str
    done: datetime | None = None

    def short_message(self) -> bytes:
        done = self.done or datetime.now(UTC)
        delivered = "001" if self.state == "DELIVRD" else "000"
        err = "000" if self.state not in _FAILED_STATES else "001"
        return (
            f"id:{self.message_id} sub:001 dlvrd:{delivered} "
            f"submit date:{_now_stamp(self.submitted)} done date:{_now_stamp(done)} "
            f"stat:{self.state} err:{err} text:{self.text}"
        ).encode("ascii")


# --- the simulator ----------------------------------------------------------------------------


class SmscSimulator:
    """The SMSC: ``async with SmscSimulator(SmscConfig(...)) as smsc: ...`` (see the module)."""

    def __init__(self, config: SmscConfig | None = None) -> None:
        self.config = config or SmscConfig()
        self._port = self.config.port
        self._server: asyncio.Server | None = None
        self._sessions: set[_Session] = set()
        self._connections: set[asyncio.Task[Any]] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._queued: dict[str, deque[_Receipt]] = {}
        self._reassembler = Reassembler()
        #: key → {seq: part}, for the message ids of a message being reassembled
        self._pending: dict[_Key, dict[int, ReceivedPart]] = {}
        self._ids = itertools.count(1)
        self._id_prefix = uuid.uuid4().hex[:8]
        self._mo_reference = itertools.count(1)
        self._throttled_until = 0.0
        self._drop_after = self.config.drop_after_in_flight
        # what the tests read
        self.received: list[ReceivedPart] = []
        self.messages: list[ReceivedMessage] = []
        self.invalid: list[ReceivedPart] = []
        self.unanswered: list[ReceivedPart] = []
        self.receipts: list[SentReceipt] = []
        self.deliver_sm_resps: list[int] = []
        self.binds = 0
        self.bind_refusals = 0
        self.enquire_links = 0
        self.throttled = 0
        self.duplicate_parts = 0
        self.connections = 0
        #: Called with each whole message taken (the demo answers some with a text).
        self.on_message: Callable[[ReceivedMessage], None] | None = None

    # --- lifecycle ---

    @property
    def port(self) -> int:
        """The port it listens on (the one picked when the configuration said 0)."""
        return self._port

    @property
    def host(self) -> str:
        return self.config.host

    @property
    def running(self) -> bool:
        return self._server is not None

    async def start(self) -> int:
        """Listen; the port."""
        if self._server is not None:
            return self._port
        self._drop_after = self.config.drop_after_in_flight
        await self._listen()
        if self.config.throttle_seconds:
            self.throttle(self.config.throttle_seconds)
        logger.debug("SMSC simulator listening on %s:%d", self.config.host, self._port)
        return self._port

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._serve, self.config.host, self._port, reuse_address=True
        )
        self._port = int(self._server.sockets[0].getsockname()[1])

    async def _close_server(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        await self.drop_connections()
        if server is not None:
            await server.wait_closed()

    async def stop(self) -> None:
        """Close every connection, stop listening, cancel every task of its own."""
        await self._close_server()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()

    async def restart(self) -> None:
        """The SMSC restarted: every connection dropped, then listening again on the same
        port.  What it took (messages, receipts to send) it keeps."""
        await self._close_server()
        await self._listen()
        logger.info("SMSC simulator restarted on %s:%d", self.config.host, self._port)

    async def drop_connections(self) -> None:
        """Drop every connection at once (no unbind), and wait until each is forgotten."""
        for session in list(self._sessions):
            session.close(abort=True)
        tasks = list(self._connections)
        if tasks:
            await asyncio.wait(tasks, timeout=5)
        for task in tasks:
            if not task.done():
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # --- faults ---

    def throttle(self, seconds: float) -> None:
        """Answer every submit_sm ESME_RTHROTTLED for ``seconds`` from now (0 ends it)."""
        if not seconds >= 0:
            raise ValueError("seconds must not be negative")
        self._throttled_until = asyncio.get_running_loop().time() + seconds
        if seconds:
            logger.info("throttling every submit_sm for %.3g s", seconds)

    @property
    def throttling(self) -> bool:
        return asyncio.get_running_loop().time() < self._throttled_until

    def drop_when_in_flight(self, count: int | None) -> None:
        """Arm (or, with None, disarm) the drop of ``drop_after_in_flight``."""
        if count is not None and count < 1:
            raise ValueError("count must be at least 1")
        self._drop_after = count

    # --- what it holds ---

    @property
    def bound(self) -> list[BoundSession]:
        return [
            BoundSession(s.system_id, s.bind_type, s.peer)
            for s in self._sessions
            if s.system_id is not None and s.bind_type is not None and not s.closed
        ]

    @property
    def accepted(self) -> list[ReceivedPart]:
        return [part for part in self.received if part.accepted]

    @property
    def queued_receipts(self) -> int:
        """Receipts waiting for a receiver or transceiver session."""
        return sum(len(queue) for queue in self._queued.values())

    def duplicates(self) -> list[ReceivedMessage]:
        """The messages that repeat an earlier one (same account, numbers and text)."""
        seen: set[tuple[str, str, str, str]] = set()
        repeated: list[ReceivedMessage] = []
        for message in self.messages:
            key = (message.system_id, message.source, message.destination, message.text)
            if key in seen:
                repeated.append(message)
            seen.add(key)
        return repeated

    # --- connections ---

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        session = _Session(reader, writer, self.config.deliver_window)
        self._sessions.add(session)
        self.connections += 1
        try:
            await self._read_loop(session)
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass  # the ESME went away: what it left is handled below
        finally:
            if not session.closed:
                session.close(abort=True)
            self._forget(session)
            self._connections.discard(task)

    async def _read_loop(self, session: _Session) -> None:
        while not session.closed:
            head = await session.reader.readexactly(4)
            (length,) = struct.unpack(">L", head)
            if not HEADER_BYTES <= length <= MAX_PDU_BYTES:
                logger.warning("%s: command_length %d: closing", session.peer, length)
                self._nack(session, 0, ESME_RINVCMDLEN)
                session.close()
                return
            data = head + await session.reader.readexactly(length - 4)
            try:
                self._on_pdu(session, data)
            except Exception:  # a bug of ours: answer it as one, keep the session
                logger.exception("%s: PDU not handled", session.peer)
                (command_id, sequence) = struct.unpack(">L4xL", data[4:16])
                if not command_id & 0x80000000:
                    self._nack(session, sequence, ESME_RSYSERR)
            await session.writer.drain()

    def _forget(self, session: _Session) -> None:
        """A connection ended: its submits left unanswered, its receipts in flight."""
        if session not in self._sessions:
            return
        self._sessions.discard(session)
        held, session.held = session.held, []
        self._lost(held)
        if session.system_id is not None:
            logger.info(
                "%s %r from %s disconnected", session.bind_type, session.system_id, session.peer
            )

    def _lost(self, parts: Sequence[ReceivedPart]) -> None:
        """Parts whose answer will never go: unanswered; the taken ones still receipted."""
        for part in parts:
            self.unanswered.append(part)
            if part.accepted:
                self._after_answer(part)
        if parts:
            logger.warning("%d submit_sm left unanswered", len(parts))

    # --- PDUs ---

    def _nack(self, session: _Session, sequence: int, status: int) -> None:
        session.send(
            smpplib.smpp.make_pdu(
                "generic_nack", client=session.sequences, sequence=sequence, status=status
            )
        )

    def _on_pdu(self, session: _Session, data: bytes) -> None:
        command_id, status, sequence = struct.unpack(">LLL", data[4:16])
        try:
            pdu = smpplib.smpp.parse_pdu(
                data, client=_CODEC, sequence=0, allow_unknown_opt_params=True
            )
        except smpplib.exceptions.UnknownCommandError:
            if not command_id & 0x80000000:
                logger.info("%s: command 0x%08X: generic_nack", session.peer, command_id)
                self._nack(session, sequence, ESME_RINVCMDID)
            return
        except Exception as exc:  # smpplib raises anything on a bad body
            logger.warning("%s: unreadable PDU 0x%08X: %.80r", session.peer, command_id, str(exc))
            if command_id == 0x00000004:  # submit_sm
                self._answer(session, sequence, ESME_RINVOPTPARSTREAM)
            elif not command_id & 0x80000000:
                self._nack(session, sequence, ESME_RINVCMDLEN)
            return
        name = pdu.command
        if name in _BIND_COMMANDS:
            self._on_bind(session, pdu, _BIND_COMMANDS[name])
        elif name == "enquire_link":
            self.enquire_links += 1
            session.send(
                smpplib.smpp.make_pdu(
                    "enquire_link_resp", client=session.sequences, sequence=sequence
                )
            )
        elif name == "unbind":
            session.send(
                smpplib.smpp.make_pdu("unbind_resp", client=session.sequences, sequence=sequence)
            )
            logger.info("unbind by %r from %s", session.system_id, session.peer)
            session.close()
        elif name == "submit_sm":
            self._on_submit(session, pdu)
        elif name in ("deliver_sm_resp", "generic_nack"):
            if name == "deliver_sm_resp":
                self.deliver_sm_resps.append(status)
            future = session.waiting.pop(sequence, None)
            if future is not None and not future.done():
                future.set_result(status)
        elif name.endswith("_resp"):
            pass  # an answer to nothing we asked
        else:
            logger.info("%s: %s not supported: generic_nack", session.peer, name)
            self._nack(session, sequence, ESME_RINVCMDID)

    def _on_bind(self, session: _Session, pdu: Any, bind_type: BindType) -> None:
        system_id = _text_field(pdu.system_id)
        password = _text_field(pdu.password)
        status = ESME_ROK
        if session.bind_type is not None:
            status = ESME_RALYBND
        elif self.config.reject_binds:
            status = ESME_RBINDFAIL
        elif system_id not in self.config.accounts:
            status = ESME_RINVSYSID
        elif not hmac.compare_digest(
            password.encode("latin-1"), self.config.accounts[system_id].encode("latin-1")
        ):
            status = ESME_RINVPASWD
        session.send(
            smpplib.smpp.make_pdu(
                f"bind_{bind_type}_resp",
                client=session.sequences,
                sequence=pdu.sequence,
                status=status,
                system_id=SMSC_SYSTEM_ID if status == ESME_ROK else "",
            )
        )
        if status == ESME_RALYBND:
            logger.info("%s: bind again while bound: %s", session.peer, status_name(status))
            return
        if status != ESME_ROK:
            self.bind_refusals += 1
            logger.info(
                "bind %s by %r from %s refused: %s",
                bind_type,
                system_id,
                session.peer,
                status_name(status),
            )
            session.close()
            return
        session.system_id, session.bind_type = system_id, bind_type
        self.binds += 1
        logger.info("bind %s by %r from %s", bind_type, system_id, session.peer)
        if session.can_receive and self._queued.get(system_id):
            queued, self._queued[system_id] = self._queued[system_id], deque()
            logger.info("%d queued receipts for %r", len(queued), system_id)
            for receipt in queued:
                self._spawn(self._send_receipt(receipt))

    # --- submit_sm ---

    def _answer(self, session: _Session, sequence: int, status: int, message_id: str = "") -> None:
        session.send(
            smpplib.smpp.make_pdu(
                "submit_sm_resp",
                client=session.sequences,
                sequence=sequence,
                status=status,
                message_id=message_id,
            )
        )

    def _new_message_id(self) -> str:
        return f"{self._id_prefix}{next(self._ids):08x}"

    def _on_submit(self, session: _Session, pdu: Any) -> None:
        fields = {
            "system_id": session.system_id or "",
            "sequence": pdu.sequence,
            "source_addr": _text_field(pdu.source_addr),
            "source_addr_ton": _int_field(pdu.source_addr_ton),
            "source_addr_npi": _int_field(pdu.source_addr_npi),
            "destination_addr": _text_field(pdu.destination_addr),
            "dest_addr_ton": _int_field(pdu.dest_addr_ton),
            "dest_addr_npi": _int_field(pdu.dest_addr_npi),
            "data_coding": _int_field(pdu.data_coding),
            "esm_class": _int_field(pdu.esm_class),
            "registered_delivery": _int_field(pdu.registered_delivery),
            "short_message": bytes(pdu.short_message or b""),
            "tlvs": _tlvs_of(pdu),
        }
        part = self._take(session, fields)
        self.received.append(part)
        if self._drop_after is not None:
            session.held.append(part)
            if len(session.held) >= self._drop_after:
                self._drop_after = None
                held, session.held = session.held, []
                logger.warning(
                    "dropping the connection of %r with %d submit_sm in flight",
                    session.system_id,
                    len(held),
                )
                session.close(abort=True)
                self._lost(held)
            return
        delay = self.config.response_delay
        if delay > 0:
            self._spawn(self._answer_later(session, part, delay))
        else:
            self._answer(session, part.sequence, part.status, part.message_id or "")
            self._after_answer(part)

    def _take(self, session: _Session, fields: dict[str, Any]) -> ReceivedPart:
        """The part refused (with why) or taken: an id, into reassembly."""
        if not session.can_submit:
            return self._refuse(fields, ESME_RINVBNDSTS, "not bound to submit")
        if self.throttling:
            self.throttled += 1
            return self._refuse(fields, ESME_RTHROTTLED, "throttled")
        if self.config.queue_full:
            return self._refuse(fields, ESME_RMSGQFUL, "queue full")
        try:
            data, concat = _validate(
                fields["short_message"],
                fields["data_coding"],
                fields["esm_class"],
                fields["tlvs"],
                fields["destination_addr"],
            )
            key: _Key | None = None
            if concat is not None and concat[1] > 1:
                key = (
                    _origin(fields["system_id"], fields["source_addr"]),
                    fields["destination_addr"],
                    concat[0],
                    concat[1],
                )
                pending = self._pending.get(key)
                if pending:
                    first = next(iter(pending.values()))
                    if first.data_coding != fields["data_coding"]:
                        raise _Refused(ESME_RINVDCS, "parts of one message in two codings")
        except _Refused as refused:
            part = self._refuse(fields, refused.status, refused.reason)
            self.invalid.append(part)
            logger.warning(
                "submit_sm %d of %r refused: %s: %s",
                part.sequence,
                part.system_id,
                status_name(part.status),
                refused.reason,
            )
            return part
        if self._drop_after is not None and not self.config.drop_taken:
            return self._refuse(fields, ESME_RSYSERR, "lost with the connection")
        text = decode_text(data, fields["data_coding"]).text
        part = ReceivedPart(
            **fields, message_id=self._new_message_id(), status=ESME_ROK, concat=concat, text=text
        )
        self._reassemble(part, key)
        return part

    def _refuse(self, fields: dict[str, Any], status: int, reason: str) -> ReceivedPart:
        return ReceivedPart(**fields, message_id=None, status=status, error=reason)

    def _reassemble(self, part: ReceivedPart, key: _Key | None) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        for dropped in self._reassembler.expire(now, self.config.reassembly_timeout):
            logger.warning(
                "incomplete message from %r to %r dropped: parts %s of %d",
                dropped.source.partition("/")[2],
                dropped.destination,
                list(dropped.received),
                dropped.total,
            )
            self._pending.pop(
                (dropped.source, dropped.destination, dropped.reference, dropped.total), None
            )
        view = _PartView(part.short_message, part.data_coding, part.esm_class, part.tlvs)
        try:
            whole = self._reassembler.add(
                _origin(part.system_id, part.source_addr), part.destination_addr, view, now=now
            )
        except MalformedPart:  # _validate let through what the reassembler cannot read
            logger.exception("part %s not reassembled", part.message_id)
            return
        if key is not None and part.concat is not None:
            pieces = self._pending.setdefault(key, {})
            if part.concat[2] in pieces:
                self.duplicate_parts += 1
            pieces.setdefault(part.concat[2], part)
        if whole is None:
            return
        ids: tuple[str, ...]
        if key is not None:
            pieces = self._pending.pop(key, {})
            ids = tuple(pieces[s].message_id or "" for s in sorted(pieces))
        else:
            ids = (part.message_id or "",)
        message = ReceivedMessage(
            part.system_id,
            part.source_addr,
            part.destination_addr,
            whole.text,
            whole.parts,
            ids,
            whole.data_coding,
        )
        self.messages.append(message)
        m = measure(message.text)
        logger.info(
            "message from %r to %r by %r: %d parts, %d credits (%s), %r",
            message.source,
            message.destination,
            message.system_id,
            message.parts,
            m.credits,
            m.encoding.value,
            one_line(message.text, 40),
        )
        if self.on_message is not None:
            self.on_message(message)

    async def _answer_later(self, session: _Session, part: ReceivedPart, delay: float) -> None:
        await asyncio.sleep(delay)
        if session.closed:
            self._lost([part])
            return
        self._answer(session, part.sequence, part.status, part.message_id or "")
        self._after_answer(part)

    # --- receipts ---

    def _after_answer(self, part: ReceivedPart) -> None:
        """Schedule the part's receipt when it was taken and asked for one."""
        if part.message_id is None or not self.config.receipts:
            return
        state: ReceiptState = (
            "UNDELIV" if part.destination_addr in self.config.fail_to else self.config.receipt_state
        )
        wanted = part.registered_delivery & 0x03
        if wanted == 0x01 or (wanted == 0x02 and state in _FAILED_STATES):
            receipt = _Receipt(
                part.system_id,
                part.message_id,
                state,
                part.destination_addr,
                part.dest_addr_ton,
                part.dest_addr_npi,
                part.source_addr,
                part.source_addr_ton,
                part.source_addr_npi,
                datetime.now(UTC),
                _receipt_text(part.text),
            )
            self._spawn(self._receipt_later(receipt))

    async def _receipt_later(self, receipt: _Receipt) -> None:
        await asyncio.sleep(self.config.receipt_delay)
        receipt.done = datetime.now(UTC)
        await self._send_receipt(receipt)

    def _receiver(self, system_id: str | None) -> _Session | None:
        """A receiving session of ``system_id`` (any account's when None), the least busy."""
        candidates = [
            s
            for s in self._sessions
            if s.can_receive and (system_id is None or s.system_id == system_id)
        ]
        return min(candidates, key=lambda s: len(s.waiting), default=None)

    async def _send_receipt(self, receipt: _Receipt) -> None:
        short_message = receipt.short_message()
        attempt = 1
        while True:
            session = self._receiver(receipt.system_id)
            if session is None:
                self._queued.setdefault(receipt.system_id, deque()).append(receipt)
                logger.info(
                    "receipt %s %s for %r queued: no receiver bound",
                    receipt.message_id,
                    receipt.state,
                    receipt.system_id,
                )
                return
            try:
                status = await self._deliver(
                    session,
                    source_addr=receipt.source,
                    source_addr_ton=receipt.source_ton,
                    source_addr_npi=receipt.source_npi,
                    destination_addr=receipt.destination,
                    dest_addr_ton=receipt.dest_ton,
                    dest_addr_npi=receipt.dest_npi,
                    esm_class=ESM_DELIVERY_RECEIPT,
                    data_coding=DATA_CODING_GSM,
                    short_message=short_message,
                    receipted_message_id=receipt.message_id,
                    message_state=_STATE_CODES[receipt.state],
                )
            except (ConnectionError, TimeoutError) as exc:
                if isinstance(exc, TimeoutError):
                    session.close(abort=True)  # an ESME that does not answer: start again
                continue  # another session, or queued until one binds
            if status in _TEMPORARY and attempt < RECEIPT_ATTEMPTS:
                attempt += 1
                await asyncio.sleep(0.05 * 2**attempt)
                continue
            self.receipts.append(
                SentReceipt(
                    receipt.system_id, receipt.message_id, receipt.state, short_message, status
                )
            )
            logger.info(
                "receipt %s %s to %r: %s",
                receipt.message_id,
                receipt.state,
                receipt.system_id,
                "acknowledged" if status == ESME_ROK else status_name(status),
            )
            return

    async def _deliver(self, session: _Session, **fields: Any) -> int:
        """Send a deliver_sm on ``session``; its deliver_sm_resp's status.  ConnectionError
        when the connection goes first, TimeoutError after ``deliver_timeout``."""
        async with session.window:
            if session.closed:
                raise ConnectionError("the connection closed")
            pdu = smpplib.smpp.make_pdu("deliver_sm", client=session.sequences, **fields)
            future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
            session.waiting[pdu.sequence] = future
            try:
                session.send(pdu)
                async with asyncio.timeout(self.config.deliver_timeout):
                    return await future
            finally:
                session.waiting.pop(pdu.sequence, None)

    # --- mobile-originated ---

    def _mo_session(self, system_id: str | None) -> _Session:
        session = self._receiver(system_id)
        if session is None:
            who = f"for {system_id!r}" if system_id else ""
            raise NoReceiver(f"no receiver or transceiver session bound {who}".strip())
        return session

    async def send_mo(
        self,
        source: str,
        destination: str,
        text: str,
        *,
        concat: Concat = "udh8",
        order: Sequence[int] | None = None,
        system_id: str | None = None,
        source_ton: int = 1,
        source_npi: int = 1,
    ) -> list[int]:
        """A mobile-originated ``text`` from ``source`` to ``destination`` (our number), as
        the deliver_sm parts of :func:`bannertui.domain.smpp.submit_parts` (GSM or UCS-2 as
        the text needs; concatenated with ``concat``), sent one after the other in ``order``
        (indexes of the parts; default in order) to a receiving session of ``system_id`` (of
        any account when None).  Returns each part's deliver_sm_resp status, in the order
        sent.  :class:`NoReceiver` when none is bound; ConnectionError / TimeoutError when the
        session goes or does not answer."""
        reference = next(self._mo_reference) % 0x10000
        parts = submit_parts(text, reference, concat=concat)
        indexes = list(range(len(parts))) if order is None else list(order)
        if any(not 0 <= i < len(parts) for i in indexes):
            raise ValueError(f"order {indexes}: the parts are 0..{len(parts) - 1}")
        session = self._mo_session(system_id)
        statuses: list[int] = []
        for index in indexes:
            part = parts[index]
            status = await self._deliver(
                session,
                source_addr=source,
                source_addr_ton=source_ton,
                source_addr_npi=source_npi,
                destination_addr=destination,
                dest_addr_ton=1,
                dest_addr_npi=1,
                esm_class=part.esm_class,
                data_coding=part.data_coding,
                short_message=part.short_message,
                **_tlv_kwargs("deliver_sm", part.tlvs),
            )
            statuses.append(status)
        logger.info(
            "mobile-originated from %r to %r: %d parts to %r, %r",
            source,
            destination,
            len(indexes),
            session.system_id,
            one_line(text, 40),
        )
        return statuses

    async def send_raw_deliver(
        self,
        short_message: bytes,
        *,
        esm_class: int = ESM_DELIVERY_RECEIPT,
        tlvs: Iterable[tuple[int, bytes]] = (),
        data_coding: int = DATA_CODING_GSM,
        source: str = "33600000000",
        destination: str = "33700000000",
        system_id: str | None = None,
    ) -> int:
        """One deliver_sm with these fields as they are (e.g. a receipt nobody can parse);
        its deliver_sm_resp status.  The TLVs must be ones smpplib knows for deliver_sm."""
        session = self._mo_session(system_id)
        status = await self._deliver(
            session,
            source_addr=source,
            destination_addr=destination,
            esm_class=esm_class,
            data_coding=data_coding,
            short_message=short_message,
            **_tlv_kwargs("deliver_sm", tlvs),
        )
        logger.info(
            "raw deliver_sm (esm_class 0x%02X, %d octets) to %r: %s",
            esm_class,
            len(short_message),
            session.system_id,
            status_name(status),
        )
        return status


# --- the entry point --------------------------------------------------------------------------


async def run_smsc_simulator(
    config: SmscConfig, *, ready: Callable[[SmscSimulator], None] | None = None
) -> None:
    """Serve until cancelled, Ctrl+C or SIGTERM (then return normally).  Prints one line
    on start, ``SMSC simulator listening on HOST:PORT`` (never a password); ``ready`` is
    called with the running simulator after it."""
    async with SmscSimulator(config) as sim, stop_on_signals() as stop:
        print(f"SMSC simulator listening on {sim.host}:{sim.port}", flush=True)
        if ready is not None:
            ready(sim)
        await stop.wait()
