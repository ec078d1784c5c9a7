"""People: reading a contacts CSV file (pure): its header, delimiter and rows, each
checked as a contact typed by hand would be."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass

from bannertui.domain.contacts import fold
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

#: Header spellings, compared folded (no case, no accents) without spaces, "_", "-" or ".":
#: English, French, Spanish, German and Portuguese.  "Name" alone (first or last?) is none.
_ALIASES = {
    "first_name": ("firstname givenname forename prenom nombre vorname nome primeironome"),
    "last_name": (
        "lastname surname familyname nom nomdefamille apellido apellidos nachname familienname"
        " sobrenome apelido ultimonome"
    ),
    "number": (
        "number phone mobile phonenumber mobilenumber mobilephone cell cellphone telephone tel"
        " portable numero numerodetelephone telefono movil celular numerodetelefono telefon"
        " handy mobilnummer telefonnummer handynummer telefone telemovel numerodetelefone"
        " telefonomovil telefonocelular numerodemovil numerodecelular"
    ),
    "email": "email emailaddress mail courriel adresseemail correo correoelectronico emailadresse",
    "company": (
        "company organization organisation societe entreprise empresa firma unternehmen"
        " organizacion organizacao"
    ),
    "groups": "groups group groupes groupe grupos grupo gruppen gruppe",
}
_COLUMN_ALIASES = {alias: field for field, aliases in _ALIASES.items() for alias in aliases.split()}
_NUMBER_COLUMNS = "number, phone, mobile, téléphone, teléfono, Telefon or telefone"
_DELIMITERS = (",", ";", "\t")
_GROUP_SPLIT = re.compile(r"[;|]")


def _column_key(header: str) -> str:
    return re.sub(r"[\s_.\-'’]+", "", fold(header.strip()))


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


#: Preferred among encodings that fit a file equally well (charset-normalizer's names).
_WESTERN = ("cp1252", "latin_1", "iso8859_15", "mac_roman")


def decode_csv(data: bytes, name: str = "the file") -> str:
    """A contacts file's text: UTF-8 (a BOM ignored) when it is, else the encoding
    charset-normalizer recognises (Windows-1252 and Latin-1 from spreadsheets, UTF-16…);
    InvalidCsv naming the cause when none fits."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        utf8_error = exc
    from charset_normalizer import from_bytes

    matches = from_bytes(data)
    best = matches.best()
    if best is not None:
        # Short files often fit several single-byte encodings equally (cp1250 and cp1252
        # read "Inès" alike, "Gonçalves" not): among those, the Western ones of the five
        # languages the columns are named in come first.
        tied = [m for m in matches if (m.chaos, m.coherence) == (best.chaos, best.coherence)]
        best = next((m for e in _WESTERN for m in tied if m.encoding == e), best)
    if best is None or best.encoding is None:
        raise InvalidCsv(
            f"{name} is not text in any encoding recognised (not UTF-8: byte "
            f"{utf8_error.start}); save it as CSV UTF-8"
        )
    try:
        return data.decode(best.encoding).removeprefix("\ufeff")
    except (UnicodeDecodeError, LookupError):
        raise InvalidCsv(
            f"{name} is not readable as {best.encoding}; save it as CSV UTF-8"
        ) from None


#: Rows read between two progress reports.
PROGRESS_EVERY = 1000


def parse_csv(text: str, progress: Callable[[int, int], None] | None = None) -> _ParsedCsv:
    """Read and check every row; refuse the whole file only when it cannot be read at all.
    ``progress(lines read, lines in all)`` every :data:`PROGRESS_EVERY` rows."""
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
    total_lines = text.count("\n") + 1
    try:
        for cells in reader:
            start, line = line, reader.line_num + 1
            if progress is not None and count % PROGRESS_EVERY == 0:
                progress(min(start, total_lines), total_lines)
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
            if len(cells) < len(header):
                missing = [
                    one_line(h, 30) or f"column {i + 1}"
                    for i, h in enumerate(header[len(cells) :], start=len(cells))
                ]
                reason = InvalidContact(
                    f"{len(cells)} fields where the header has {len(header)}: no "
                    + ", ".join(repr(m) for m in missing[:5])
                    + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
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
