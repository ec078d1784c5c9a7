"""SMPP encoding, segmentation, reassembly and receipts (bannertui.domain.smpp), against the
credits counted by bannertui.domain.sms."""

from __future__ import annotations

import random
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bannertui.domain.smpp import (
    DATA_CODING_GSM,
    DATA_CODING_UCS2,
    ESM_UDHI,
    TAG_MESSAGE_PAYLOAD,
    TAG_MESSAGE_STATE,
    TAG_RECEIPTED_MESSAGE_ID,
    TAG_SAR_MSG_REF_NUM,
    TAG_SAR_SEGMENT_SEQNUM,
    TAG_SAR_TOTAL_SEGMENTS,
    Concat,
    Dropped,
    MalformedPart,
    Part,
    Reassembler,
    Receipt,
    ReceiptState,
    decode_gsm,
    decode_text,
    decode_ucs2,
    encode_gsm,
    encode_ucs2,
    is_receipt,
    parse_receipt,
    receipt_outcome,
    submit_parts,
)
from bannertui.domain.sms import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    GSM_BASIC,
    GSM_EXTENSION,
    MAX_CREDITS,
    Encoding,
    measure,
    segments,
)

EURO = "€"  # GSM extension: 2 septets
EMOJI = "😀"  # above U+FFFF: a surrogate pair, 2 UTF-16 units
CONCATS: tuple[Concat, ...] = ("udh8", "udh16", "sar")


# --- the boundary texts ------------------------------------------------------------------------


def _straddling(
    filler: str, wide: str, segment: int, k: int, delta: int, *, ending: bool = False
) -> str:
    """``segment * k + delta`` units of ``filler``, with ``wide`` (2 units) put across every
    part boundary a plain text of that length would have (units segment-1 and segment), or
    (``ending``) in the last two units before it."""
    total = segment * k + delta
    chars: list[str] = []
    used = 0
    while used < total:
        if (used + (2 if ending else 1)) % segment == 0 and used + 2 <= total:
            chars.append(wide)
            used += 2
        else:
            chars.append(filler)
            used += 1
    return "".join(chars)


def _boundary_texts() -> list[tuple[str, str]]:
    cases: list[tuple[str, str]] = [
        ("gsm-160", "a" * 160),
        ("gsm-161", "a" * 161),
        ("gsm-158+euro", "a" * 158 + EURO),  # exactly 160 septets
        ("gsm-159+euro", "a" * 159 + EURO),  # 161 septets
        ("ucs2-70", "я" * 70),
        ("ucs2-71", "я" * 71),
        ("ucs2-68+emoji", "я" * 68 + EMOJI),  # exactly 70 units
        ("ucs2-69+emoji", "я" * 69 + EMOJI),  # 71 units
        ("gsm-8-credits", "a" * 153 * 8),
        ("ucs2-8-credits", "я" * 67 * 8),
        ("gsm-8-credits-euro", _straddling("a", EURO, 153, 8, -7)),
        ("ucs2-8-credits-emoji", _straddling("я", EMOJI, 67, 8, -7)),
    ]
    for k in range(2, MAX_CREDITS + 1):
        for delta in (-1, 0, 1):
            cases.append((f"gsm-153x{k}{delta:+d}", "a" * (153 * k + delta)))
            cases.append((f"gsm-153x{k}{delta:+d}-euro", _straddling("a", EURO, 153, k, delta)))
            cases.append((f"ucs2-67x{k}{delta:+d}", "я" * (67 * k + delta)))
            cases.append((f"ucs2-67x{k}{delta:+d}-emoji", _straddling("я", EMOJI, 67, k, delta)))
        ending = _straddling("a", EURO, 153, k, 0, ending=True)
        cases.append((f"gsm-153x{k}-euro-ending", ending))
        cases.append((f"ucs2-67x{k}-emoji-ending", _straddling("я", EMOJI, 67, k, 0, ending=True)))
    return [(name, text) for name, text in cases if measure(text).credits <= MAX_CREDITS]


