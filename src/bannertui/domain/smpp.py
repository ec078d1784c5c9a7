"""SMPP 3.4 encoding, segmentation, reassembly and delivery receipts (pure, no I/O).

What goes out (:func:`submit_parts`):

* **Encoding** as :func:`bannertui.domain.sms.measure` decides: GSM 03.38 default alphabet
  (``data_coding`` 0x00), one octet per septet, unpacked, as SMSCs take it over SMPP, an
  extension character as ESC (0x1B) + its code; otherwise UCS-2 (``data_coding`` 0x08),
  UTF-16-BE with surrogate pairs kept (a character above U+FFFF is 2 units, 4 octets).
* **Parts** exactly as :func:`bannertui.domain.sms.segments` splits the text, so the number
  of PDUs is the number of credits counted: 1 part of up to 160 septets / 70 units, or
  2..8 parts of up to 153 septets / 67 units, never split inside an escape pair or a
  surrogate pair.
* **Concatenation** of several parts: a UDH ``05 00 03 ref total seq`` (IEI 0x00, 8-bit
  reference, the default) or ``06 08 04 ref_hi ref_lo total seq`` (IEI 0x08, 16-bit
  reference) before the text with ``esm_class`` UDHI (0x40); or no UDH and the SAR TLVs
  (the SMSC builds the UDH). Caution: the 16-bit UDH is 7 octets, 1 more than the parts'
  sizes assume: a full part is 1,127 bits of GSM user data (or 141 octets of UCS-2) where
  the air interface carries 1,120 (140). Prefer ``udh8`` or ``sar`` unless the SMSC
  re-segments or accepts it.

What comes in (:class:`Reassembler`, :func:`parse_receipt`):

* Mobile-originated parts, keyed by source, destination, reference and total, with the
  concatenation from a UDH (IEI 0x00 or 0x08; other elements skipped) or the SAR TLVs, the
  text from ``message_payload`` when present, else ``short_message``; any order, duplicates
  ignored, incomplete messages dropped by :meth:`Reassembler.expire`.
* ``data_coding``: 0x00 GSM default alphabet (unpacked), 0x01 IA5/ASCII and 0x03 Latin-1
  read as Latin-1, 0x08 UCS-2; GSM 03.38 coding groups (0x10-0x3F uncompressed, 0xC0-0xEF,
  0xF0-0xFF) by their alphabet bits. Anything else (8-bit binary 0x02/0x04, JIS, Cyrillic,
  Hebrew, compressed, reserved) is read as Latin-1 and flagged (:attr:`Inbound.guessed`)
  so the caller can log it: no octet is lost, but the characters may be wrong.
* Delivery receipts: ``deliver_sm`` whose ``esm_class & 0x3C == 0x04`` (:func:`is_receipt`),
  parsed from the standard text ``id:… sub:… dlvrd:… submit date:… done date:… stat:…
  err:… text:…`` and the ``receipted_message_id`` / ``message_state`` TLVs, the TLVs
  preferred.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal, Protocol

from bannertui.domain.sms import (
    GSM_BASIC,
    GSM_EXTENSION,
    MAX_CREDITS,
    Encoding,
    is_gsm7,
    measure,
    segments,
)

# --- constants ---------------------------------------------------------------------------------

DATA_CODING_GSM: Final = 0x00
DATA_CODING_IA5: Final = 0x01
DATA_CODING_LATIN1: Final = 0x03
DATA_CODING_UCS2: Final = 0x08

ESM_UDHI: Final = 0x40  # the short message starts with a user data header
ESM_TYPE_MASK: Final = 0x3C  # bits 5-2: the message type
ESM_DELIVERY_RECEIPT: Final = 0x04  # SMSC delivery receipt (in esm_class & ESM_TYPE_MASK)

TAG_RECEIPTED_MESSAGE_ID: Final = 0x001E
TAG_SAR_MSG_REF_NUM: Final = 0x020C
TAG_SAR_TOTAL_SEGMENTS: Final = 0x020E
TAG_SAR_SEGMENT_SEQNUM: Final = 0x020F
TAG_MESSAGE_PAYLOAD: Final = 0x0424
TAG_MESSAGE_STATE: Final = 0x0427

IEI_CONCAT_8: Final = 0x00
IEI_CONCAT_16: Final = 0x08

ESC: Final = 0x1B
MAX_REFERENCE: Final = 0xFFFF

Concat = Literal["udh8", "udh16", "sar"]
Tlvs = Sequence[tuple[int, bytes]]


def is_receipt(esm_class: int) -> bool:
    """True when a ``deliver_sm`` with this ``esm_class`` is an SMSC delivery receipt."""
    return esm_class & ESM_TYPE_MASK == ESM_DELIVERY_RECEIPT


# --- GSM 03.38 and UCS-2 -----------------------------------------------------------------------

_GSM_ENCODE: dict[int, str] = {ord(c): chr(code) for code, c in enumerate(GSM_BASIC) if code != ESC}
_GSM_ENCODE |= {ord(c): chr(ESC) + chr(code) for code, c in GSM_EXTENSION.items()}
_GSM_DECODE = GSM_BASIC.replace("\x1b", " ")  # indexed by septet; a bare ESC reads as a space
_GSM_DECODE_TABLE = dict(enumerate(_GSM_DECODE))


def encode_gsm(text: str) -> bytes:
    """``text`` in the GSM 03.38 default alphabet, one octet per septet (unpacked), each
    extension character as ESC (0x1B) + its code. ``ValueError`` when a character is in
    neither table (a literal ESC included)."""
    if not is_gsm7(text):
        raise ValueError("text not in the GSM 03.38 default alphabet")
    return text.translate(_GSM_ENCODE).encode("ascii")


def decode_gsm(data: bytes) -> str:
    """Unpacked septets (one per octet) as text, the inverse of :func:`encode_gsm`.

    As GSM 03.38 asks of a receiver: ESC followed by a code the extension table lacks reads
    as that code's basic-table character; ESC ESC (reserved for a further table) and an
    ESC at the end read as a space. An octet above 0x7F is no septet: it reads as U+FFFD.
    """
    if ESC not in data and data.isascii():
        return data.decode("ascii").translate(_GSM_DECODE_TABLE)
    out: list[str] = []
    i, n = 0, len(data)
    while i < n:
        code = data[i]
        i += 1
        if code > 0x7F:
            out.append("\ufffd")
        elif code != ESC:
            out.append(_GSM_DECODE[code])
        elif i == n or data[i] == ESC:
            out.append(" ")
            i += 1
        else:
            following = data[i]
            i += 1
            if following > 0x7F:
                out.append("\ufffd")
            else:
                out.append(GSM_EXTENSION.get(following, _GSM_DECODE[following]))
    return "".join(out)


def encode_ucs2(text: str) -> bytes:
    """``text`` as UTF-16-BE: a character above U+FFFF as its surrogate pair; a lone
    surrogate kept as it is (1 unit)."""
    return text.encode("utf-16-be", "surrogatepass")


def decode_ucs2(data: bytes) -> str:
    """UTF-16-BE as text (surrogate pairs joined, lone surrogates kept); an odd last octet
    reads as U+FFFD."""
    if len(data) % 2:
        return data[:-1].decode("utf-16-be", "surrogatepass") + "\ufffd"
    return data.decode("utf-16-be", "surrogatepass")


@dataclass(frozen=True, slots=True)
class Decoded:
    """A text read from octets; ``guessed`` when the coding was not understood (read as
    Latin-1)."""

    text: str
    guessed: bool = False


def _alphabet(data_coding: int) -> Literal["gsm", "ucs2", "latin1", "guess"]:
    if data_coding == DATA_CODING_GSM:
        return "gsm"
    if data_coding == DATA_CODING_UCS2:
        return "ucs2"
    if data_coding in (DATA_CODING_IA5, DATA_CODING_LATIN1):
        return "latin1"
    if 0x10 <= data_coding <= 0x1F:  # GSM 03.38 general coding, uncompressed: bits 3-2
        return ("gsm", "guess", "ucs2", "guess")[(data_coding >> 2) & 0x03]
    if 0xC0 <= data_coding <= 0xDF:  # message waiting, discard / store, GSM alphabet
        return "gsm"
    if 0xE0 <= data_coding <= 0xEF:  # message waiting, store, UCS-2
        return "ucs2"
    if data_coding >= 0xF0:  # data coding / message class: bit 2 is 8-bit data
        return "guess" if data_coding & 0x04 else "gsm"
    return "guess"


def decode_text(data: bytes, data_coding: int) -> Decoded:
    """``data`` read by its SMPP ``data_coding`` (see the module's notes)."""
    alphabet = _alphabet(data_coding)
    if alphabet == "gsm":
        return Decoded(decode_gsm(data))
    if alphabet == "ucs2":
        return Decoded(decode_ucs2(data))
    return Decoded(data.decode("latin-1"), guessed=alphabet == "guess")


# --- submit ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Part:
    """One ``submit_sm``'s message fields (the same fields of a ``deliver_sm`` coming in)."""

    short_message: bytes
    data_coding: int
    esm_class: int = 0
    tlvs: tuple[tuple[int, bytes], ...] = ()


def submit_parts(text: str, reference: int, *, concat: Concat = "udh8") -> list[Part]:
    """The ``submit_sm`` parts of ``text``: as many as its credits (see the module's notes).

    ``reference`` (0..65535) identifies the message among the sender's concatenated ones:
    ``udh8`` keeps its low octet. ``ValueError`` for an empty text, a text over
    :data:`~bannertui.domain.sms.MAX_CREDITS` credits, a reference out of range or an
    unknown ``concat``.
    """
    if not text:
        raise ValueError("empty text: nothing to send")
    if not 0 <= reference <= MAX_REFERENCE:
        raise ValueError(f"reference {reference} out of range 0..{MAX_REFERENCE}")
    if concat not in ("udh8", "udh16", "sar"):
        raise ValueError(f"unknown concatenation {concat!r}")
    m = measure(text)
    if m.over_limit:
        raise ValueError(f"text over the limit: {m.credits} credits, at most {MAX_CREDITS}")
    if m.encoding is Encoding.GSM7:
        data_coding, encode = DATA_CODING_GSM, encode_gsm
    else:
        data_coding, encode = DATA_CODING_UCS2, encode_ucs2
    pieces = segments(text)
    total = len(pieces)
    if total == 1:
        return [Part(encode(text), data_coding)]
    parts: list[Part] = []
    for seq, piece in enumerate(pieces, start=1):
        body = encode(piece)
        if concat == "udh8":
            udh = bytes((0x05, IEI_CONCAT_8, 0x03, reference & 0xFF, total, seq))
            parts.append(Part(udh + body, data_coding, ESM_UDHI))
        elif concat == "udh16":
            udh = bytes((0x06, IEI_CONCAT_16, 0x04, reference >> 8, reference & 0xFF, total, seq))
            parts.append(Part(udh + body, data_coding, ESM_UDHI))
        else:
            tlvs = (
                (TAG_SAR_MSG_REF_NUM, reference.to_bytes(2, "big")),
                (TAG_SAR_TOTAL_SEGMENTS, bytes((total,))),
                (TAG_SAR_SEGMENT_SEQNUM, bytes((seq,))),
            )
            parts.append(Part(body, data_coding, 0, tlvs))
    return parts


# --- reassembly --------------------------------------------------------------------------------


class PartLike(Protocol):
    """The message fields of a ``deliver_sm`` (a :class:`Part` or the connector's PDU)."""

    @property
    def short_message(self) -> bytes: ...
    @property
    def data_coding(self) -> int: ...
    @property
    def esm_class(self) -> int: ...
    @property
    def tlvs(self) -> Iterable[tuple[int, bytes]]: ...


class MalformedPart(ValueError):
    """A part whose user data header runs past its end (the caller answers and logs)."""


@dataclass(frozen=True, slots=True)
class Inbound:
    """A whole mobile-originated text. ``guessed``: some part's ``data_coding`` was not
    understood and was read as Latin-1 (worth a log line)."""

    text: str
    data_coding: int
    parts: int = 1
    guessed: bool = False


@dataclass(frozen=True, slots=True)
class Dropped:
    """An incomplete message :meth:`Reassembler.expire` gave up on."""

    source: str
    destination: str
    reference: int
    total: int
    received: tuple[int, ...]  # the sequence numbers that did arrive
    first_seen: float


@dataclass(slots=True)
class _Pending:
    first_seen: float
    pieces: dict[int, tuple[int, bytes]] = field(default_factory=dict)  # seq → coding, data


_Key = tuple[str, str, int, int]  # source, destination, reference, total


def _concatenation(part: PartLike) -> tuple[bytes, tuple[int, int, int] | None]:
    """The user data without its header, and (reference, total, seq) when concatenated."""
    tlvs: dict[int, bytes] = {}
    for tag, value in part.tlvs:
        tlvs.setdefault(tag, value)
    payload = tlvs.get(TAG_MESSAGE_PAYLOAD)
    data = payload if payload is not None else part.short_message
    concat: tuple[int, int, int] | None = None
    if part.esm_class & ESM_UDHI and data:
        end = 1 + data[0]
        if end > len(data):
            raise MalformedPart(f"user data header of {data[0]} octets in {len(data)}")
        i = 1
        while i + 2 <= end:
            iei, length = data[i], data[i + 1]
            value = data[i + 2 : i + 2 + length]
            if i + 2 + length > end:
                raise MalformedPart(f"information element 0x{iei:02X} runs past the header")
            if concat is None and iei == IEI_CONCAT_8 and length == 3:
                concat = (value[0], value[1], value[2])
            elif concat is None and iei == IEI_CONCAT_16 and length == 4:
                concat = (int.from_bytes(value[:2], "big"), value[2], value[3])
            i += 2 + length
        data = data[end:]
    if concat is None:
        ref = tlvs.get(TAG_SAR_MSG_REF_NUM)
        total = tlvs.get(TAG_SAR_TOTAL_SEGMENTS)
        seq = tlvs.get(TAG_SAR_SEGMENT_SEQNUM)
        if ref and total and seq:
            concat = (
                int.from_bytes(ref, "big"),
                int.from_bytes(total, "big"),
                int.from_bytes(seq, "big"),
            )
    return data, concat


class Reassembler:
    """Mobile-originated texts rebuilt from their parts. Pure: the caller gives the time
    (``now``, float seconds from any fixed origin) and calls :meth:`expire` now and then.

    A part without concatenation, or with a total of 1, or a sequence number outside
    1..total (GSM 03.40: the element is then ignored), is a whole text by itself.
    """

    def __init__(self) -> None:
        self._pending: dict[_Key, _Pending] = {}

    def __len__(self) -> int:
        """How many incomplete messages are held."""
        return len(self._pending)

    def add(self, source: str, destination: str, part: PartLike, *, now: float) -> Inbound | None:
        """Take one part; the whole text when it was the last one missing, else None.

        ``MalformedPart`` (a ``ValueError``) when its user data header is cut short.
        """
        data, concat = _concatenation(part)
        if concat is None or concat[1] <= 1 or not 1 <= concat[2] <= concat[1]:
            decoded = decode_text(data, part.data_coding)
            return Inbound(decoded.text, part.data_coding, 1, decoded.guessed)
        reference, total, seq = concat
        key = (source, destination, reference, total)
        pending = self._pending.get(key)
        if pending is None:
            pending = self._pending[key] = _Pending(now)
        pending.pieces.setdefault(seq, (part.data_coding, data))  # a duplicate is ignored
        if len(pending.pieces) < total:
            return None
        del self._pending[key]
        ordered = [pending.pieces[s] for s in range(1, total + 1)]
        codings = {coding for coding, _ in ordered}
        if len(codings) == 1:  # decoded as one, so a pair split across parts still joins
            coding = ordered[0][0]
            decoded = decode_text(b"".join(d for _, d in ordered), coding)
            return Inbound(decoded.text, coding, total, decoded.guessed)
        each = [decode_text(d, c) for c, d in ordered]
        return Inbound(
            "".join(d.text for d in each), ordered[0][0], total, any(d.guessed for d in each)
        )

    def expire(self, now: float, older_than: float) -> list[Dropped]:
        """Drop the incomplete messages whose first part came more than ``older_than``
        seconds before ``now``; what was dropped, oldest first."""
        dropped: list[Dropped] = []
        for key, pending in list(self._pending.items()):
            if now - pending.first_seen > older_than:
                del self._pending[key]
                dropped.append(Dropped(*key, tuple(sorted(pending.pieces)), pending.first_seen))
        dropped.sort(key=lambda d: d.first_seen)
        return dropped


# --- delivery receipts -------------------------------------------------------------------------

ReceiptState = Literal[
    "DELIVRD", "UNDELIV", "REJECTD", "EXPIRED", "DELETED", "ACCEPTD", "UNKNOWN", "ENROUTE"
]
Outcome = Literal["delivered", "failed", "pending"]

#: message_state TLV values (SMPP 3.4 section 5.2.28) as receipt states.
MESSAGE_STATES: dict[int, ReceiptState] = {
    1: "ENROUTE",
    2: "DELIVRD",
    3: "EXPIRED",
    4: "DELETED",
    5: "UNDELIV",
    6: "ACCEPTD",
    7: "UNKNOWN",
    8: "REJECTD",
}
_STATES: dict[str, ReceiptState] = {s: s for s in MESSAGE_STATES.values()} | {
    "DELIVERED": "DELIVRD",
    "UNDELIVERABLE": "UNDELIV",
    "UNDELIVERED": "UNDELIV",
    "REJECTED": "REJECTD",
    "ACCEPTED": "ACCEPTD",
}
_OUTCOMES: dict[ReceiptState, Outcome] = {
    "DELIVRD": "delivered",
    "UNDELIV": "failed",
    "REJECTD": "failed",
    "EXPIRED": "failed",
    "DELETED": "failed",
    "UNKNOWN": "failed",  # a final state in SMPP 3.4: no later receipt will come
    "ACCEPTD": "pending",
    "ENROUTE": "pending",
}
_RECEIPT_KEYS = re.compile(
    r"(?<![A-Za-z0-9_])(id|sub|dlvrd|submit[ _]date|done[ _]date|stat|err|text)\s*:",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Receipt:
    """A delivery receipt: the SMSC's message id, the state, the error code if any, and the
    start of the text it reports on."""

    message_id: str
    state: ReceiptState
    error: str | None = None
    text: str = ""


def _receipt_fields(text: str) -> dict[str, str]:
    """The receipt text's fields (lower-case keys, ``_`` for a space): each value runs to
    the next key not seen yet, so ``text:`` keeps an ``id:`` written in the message."""
    found: list[tuple[str, int, int]] = []
    seen: set[str] = set()
    for m in _RECEIPT_KEYS.finditer(text):
        key = m.group(1).lower().replace(" ", "_")
        if key not in seen:
            seen.add(key)
            found.append((key, m.start(), m.end()))
    fields: dict[str, str] = {}
    if not found:
        return fields
    ends = [start for _, start, _ in found[1:]] + [len(text)]
    for (key, _, start), end in zip(found, ends, strict=True):
        fields[key] = text[start:end].strip()
    return fields


def parse_receipt(short_message: bytes, tlvs: Iterable[tuple[int, bytes]] = ()) -> Receipt | None:
    """The receipt in a ``deliver_sm`` (:func:`is_receipt`): the ``receipted_message_id`` and
    ``message_state`` TLVs when present, else the text's ``id:`` and ``stat:`` (a state
    spelled out, e.g. ``DELIVERED``, is understood; one not known is ``UNKNOWN``). None
    when there is no message id or no state at all."""
    tags: dict[int, bytes] = {}
    for tag, value in tlvs:
        tags.setdefault(tag, value)
    fields = _receipt_fields(short_message.decode("latin-1"))

    message_id = tags.get(TAG_RECEIPTED_MESSAGE_ID, b"").split(b"\x00", 1)[0].decode("latin-1")
    message_id = message_id.strip() or next(iter(fields.get("id", "").split()), "")

    raw_state = tags.get(TAG_MESSAGE_STATE)
    state: ReceiptState | None = None
    if raw_state:
        state = MESSAGE_STATES.get(int.from_bytes(raw_state, "big"))
    if state is None and fields.get("stat"):
        word = fields["stat"].split()[0].upper()
        state = _STATES.get(word, "UNKNOWN")
    if not message_id or state is None:
        return None
    error = next(iter(fields.get("err", "").split()), None)
    return Receipt(message_id, state, error, fields.get("text", ""))


def receipt_outcome(state: str) -> Outcome:
    """What a receipt state means for our message: DELIVRD delivered; UNDELIV, REJECTD,
    EXPIRED, DELETED and UNKNOWN failed; ACCEPTD and ENROUTE (or anything else) pending."""
    return _OUTCOMES.get(_STATES.get(state.upper(), "ENROUTE"), "pending")
