"""People: reading a contacts CSV file (pure): its header, delimiter and rows, each
checked as a contact typed by hand would be."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from bannertui.domain.errors import (
    BannerError,
    InvalidContact,
    InvalidCsv,
)
from bannertui.domain.text import one_line
from bannertui.services.people.fields import (
    LABELS,
    MAX_IMPORT_ROWS,
    NewContact,
    RejectedRow,
    clean_contact,
)

# --- CSV (pure) -----------------------------------------------------------------------

#: Header spellings, compared lowercased without spaces, "_", "-" or ".".
_COLUMN_ALIASES = {
    "firstname": "first_name",
    "givenname": "first_name",
    "lastname": "last_name",
    "surname": "last_name",
    "familyname": "last_name",
    "number": "number",
    "phone": "number",
    "mobile": "number",
    "phonenumber": "number",
    "mobilenumber": "number",
    "mobilephone": "number",
    "email": "email",
    "emailaddress": "email",
    "company": "company",
    "organization": "company",
    "organisation": "company",
    "groups": "groups",
    "group": "groups",
}
_NUMBER_COLUMNS = "number, phone, mobile or phone number"
_DELIMITERS = (",", ";", "\t")
_GROUP_SPLIT = re.compile(r"[;|]")


def _column_key(header: str) -> str:
    return re.sub(r"[\s_.\-]+", "", header.strip().casefold())


@dataclass(frozen=True, slots=True)
class CsvRow:
    line: int
    raw_number: str
    contact: NewContact


@dataclass(frozen=True, slots=True)
class _ParsedCsv:
    rows: list[CsvRow]
    rejected: list[RejectedRow]


def _header_columns(header_line: str) -> tuple[str, list[str], dict[str, int]]:
    """The delimiter, the header cells and the known columns' indexes.

    Each delimiter splits the header; the one that finds a number column and the most known
    columns wins (then the one that finds the most cells)."""
    best: tuple[tuple[bool, int, int], str, list[str], dict[str, int]] | None = None
    for delimiter in _DELIMITERS:
        cells = next(csv.reader([header_line], delimiter=delimiter), [])
        known: dict[str, int] = {}
        for index, cell in enumerate(cells):
            field = _COLUMN_ALIASES.get(_column_key(cell))
            if field is None:
                continue
            if field in known:
                first = cells[known[field]]
                raise InvalidCsv(
                    f"the columns {one_line(first, 40)!r} and {one_line(cell, 40)!r} "
                    f"both give the {LABELS.get(field, field)}: keep one"
                )
            known[field] = index
        score = ("number" in known, len(known), len(cells))
        if best is None or score > best[0]:
            best = (score, delimiter, cells, known)
    assert best is not None
    _score, delimiter, cells, known = best
    if "number" not in known:
        found = ", ".join(repr(one_line(c, 40)) for c in cells[:20] if c.strip())
        more = f" and {len(cells) - 20} more" if len(cells) > 20 else ""
        raise InvalidCsv(
            f"no number column (name it {_NUMBER_COLUMNS}); "
            f"columns found: {found + more if found else '(none)'}"
        )
    return delimiter, cells, known


def parse_csv(text: str) -> _ParsedCsv:
    """Read and check every row; refuse the whole file only when it cannot be read at all."""
    if text.startswith("\ufeff"):
        text = text[1:]
    # Lines as the csv module counts them (\n, \r\n or \r; not the other separators
    # str.splitlines knows), so that line numbers match.
    lines = io.StringIO(text, newline="")
    header_index, header_line = next(
        ((i, line) for i, line in enumerate(lines) if line.strip()), (None, "")
    )
    if header_index is None:
        raise InvalidCsv("the file is empty: it needs a header row (first name, number, ...)")
    delimiter, header, known = _header_columns(header_line.rstrip("\r\n"))

    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[CsvRow] = []
    rejected: list[RejectedRow] = []
    count = 0
    line = 1
    try:
        for cells in reader:
            start, line = line, reader.line_num + 1
            if start <= header_index + 1 or not any(cell.strip() for cell in cells):
                continue
            count += 1
            if count > MAX_IMPORT_ROWS:
                raise InvalidCsv(f"more than {MAX_IMPORT_ROWS} rows: split the file")

            def cell(field: str, cells: list[str] = cells) -> str:
                index = known.get(field)
                return cells[index] if index is not None and index < len(cells) else ""

            raw_number = cell("number")
            shown = one_line(raw_number, 64)
            extra = [c for c in cells[len(header) :] if c.strip()]
            if extra:
                reason = InvalidContact(
                    f"{len(cells)} fields where the header has {len(header)} "
                    "(a delimiter inside a field that is not quoted?)"
                )
                rejected.append(RejectedRow(start, shown, reason.message))
                continue
            try:
                contact = clean_contact(
                    first_name=cell("first_name"),
                    last_name=cell("last_name"),
                    number=raw_number,
                    email=cell("email"),
                    company=cell("company"),
                    groups=_GROUP_SPLIT.split(cell("groups")),
                )
            except BannerError as exc:
                rejected.append(RejectedRow(start, shown, exc.message))
                continue
            rows.append(CsvRow(start, shown, contact))
    except csv.Error as exc:
        raise InvalidCsv(f"line {reader.line_num}: {exc}") from None
    return _ParsedCsv(rows, rejected)