BOUNDARY = _boundary_texts()


def test_the_boundaries_cover_every_credit_count_and_both_encodings() -> None:
    seen = {(measure(t).encoding, measure(t).credits) for _, t in BOUNDARY}
    for encoding in Encoding:
        assert {c for e, c in seen if e is encoding} == set(range(1, MAX_CREDITS + 1))
    # the straddling character really starts the next part (the slot is wasted)
    text = _straddling("a", EURO, 153, 2, 0)
    first, second, third = segments(text)
    assert (len(first), second[0], len(second), third) == (152, EURO, 152, "a")
    # ending a part exactly, it stays
    text = _straddling("a", EURO, 153, 2, 0, ending=True)
    assert [len(s) for s in segments(text)] == [152, 152]


def _septets(data: bytes) -> int:
    return len(data)  # unpacked: one octet per septet


def _udh_length(part: Part) -> int:
    return 1 + part.short_message[0] if part.esm_class & ESM_UDHI else 0


def _air_octets(part: Part, sar_udh: int = 6) -> int:
    """TP-UD octets over the air: the UDH, then the septets packed (after fill bits to a
    septet boundary) or the octets. SAR parts get the SMSC's UDH (``sar_udh`` octets)."""
    udh = _udh_length(part) or (sar_udh if part.tlvs else 0)
    body = part.short_message[_udh_length(part) :]
    if part.data_coding == DATA_CODING_GSM:
        septets = -(-udh * 8 // 7) + len(body)
        return -(-septets * 7 // 8)
    return udh + len(body)


def _reassemble(parts: list[Part], seed: int) -> str:
    shuffled = parts[:]
    random.Random(seed).shuffle(shuffled)
    r = Reassembler()
    results = [r.add("+15550001", "12345", p, now=float(i)) for i, p in enumerate(shuffled)]
    assert all(x is None for x in results[:-1])
    last = results[-1]
    assert last is not None
    assert last.parts == len(parts)
    assert not last.guessed
    assert len(r) == 0
    return last.text


@pytest.mark.parametrize("concat", CONCATS)
@pytest.mark.parametrize(("name", "text"), BOUNDARY, ids=[n for n, _ in BOUNDARY])
def test_boundary_parts_count_fit_and_reassemble(name: str, text: str, concat: Concat) -> None:
    m = measure(text)
    parts = submit_parts(text, 0x1234, concat=concat)
    assert len(parts) == m.credits == len(segments(text))
    gsm = m.encoding is Encoding.GSM7
    for part in parts:
        assert part.data_coding == (DATA_CODING_GSM if gsm else DATA_CODING_UCS2)
        body = part.short_message[_udh_length(part) :]
        if gsm:
            assert _septets(body) <= (160 if len(parts) == 1 else 153)
            assert not body.endswith(b"\x1b")  # never half an escape pair
            assert body.count(b"\x1b") == sum(map(decode_gsm(body).count, GSM7_EXTENSION))
        else:
            assert len(body) <= (140 if len(parts) == 1 else 134)
            assert len(body) % 2 == 0
            assert not 0xD8 <= body[-2] <= 0xDB  # never ends with a high surrogate
        if len(parts) == 1:
            assert part.esm_class == 0
            assert part.tlvs == ()
        if concat != "udh16":
            assert _air_octets(part) <= 140
    assert _reassemble(parts, seed=len(text)) == text
    if gsm:
        assert b"".join(p.short_message[_udh_length(p) :] for p in parts) == encode_gsm(text)
    else:
        assert b"".join(p.short_message[_udh_length(p) :] for p in parts) == encode_ucs2(text)


def test_udh16_full_parts_are_one_octet_over_the_air() -> None:
    """The known cost of the 16-bit reference: parts sized for a 6-octet UDH."""
    gsm = submit_parts("a" * 306, 7, concat="udh16")
    ucs2 = submit_parts("я" * 134, 7, concat="udh16")
    assert [_air_octets(p) for p in gsm] == [141, 141]
    assert [_air_octets(p) for p in ucs2] == [141, 141]


def test_concatenation_headers() -> None:
    text = "a" * 200
    udh8 = submit_parts(text, 0x1234, concat="udh8")
    assert [p.short_message[:6] for p in udh8] == [
        bytes.fromhex("050003340201"),
        bytes.fromhex("050003340202"),
    ]
    assert {p.esm_class for p in udh8} == {ESM_UDHI}
    udh16 = submit_parts(text, 0x1234, concat="udh16")
    assert [p.short_message[:7] for p in udh16] == [
        bytes.fromhex("06080412340201"),
        bytes.fromhex("06080412340202"),
    ]
    sar = submit_parts(text, 0x1234, concat="sar")
    assert [p.short_message for p in sar] == [b"a" * 153, b"a" * 47]
    assert {p.esm_class for p in sar} == {0}
    assert sar[1].tlvs == (
        (TAG_SAR_MSG_REF_NUM, b"\x12\x34"),
        (TAG_SAR_TOTAL_SEGMENTS, b"\x02"),
        (TAG_SAR_SEGMENT_SEQNUM, b"\x02"),
    )
    single = submit_parts("hello", 0x1234)
    assert single == [Part(b"hello", DATA_CODING_GSM, 0, ())]


@pytest.mark.parametrize(
    ("text", "reference"),
    [
        ("", 1),
        ("a" * (153 * 8 + 1), 1),
        ("я" * (67 * 8 + 1), 1),
        (_straddling("a", EURO, 153, 8, 0), 1),  # 8 × 153 septets, but slots are wasted
        ("hello", -1),
        ("hello", 0x10000),
    ],
    ids=["empty", "gsm-over", "ucs2-over", "gsm-over-by-waste", "ref-negative", "ref-too-big"],
)
def test_refused(text: str, reference: int) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        submit_parts(text, reference)


def test_eight_credits_plus_one_is_refused_and_eight_is_not() -> None:
    assert len(submit_parts("a" * 153 * 8, 1)) == 8
    assert measure("a" * (153 * 8 + 1)).credits == 9
    with pytest.raises(ValueError, match="over the limit"):
        submit_parts("a" * (153 * 8 + 1), 1)


# --- segments against measure ------------------------------------------------------------------

GSM_CHARS = "".join(sorted(GSM7_BASIC | GSM7_EXTENSION))
ANY = st.characters(codec="utf-8") | st.sampled_from(["\ud83d", "\ude00", "\x1b"])


@given(
    st.one_of(
        st.text(st.sampled_from(GSM_CHARS), max_size=1400),
        st.text(st.sampled_from("aé€^{" + EMOJI + "я"), max_size=700),
        st.text(st.sampled_from("ab" + EMOJI), max_size=700),
        st.text(ANY, max_size=700),
    )
)
def test_segments_are_the_credits(text: str) -> None:
    parts = segments(text)
    m = measure(text)
    assert len(parts) == m.credits
    assert "".join(parts) == text
    assert all(parts)
    if m.encoding is Encoding.GSM7:
        sizes = [len(p) + sum(map(p.count, GSM7_EXTENSION)) for p in parts]
        limit = 160 if len(parts) == 1 else 153
    else:
        sizes = [len(p.encode("utf-16-le", "surrogatepass")) // 2 for p in parts]
        limit = 70 if len(parts) == 1 else 67
    assert all(s <= limit for s in sizes)
    # greedy: the next part's first character did not fit in the previous part
    for size, nxt in zip(sizes, parts[1:], strict=False):
        wide = nxt[0] in GSM7_EXTENSION if m.encoding is Encoding.GSM7 else nxt[0] > "\uffff"
        assert size + (2 if wide else 1) > limit


@given(st.text(st.sampled_from(GSM_CHARS), min_size=1, max_size=1224))
def test_gsm_texts_travel_whole(text: str) -> None:
    if measure(text).over_limit:
        return
    assert _reassemble(submit_parts(text, 9), seed=0) == text


@given(st.text(st.characters(codec="utf-8"), min_size=1, max_size=536))
def test_any_text_travels_whole(text: str) -> None:
    if measure(text).over_limit:
        return
    assert _reassemble(submit_parts(text, 9, concat="sar"), seed=1) == text


# --- GSM 03.38 and UCS-2 -----------------------------------------------------------------------


def test_gsm_alphabet_round_trip() -> None:
    alphabet = GSM_BASIC.replace("\x1b", "") + "".join(GSM_EXTENSION.values())
    data = encode_gsm(alphabet)
    assert len(data) == 127 + 2 * 10
    assert decode_gsm(data) == alphabet
    assert encode_gsm("@£$Ç€") == bytes([0x00, 0x01, 0x02, 0x09, 0x1B, 0x65])
    assert {ch: encode_gsm(ch) for ch in "\x0c^{}\\[~]|€"} == {
        ch: bytes([0x1B, code]) for code, ch in GSM_EXTENSION.items()
    }
    for code, ch in enumerate(GSM_BASIC):
        if code != 0x1B:
            assert encode_gsm(ch) == bytes([code])


def test_gsm_refuses_what_is_not_in_the_alphabet() -> None:
    for text in ("\x1b", "`", "я", EMOJI):
        with pytest.raises(ValueError):  # noqa: PT011
            encode_gsm(text)


def test_gsm_decoding_of_odd_escapes() -> None:
    assert decode_gsm(b"\x1b\x41") == "A"  # unknown extension code: the basic character
    assert decode_gsm(b"\x1b\x09") == "Ç"
    assert decode_gsm(b"a\x1b\x1bb") == "a b"  # reserved ESC ESC: a space
    assert decode_gsm(b"a\x1b") == "a "  # ESC at the end: a space
    assert decode_gsm(b"a\xe9") == "a\ufffd"  # no septet
    assert decode_gsm(b"\x00\x11") == "@_"


def test_ucs2_keeps_surrogate_pairs() -> None:
    assert encode_ucs2(EMOJI) == b"\xd8\x3d\xde\x00"
    assert decode_ucs2(b"\xd8\x3d\xde\x00\x04\x4f") == EMOJI + "я"
    assert decode_ucs2(encode_ucs2("\ud83d")) == "\ud83d"  # a lone surrogate kept
    assert decode_ucs2(b"\x00a\x00") == "a\ufffd"


def test_decoding_by_data_coding() -> None:
    assert decode_text(b"\x1b\x65", 0x00).text == "€"
    assert decode_text(b"caf\xe9", 0x03).text == "café"
    assert decode_text(b"abc", 0x01).text == "abc"
    assert decode_text(b"\x04\x4f", 0x08).text == "я"
    assert decode_text(b"\x04\x4f", 0x18).text == "я"  # 03.38 general group, UCS-2, class 0
    assert decode_text(b"\x1b\x65", 0xF0).text == "€"  # flash SMS, default alphabet
    for coding in (0x02, 0x04, 0x05, 0x06, 0xF4, 0x30):
        decoded = decode_text(b"ab\xff", coding)
        assert decoded.text == "ab\xff"
        assert decoded.guessed


# --- mobile-originated reassembly --------------------------------------------------------------


def _udh8_part(ref: int, total: int, seq: int, body: bytes, coding: int = 0x08) -> Part:
    return Part(bytes([5, 0, 3, ref, total, seq]) + body, coding, ESM_UDHI)


def test_an_mo_in_ucs2_in_three_parts() -> None:
    text = "Привет! " * 20 + EMOJI  # 162 units: 3 parts
    data = encode_ucs2(text)
    # split as a phone might: a surrogate pair straddles parts 2 and 3
    cuts = [0, 134, len(data) - 2, len(data)]
    parts = [_udh8_part(42, 3, i + 1, data[a:b]) for i, (a, b) in enumerate(pairwise(cuts))]
    r = Reassembler()
    assert r.add("+3361", "SHORT", parts[2], now=0.0) is None
    assert r.add("+3361", "SHORT", parts[0], now=1.0) is None
    assert r.add("+3361", "SHORT", parts[0], now=1.5) is None  # a duplicate
    assert r.add("+3362", "SHORT", parts[1], now=1.7) is None  # another sender's
    whole = r.add("+3361", "SHORT", parts[1], now=2.0)
    assert whole is not None
    assert whole.text == text
    assert (whole.parts, whole.data_coding, whole.guessed) == (3, DATA_CODING_UCS2, False)
    assert len(r) == 1  # the other sender's part is still waiting


def test_an_mo_with_other_information_elements_and_16_bit_reference() -> None:
    # a port-addressing element (0x05) before the 16-bit concatenation element
    def udh(seq: int) -> bytes:
        return bytes([12, 0x05, 4, 0x0B, 0x84, 0x23, 0xF0, 0x08, 4, 0x01, 0x02, 2, seq])

    r = Reassembler()
    assert r.add("a", "b", Part(udh(1) + b"Hello ", 0, ESM_UDHI), now=0) is None
    last = Part(udh(2) + b"world\x1b\x65", 0, ESM_UDHI)
    whole = r.add("a", "b", last, now=0)
    assert whole is not None
    assert whole.text == "Hello world€"


def test_an_mo_in_message_payload_and_sar() -> None:
    r = Reassembler()
    sar = ((TAG_SAR_MSG_REF_NUM, b"\x00\x07"), (TAG_SAR_TOTAL_SEGMENTS, b"\x02"))
    first = Part(b"", 0, 0, (*sar, (TAG_SAR_SEGMENT_SEQNUM, b"\x01"), (TAG_MESSAGE_PAYLOAD, b"ab")))
    second = Part(b"cd", 0, 0, (*sar, (TAG_SAR_SEGMENT_SEQNUM, b"\x02")))
    assert r.add("a", "b", second, now=0) is None
    whole = r.add("a", "b", first, now=0)
    assert whole is not None
    assert whole.text == "abcd"


def test_a_single_mo_and_odd_concatenation_is_whole_at_once() -> None:
    r = Reassembler()
    plain = r.add("a", "b", Part(encode_ucs2("я" + EMOJI), 8), now=0)
    assert plain is not None
    assert plain.text == "я" + EMOJI
    one_of_one = r.add("a", "b", _udh8_part(1, 1, 1, b"\x00x"), now=0)
    assert one_of_one is not None
    assert one_of_one.text == "x"
    bad_seq = r.add("a", "b", _udh8_part(1, 2, 3, b"\x00y"), now=0)
    assert bad_seq is not None
    assert bad_seq.text == "y"
    assert len(r) == 0


def test_a_cut_user_data_header_is_malformed() -> None:
    r = Reassembler()
    with pytest.raises(MalformedPart):
        r.add("a", "b", Part(bytes([9, 0, 3, 1]), 0, ESM_UDHI), now=0)
    with pytest.raises(MalformedPart):
        r.add("a", "b", Part(bytes([3, 0, 3, 1, 2]), 0, ESM_UDHI), now=0)


def test_incomplete_messages_expire() -> None:
    r = Reassembler()
    assert r.add("a", "b", _udh8_part(5, 3, 1, b"\x00a"), now=100.0) is None
    assert r.add("a", "b", _udh8_part(5, 3, 3, b"\x00c"), now=150.0) is None
    assert r.add("c", "d", _udh8_part(6, 2, 2, b"\x00z"), now=200.0) is None
    assert r.expire(now=250.0, older_than=300.0) == []
    assert r.expire(now=450.0, older_than=300.0) == [Dropped("a", "b", 5, 3, (1, 3), 100.0)]
    assert len(r) == 1
    # a late part starts afresh rather than completing the dropped one
    assert r.add("a", "b", _udh8_part(5, 3, 2, b"\x00b"), now=460.0) is None
    assert [d.source for d in r.expire(now=10_000.0, older_than=300.0)] == ["c", "a"]


# --- delivery receipts -------------------------------------------------------------------------

RECEIPT = (
    "id:0123456789 sub:001 dlvrd:001 submit date:2501011200 done date:2501011201 "
    "stat:{stat} err:{err} text:Hello there id:x"
)


@pytest.mark.parametrize(
    ("stat", "outcome"),
    [
        ("DELIVRD", "delivered"),
        ("UNDELIV", "failed"),
        ("REJECTD", "failed"),
        ("EXPIRED", "failed"),
        ("DELETED", "failed"),
        ("UNKNOWN", "failed"),
        ("ACCEPTD", "pending"),
        ("ENROUTE", "pending"),
    ],
)
def test_each_receipt_state(stat: ReceiptState, outcome: str) -> None:
    receipt = parse_receipt(RECEIPT.format(stat=stat, err="000").encode())
    assert receipt == Receipt("0123456789", stat, "000", "Hello there id:x")
    assert receipt_outcome(stat) == outcome


def test_the_receipt_tlvs_are_preferred() -> None:
    text = RECEIPT.format(stat="ENROUTE", err="000").encode()
    tlvs = ((TAG_RECEIPTED_MESSAGE_ID, b"abc123\x00"), (TAG_MESSAGE_STATE, b"\x05"))
    assert parse_receipt(text, tlvs) == Receipt("abc123", "UNDELIV", "000", "Hello there id:x")
    states: list[ReceiptState] = [
        "ENROUTE", "DELIVRD", "EXPIRED", "DELETED", "UNDELIV", "ACCEPTD", "UNKNOWN", "REJECTD"
    ]  # fmt: skip
    for value, state in enumerate(states, start=1):
        state_tlv = (TAG_MESSAGE_STATE, bytes([value]))
        # in any order among other TLVs; the id a C-octet string
        others = [(TAG_RECEIPTED_MESSAGE_ID, b"9\x00"), (0x1403, b"x")]
        ordered = [state_tlv, *others] if value % 2 else [*others, state_tlv]
        assert parse_receipt(b"", ordered) == Receipt("9", state, None, "")
    # an unknown message_state value: the text's stat
    unknown = ((TAG_MESSAGE_STATE, b"\x63"),)
    receipt = parse_receipt(text, unknown)
    assert receipt is not None
    assert receipt.state == "ENROUTE"


def test_receipt_keys_in_any_order_and_case() -> None:
    text = b"Stat:delivrd TEXT:hi Err:5 ID:77 Done Date:2501011201 submit_date:2501011200"
    assert parse_receipt(text) == Receipt("77", "DELIVRD", "5", "hi")
    assert parse_receipt(b"id:1 stat:DELIVERED") == Receipt("1", "DELIVRD", None, "")
    assert parse_receipt(b"id:1 stat:SKIPPED err:0") == Receipt("1", "UNKNOWN", "0", "")


@pytest.mark.parametrize(
    "garbage",
    [b"", b"hello world", b"stat:DELIVRD", b"id:12 sub:001", b"\xff\xfe\x00", b"id: stat:"],
)
def test_a_receipt_that_cannot_be_parsed(garbage: bytes) -> None:
    assert parse_receipt(garbage) is None


def test_receipt_esm_class() -> None:
    assert is_receipt(0x04)
    assert is_receipt(0x04 | ESM_UDHI)
    assert not is_receipt(0x00)
    assert not is_receipt(0x08)  # SME delivery acknowledgement
    assert not is_receipt(0x20)  # intermediate notification
