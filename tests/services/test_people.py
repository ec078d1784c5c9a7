"""SPEC I8/I9: People — contacts and groups, search, CSV import — on SQLite and PostgreSQL.

The demo data (src/bannertui/store/demo.toml) has five contacts: Léa Moreau (+33612000001,
VIP, Moreau SARL), Thomas Bernard (+33612000002, VIP and Newsletter), Inès Petit
(+33612000003, Newsletter), Jan Peeters (+32470123456, Peeters BV) and Nina Graf
(+41781234567, Newsletter).
"""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import col
from svc_helpers import Demo

from bannertui.domain import errors
from bannertui.domain.actor import Actor
from bannertui.domain.errors import (
    CountryNotAuthorized,
    DuplicateContact,
    DuplicateGroup,
    InvalidContact,
    InvalidCsv,
    InvalidGroup,
    InvalidNumber,
    NotFound,
    UnknownContact,
    UnknownGroup,
)
from bannertui.services import Services
from bannertui.services.people import ContactRow, GroupRow, RejectedRow
from bannertui.services.people.csv_import import decode_csv
from bannertui.store.database import Database
from bannertui.store.migrate import head_revision, upgrade
from bannertui.store.models import AuditEvent, Contact, ContactGroup, Group, Interaction

LEA = "+33612000001"
THOMAS = "+33612000002"
INES = "+33612000003"
JAN = "+32470123456"
NINA = "+41781234567"
DEMO_NAMES = ["Inès Petit", "Jan Peeters", "Léa Moreau", "Nina Graf", "Thomas Bernard"]
LANDLINE = "+33 1 23 45 67 89"


@pytest.fixture
def seeded(fast_seeded: Database) -> Database:
    """The demo database, reset cheaply for each test (see conftest.py)."""
    return fast_seeded


async def _names(services: Services, search: str = "", **kw: object) -> list[str]:
    return [c.display_name for c in await services.people.contacts(Actor("admin"), search, **kw)]  # type: ignore[arg-type]


async def _group_id(services: Services, name: str) -> int:
    return next(g.id for g in await services.people.groups(Actor("admin")) if g.name == name)


async def _contact_id(services: Services, number: str) -> int:
    row = await services.people.contact_by_number(Actor("admin"), number)
    assert row is not None
    return row.id


def _detail(event: AuditEvent) -> dict[str, object]:
    detail: dict[str, object] = json.loads(event.detail)
    return detail


# --- error names ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "name"),
    [
        (InvalidContact, "Invalid contact"),
        (DuplicateContact, "Duplicate contact"),
        (UnknownContact, "Unknown contact"),
        (InvalidGroup, "Invalid group"),
        (DuplicateGroup, "Duplicate group"),
        (UnknownGroup, "Unknown group"),
        (InvalidCsv, "Invalid CSV"),
    ],
)
def test_people_error_names(error: type[errors.BannerError], name: str) -> None:
    assert error.name == name
    assert str(error("why")) == f"{name}: why"
    assert error in errors.ALL_ERRORS
    assert name not in errors.B12_NAMES


def test_unknown_contact_and_group_are_not_found() -> None:
    assert issubclass(UnknownContact, NotFound)
    assert issubclass(UnknownGroup, NotFound)


# --- contacts: create, read, update, delete ---------------------------------------------


async def test_demo_contacts_by_display_name(services: Services) -> None:
    rows = await services.people.contacts(Actor("admin"))
    assert [r.display_name for r in rows] == DEMO_NAMES
    thomas = rows[-1]
    assert thomas == ContactRow(
        id=thomas.id,
        first_name="Thomas",
        last_name="Bernard",
        number=THOMAS,
        email="",
        company="",
        groups=("Newsletter", "VIP"),
    )


async def test_create_contact_round_trip(services: Services, demo: Demo) -> None:
    row = await services.people.create_contact(
        Actor("admin"),
        first_name="  Zoé ",
        last_name=" Martin",
        number="+33 6 99 00 00 01",
        email=" zoe@example.com ",
        company="Acme",
        groups=["vip", "Clients", "clients", " "],
    )
    assert (row.first_name, row.last_name, row.number) == ("Zoé", "Martin", "+33699000001")
    assert (row.email, row.company) == ("zoe@example.com", "Acme")
    # "vip" is the existing "VIP"; "clients" the "Clients" named before it; blanks ignored.
    assert row.groups == ("Clients", "VIP")
    assert row.display_name == "Zoé Martin"
    assert await services.people.contact(Actor("admin"), row.id) == row
    assert await services.people.contact_by_number(Actor("admin"), "+33699000001") == row
    assert await services.people.contact_by_number(Actor("admin"), "+33699000002") is None
    assert await demo.count(Group) == 3

    [created] = await demo.audit("contact.created")
    assert (created.actor, created.target) == ("admin", f"contact:{row.id}")
    assert _detail(created) == {
        "number": "+33699000001",
        "name": "Zoé Martin",
        "groups": ["Clients", "VIP"],
    }
    [group_event] = await demo.audit("group.created")
    assert _detail(group_event) == {"name": "Clients"}


@pytest.mark.parametrize(
    ("first", "last", "shown"),
    [("", "", "+33699000001"), ("Zoé", "", "Zoé"), ("", "Martin", "Martin")],
)
async def test_display_name_falls_back(
    services: Services, first: str, last: str, shown: str
) -> None:
    row = await services.people.create_contact(
        Actor("admin"), first_name=first, last_name=last, number="+33699000001"
    )
    assert row.display_name == shown
    # The list orders by the same name (SQL computes it too).
    assert shown in await _names(services, "+33699000001")


async def test_create_refuses_a_number_already_in_people(services: Services, demo: Demo) -> None:
    before = await demo.count(AuditEvent)
    with pytest.raises(DuplicateContact) as exc:
        await services.people.create_contact(
            Actor("admin"), first_name="Other", number="0033612000001"
        )
    assert exc.value.name == "Duplicate contact"
    assert "Léa Moreau" in str(exc.value)
    assert LEA in str(exc.value)
    assert await demo.count(Contact) == 5
    assert await demo.count(AuditEvent) == before


@pytest.mark.parametrize(
    ("number", "detail"),
    [
        (LANDLINE, "landline"),
        ("06 12 34 56 78", "international format"),
        ("hello", "international format"),
        ("", "empty"),
        ("+33 6 12", "too short"),
    ],
)
async def test_create_refuses_a_bad_number_by_its_b12_name(
    services: Services, demo: Demo, number: str, detail: str
) -> None:
    with pytest.raises(InvalidNumber) as exc:
        await services.people.create_contact(Actor("admin"), first_name="X", number=number)
    assert exc.value.name == "Invalid number"
    assert detail in str(exc.value)
    assert not isinstance(exc.value, CountryNotAuthorized)
    assert await demo.count(Contact) == 5


async def test_any_country_is_accepted(services: Services) -> None:
    row = await services.people.create_contact(Actor("admin"), number="+1 415 555 2671")
    assert row.number == "+14155552671"


@pytest.mark.parametrize(
    ("fields", "error", "words"),
    [
        ({"first_name": "x" * 121}, InvalidContact, "first name is longer than 120"),
        ({"last_name": "y" * 121}, InvalidContact, "last name is longer than 120"),
        ({"company": "z" * 121}, InvalidContact, "company is longer than 120"),
        ({"email": "a" * 250 + "@example.com"}, InvalidContact, "email is longer than 254"),
        ({"first_name": "\x1b[31mRed"}, InvalidContact, "first name contains control"),
        ({"last_name": "Ma\u202ertin"}, InvalidContact, "last name contains control"),
        ({"company": "A\nB"}, InvalidContact, "company contains control"),
        ({"first_name": "\ud800"}, InvalidContact, "first name is not valid text"),
        ({"email": "not-an-email"}, InvalidContact, "email does not look like"),
        ({"email": "a@b"}, InvalidContact, "email does not look like"),
        ({"groups": ["g" * 121]}, InvalidGroup, "group name is longer than 120"),
        ({"groups": ["Bad\x07"]}, InvalidGroup, "group name contains control"),
    ],
)
async def test_create_refuses_bad_fields_naming_them(
    services: Services, demo: Demo, fields: dict[str, object], error: type[Exception], words: str
) -> None:
    with pytest.raises(error) as exc:
        await services.people.create_contact(Actor("admin"), number="+33699000001", **fields)  # type: ignore[arg-type]
    assert words in str(exc.value)
    assert await demo.count(Contact) == 5


async def test_fields_at_their_limits_are_accepted(services: Services) -> None:
    row = await services.people.create_contact(
        Actor("admin"),
        first_name="é" * 120,
        last_name="L" * 120,
        company="C" * 120,
        email="a" * 242 + "@example.com",
        number="+33699000001",
        groups=["G" * 120],
    )
    assert len(row.email) == 254
    assert row.groups == ("G" * 120,)


async def test_update_contact(services: Services, demo: Demo) -> None:
    lea = await _contact_id(services, LEA)
    row = await services.people.update_contact(
        Actor("alice"),
        lea,
        last_name=" Dubois ",
        number="+33 6 99 00 00 09",
        groups=["Newsletter", "New"],
    )
    assert (row.first_name, row.last_name, row.number) == ("Léa", "Dubois", "+33699000009")
    assert row.email == "lea.moreau@example.com"  # untouched
    assert row.groups == ("New", "Newsletter")  # replaced: no longer VIP
    assert await services.people.contact(Actor("admin"), lea) == row
    assert await services.people.contact_by_number(Actor("admin"), LEA) is None

    [event] = await demo.audit("contact.updated")
    assert (event.actor, event.target) == ("alice", f"contact:{lea}")
    assert _detail(event) == {
        "last_name": "Dubois",
        "number": "+33699000009",
        "groups": ["New", "Newsletter"],
    }
    vip = await _group_id(services, "VIP")
    assert await _names(services, group_id=vip) == ["Thomas Bernard"]


async def test_update_without_change_writes_nothing(services: Services, demo: Demo) -> None:
    lea = await _contact_id(services, LEA)
    before = await demo.count(AuditEvent)
    row = await services.people.update_contact(
        Actor("admin"), lea, first_name="Léa ", number="+33 6 12 00 00 01", groups=["vip"]
    )
    assert row == await services.people.contact(Actor("admin"), lea)
    assert await demo.count(AuditEvent) == before


async def test_update_refuses_another_contacts_number(services: Services) -> None:
    lea = await _contact_id(services, LEA)
    with pytest.raises(DuplicateContact, match="Thomas Bernard"):
        await services.people.update_contact(Actor("admin"), lea, number=THOMAS)
    with pytest.raises(InvalidNumber):
        await services.people.update_contact(Actor("admin"), lea, number=LANDLINE)
    with pytest.raises(InvalidContact, match="email"):
        await services.people.update_contact(Actor("admin"), lea, email="nope")
    assert (await services.people.contact(Actor("admin"), lea)).number == LEA


async def test_update_and_delete_unknown_contact(services: Services) -> None:
    with pytest.raises(UnknownContact):
        await services.people.update_contact(Actor("admin"), 9999, first_name="X")
    with pytest.raises(UnknownContact):
        await services.people.delete_contact(Actor("admin"), 9999)
    with pytest.raises(UnknownContact, match="#9999"):
        await services.people.contact(Actor("admin"), 9999)


async def test_delete_contact(services: Services, demo: Demo) -> None:
    thomas = await _contact_id(services, THOMAS)
    # A conversation that names the contact stays, by number.
    await demo.update(Interaction, Interaction.remote_number == THOMAS, contact_id=thomas)
    interactions = await demo.count(Interaction)

    await services.people.delete_contact(Actor("sam"), thomas)

    assert await services.people.contact_by_number(Actor("admin"), THOMAS) is None
    assert await demo.count(ContactGroup, ContactGroup.contact_id == thomas) == 0
    assert {g.name: g.members for g in await services.people.groups(Actor("admin"))} == {
        "Newsletter": 2,
        "VIP": 1,
    }
    assert await demo.count(Interaction) == interactions
    assert await demo.count(Interaction, Interaction.contact_id == thomas) == 0
    [event] = await demo.audit("contact.deleted")
    assert event.actor == "sam"
    assert _detail(event) == {"number": THOMAS, "name": "Thomas Bernard"}


async def test_the_schema_refuses_two_contacts_with_one_number(demo: Demo) -> None:
    with pytest.raises(IntegrityError):
        async with demo.db.write() as session:
            session.add(Contact(first_name="Twin", number=LEA))
    assert await demo.count(Contact) == 5


# --- search and paging (I9) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("search", "names"),
    [
        ("", DEMO_NAMES),
        ("moreau", ["Léa Moreau"]),
        ("MOREAU", ["Léa Moreau"]),
        ("léa moreau", ["Léa Moreau"]),
        ("  moreau   léa ", ["Léa Moreau"]),
        ("peeters bv", ["Jan Peeters"]),
        ("sarl", ["Léa Moreau"]),
        ("example.com", ["Léa Moreau"]),
        ("612 000", ["Inès Petit", "Léa Moreau", "Thomas Bernard"]),
        ("+33 6 12 00 00 02", ["Thomas Bernard"]),
        ("06 12 00 00 03", ["Inès Petit"]),
        ("0041 78", ["Nina Graf"]),
        ("470-123", ["Jan Peeters"]),
        ("graf 4178", ["Nina Graf"]),
        ("e", ["Inès Petit", "Jan Peeters", "Léa Moreau", "Thomas Bernard"]),
        # without accents either way (issue #19: "ines" did not find Inès)
        ("ines", ["Inès Petit"]),
        ("INES PETIT", ["Inès Petit"]),
        ("lea", ["Léa Moreau"]),
        ("LÉA", ["Léa Moreau"]),
        ("nobody", []),
        ("%", []),
        ("_", []),
        ("\\", []),
    ],
)
async def test_search(services: Services, search: str, names: list[str]) -> None:
    assert await _names(services, search) == names


async def test_search_folds_the_typed_side_too(services: Services) -> None:
    await services.people.create_contact(
        Actor("admin"), first_name="Ines", last_name="Strauss", number="+33612000777"
    )
    await services.people.create_contact(
        Actor("admin"), first_name="Jürgen", last_name="Straße", number="+33612000778"
    )
    assert sorted(await _names(services, "inès")) == ["Ines Strauss", "Inès Petit"]
    assert await _names(services, "strasse") == ["Jürgen Straße"]
    assert await _names(services, "jurgen") == ["Jürgen Straße"]
    # a renamed contact is found by its new name only
    (ines,) = [c for c in await services.people.contacts(Actor("admin"), "ines strauss")]
    await services.people.update_contact(Actor("admin"), ines.id, last_name="Müller")
    assert await _names(services, "strauss") == []
    assert await _names(services, "ines muller") == ["Ines Müller"]


async def test_contact_count_matches_what_the_pages_hold(services: Services) -> None:
    admin = Actor("admin")
    assert await services.people.contact_count(admin) == len(DEMO_NAMES)
    assert await services.people.contact_count(admin, "ines") == 1
    newsletter = await _group_id(services, "Newsletter")
    assert await services.people.contact_count(admin, group_id=newsletter) == len(
        await services.people.contacts(admin, group_id=newsletter)
    )


async def test_search_within_a_group(services: Services) -> None:
    newsletter = await _group_id(services, "Newsletter")
    assert await _names(services, group_id=newsletter) == [
        "Inès Petit",
        "Nina Graf",
        "Thomas Bernard",
    ]
    assert await _names(services, "612", group_id=newsletter) == ["Inès Petit", "Thomas Bernard"]


async def test_keyset_paging(services: Services) -> None:
    for i, (first, last) in enumerate([("anna", "Zed"), ("Anna", "Zed"), ("Bob", ""), ("", "")]):
        await services.people.create_contact(
            Actor("admin"), first_name=first, last_name=last, number=f"+3369900000{i}"
        )
    everything = await services.people.contacts(Actor("admin"), limit=1000)
    assert len(everything) == 9
    pages: list[ContactRow] = []
    after = None
    while True:
        page = await services.people.contacts(Actor("admin"), limit=2, after=after)
        if not page:
            break
        assert len(page) <= 2
        pages += page
        after = page[-1].page_key
    assert pages == everything
    # Display name without case, then id: the two "Anna Zed" in creation order.
    names = [r.display_name for r in everything]
    assert names[:2] == ["+33699000003", "anna Zed"]
    assert names[2] == "Anna Zed"
    assert await services.people.contacts(Actor("admin"), limit=0) == []


async def test_names_for(services: Services) -> None:
    await services.people.create_contact(Actor("admin"), number="+33699000001")
    names = await services.people.names_for(
        Actor("admin"), [LEA, NINA, LEA, "+33699000001", "+33600000000"]
    )
    assert names == {LEA: "Léa Moreau", NINA: "Nina Graf", "+33699000001": "+33699000001"}
    assert await services.people.names_for(Actor("admin"), []) == {}


# --- groups -----------------------------------------------------------------------------


async def test_groups_with_member_counts(services: Services) -> None:
    groups = await services.people.groups(Actor("admin"))
    assert [(g.name, g.members) for g in groups] == [("Newsletter", 3), ("VIP", 2)]


async def test_create_rename_delete_group(services: Services, demo: Demo) -> None:
    people = services.people
    clients = await people.create_group(Actor("admin"), "  Clients ")
    assert clients == GroupRow(clients.id, "Clients", 0)
    with pytest.raises(DuplicateGroup, match="'Clients'"):
        await people.create_group(Actor("admin"), "CLIENTS")
    with pytest.raises(InvalidGroup):
        await people.create_group(Actor("admin"), "   ")

    renamed = await people.rename_group(Actor("admin"), clients.id, "Key clients")
    assert renamed == GroupRow(clients.id, "Key clients", 0)
    assert await people.rename_group(Actor("admin"), clients.id, "key CLIENTS") == GroupRow(
        clients.id, "key CLIENTS", 0
    )
    with pytest.raises(DuplicateGroup, match="VIP"):
        await people.rename_group(Actor("admin"), clients.id, "vip")
    with pytest.raises(UnknownGroup):
        await people.rename_group(Actor("admin"), 9999, "Whatever")

    vip = await _group_id(services, "VIP")
    await people.delete_group(Actor("sam"), vip)
    assert [g.name for g in await people.groups(Actor("admin"))] == ["key CLIENTS", "Newsletter"]
    # Its contacts stay, without it.
    assert await _names(services) == DEMO_NAMES
    lea = await people.contact_by_number(Actor("admin"), LEA)
    assert lea is not None
    assert lea.groups == ()
    with pytest.raises(UnknownGroup):
        await people.delete_group(Actor("sam"), vip)

    assert [e.action for e in await demo.audit("group.created")] == ["group.created"]
    assert len(await demo.audit("group.renamed")) == 2
    [deleted] = await demo.audit("group.deleted")
    assert deleted.actor == "sam"
    assert _detail(deleted) == {"name": "VIP", "members": 2}


async def test_add_and_remove_members(services: Services, demo: Demo) -> None:
    people = services.people
    vip = await _group_id(services, "VIP")
    ids = [await _contact_id(services, n) for n in (LEA, INES, JAN)]

    assert await people.add_to_group(Actor("admin"), vip, ids + ids) == 2  # Léa already in
    assert await _names(services, group_id=vip) == [
        "Inès Petit",
        "Jan Peeters",
        "Léa Moreau",
        "Thomas Bernard",
    ]
    assert await people.add_to_group(Actor("admin"), vip, ids) == 0

    with pytest.raises(UnknownContact, match="#9999"):
        await people.add_to_group(Actor("admin"), vip, [ids[0], 9999])
    with pytest.raises(UnknownGroup):
        await people.add_to_group(Actor("admin"), 9999, ids)

    assert await people.remove_from_group(Actor("admin"), vip, [ids[0], ids[0], 9999]) == 1
    assert await people.remove_from_group(Actor("admin"), vip, [ids[0]]) == 0
    assert await _names(services, group_id=vip) == ["Inès Petit", "Jan Peeters", "Thomas Bernard"]

    [added] = await demo.audit("group.members_added")
    assert _detail(added) == {"name": "VIP", "added": 2}
    [removed] = await demo.audit("group.members_removed")
    assert _detail(removed) == {"name": "VIP", "removed": 1}


async def test_group_numbers(services: Services) -> None:
    vip = await _group_id(services, "VIP")
    newsletter = await _group_id(services, "Newsletter")
    # Each member once (Thomas is in both), by display name.
    assert await services.people.group_numbers(Actor("admin"), [vip, newsletter]) == [
        INES,
        LEA,
        NINA,
        THOMAS,
    ]
    assert await services.people.group_numbers(Actor("admin"), [vip]) == [LEA, THOMAS]
    assert await services.people.group_numbers(Actor("admin"), []) == []
    empty = await services.people.create_group(Actor("admin"), "Empty")
    assert await services.people.group_numbers(Actor("admin"), [empty.id]) == []
    with pytest.raises(UnknownGroup, match="#9999"):
        await services.people.group_numbers(Actor("admin"), [vip, 9999])


# --- CSV import -------------------------------------------------------------------------


async def test_import_a_good_file(services: Services, demo: Demo) -> None:
    text = (
        "first_name,last_name,number,email,company,groups\n"
        "Zoé,Martin,+33 6 99 00 00 01,zoe@example.com,Acme,vip;Clients\n"
        'Yann,"Le Goff, Jr",0033699000002,,"Goff & Co",Clients|Prospects\n'
        "Xavier,,+33699000003,,,\n"
    )
    report = await services.people.import_csv(Actor("admin"), text)
    assert (report.created, report.rejected, report.groups_created) == (3, [], 2)

    zoe = await services.people.contact_by_number(Actor("admin"), "+33699000001")
    assert zoe is not None
    assert (zoe.display_name, zoe.email, zoe.company) == ("Zoé Martin", "zoe@example.com", "Acme")
    assert zoe.groups == ("Clients", "VIP")
    yann = await services.people.contact_by_number(Actor("admin"), "+33699000002")
    assert yann is not None
    assert (yann.last_name, yann.company, yann.groups) == (
        "Le Goff, Jr",
        "Goff & Co",
        ("Clients", "Prospects"),
    )
    xavier = await services.people.contact_by_number(Actor("admin"), "+33699000003")
    assert xavier is not None
    assert xavier.groups == ()
    assert {g.name: g.members for g in await services.people.groups(Actor("admin"))} == {
        "Clients": 2,
        "Newsletter": 3,
        "Prospects": 1,
        "VIP": 3,
    }

    [event] = await demo.audit("people.imported")
    assert (event.actor, event.target) == ("admin", "people")
    assert _detail(event) == {
        "created": 3,
        "rejected": 0,
        "groups_created": 2,
        "groups": ["Clients", "Prospects"],
    }
    assert await demo.audit("contact.created") == []  # one event for the import


async def test_import_bom_and_semicolons(services: Services) -> None:
    text = (
        "\ufeffFirst Name;Last Name;Mobile;Groups\r\n"
        "Zoé;Martin;+33 6 99 00 00 01;A|B\r\n"
        '"Yann";"Le; Goff";+33699000002;"A;C"\r\n'
    )
    report = await services.people.import_csv(Actor("admin"), text)
    assert (report.created, report.rejected, report.groups_created) == (2, [], 3)
    yann = await services.people.contact_by_number(Actor("admin"), "+33699000002")
    assert yann is not None
    assert (yann.first_name, yann.last_name, yann.groups) == ("Yann", "Le; Goff", ("A", "C"))


@pytest.mark.parametrize(
    "header",
    [
        "firstname,lastname,phone",
        "First Name,Last Name,Phone Number",
        "FIRST_NAME\tLAST_NAME\tMOBILE",
        "first-name;last-name;phone_number",
        " First name , LAST name , Number ",
    ],
)
async def test_import_column_aliases(services: Services, header: str) -> None:
    delimiter = "\t" if "\t" in header else (";" if ";" in header else ",")
    row = delimiter.join(["Zoé", "Martin", "+33699000001"])
    report = await services.people.import_csv(Actor("admin"), f"{header}\n{row}\n")
    assert (report.created, report.rejected) == (1, [])
    zoe = await services.people.contact_by_number(Actor("admin"), "+33699000001")
    assert zoe is not None
    assert zoe.display_name == "Zoé Martin"


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("Prénom;Nom;Téléphone;Société;Groupes", "fr"),
        ("Nombre;Apellidos;Teléfono móvil;Empresa;Grupos", "es"),
        ("Vorname;Nachname;Handynummer;Firma;Gruppen", "de"),
        ("Nome;Sobrenome;Telemóvel;Empresa;Grupos", "pt"),
        ("PRENOM;NOM DE FAMILLE;Numéro de téléphone;Entreprise;Groupe", "fr, no accents"),
    ],
)
async def test_import_headers_in_five_languages(services: Services, header: str, name: str) -> None:
    # Issue #19: "Prénom;Nom;Téléphone" was refused: no number column.
    report = await services.people.import_csv(
        Actor("admin"), f"{header}\nInès;Peña;+33 6 99 00 00 01;Café Lumière;VIP\n"
    )
    assert (report.created, report.rejected) == (1, []), name
    ines = await services.people.contact_by_number(Actor("admin"), "+33699000001")
    assert ines is not None
    assert (ines.first_name, ines.last_name, ines.company, ines.groups) == (
        "Inès",
        "Peña",
        "Café Lumière",
        ("VIP",),
    )


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1", "utf-16", "utf-8-sig"])
def test_a_file_in_a_spreadsheets_encoding_is_read(encoding: str) -> None:
    # Issue #19: a cp1252 / Latin-1 file was refused: "not UTF-8 (byte 29)".
    text = (
        "Prénom;Nom;Téléphone;Société\r\n"
        "Inès;Lefèvre;+33 6 99 00 00 01;Café Lumière\r\n"
        "Zoé;Gonçalves;+33 6 99 00 00 02;Société Générale\r\n"
        "Jürgen;Müller;+33 6 99 00 00 03;Straße GmbH\r\n"
    )
    assert decode_csv(text.encode(encoding)) == text


def test_bytes_that_are_no_text_are_refused_by_name() -> None:
    with pytest.raises(InvalidCsv, match=r"contacts\.csv is not text"):
        decode_csv(bytes(range(256)) * 4 + b"\x00\xff\xfe" * 50, "contacts.csv")


async def test_import_rejects_a_short_row_naming_its_line_and_missing_columns(
    services: Services, demo: Demo
) -> None:
    # Issue #19: a row missing its last columns was accepted silently.
    text = (
        "first name,last name,phone,email,company\n"
        "Zoé,Martin,+33699000001,zoe@example.com,Acme\n"
        "Yann,Le Goff,+33699000002\n"
    )
    report = await services.people.import_csv(Actor("admin"), text)
    assert report.created == 1
    (row,) = report.rejected
    assert (row.line, row.number) == (3, "+33699000002")
    assert "3 fields where the header has 5" in row.reason
    assert "'email', 'company'" in row.reason
    assert await services.people.contact_by_number(Actor("admin"), "+33699000002") is None


async def test_import_reports_its_progress(services: Services) -> None:
    rows = "\n".join(f"Zed{i},Paged,+336990{i:05d}" for i in range(2_500))
    seen: list[tuple[int, int]] = []
    report = await services.people.import_csv(
        Actor("admin"),
        f"first name,last name,phone\n{rows}\n",
        progress=lambda done, total: seen.append((done, total)),
    )
    assert report.created == 2_500
    assert len(seen) >= 3
    assert seen[-1][0] == seen[-1][1]  # done
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


async def test_import_columns_in_any_order_and_unknown_ones_ignored(services: Services) -> None:
    text = "notes,Phone,Company,first name\nhello,+33699000001,Acme,Zoé\n"
    report = await services.people.import_csv(Actor("admin"), text)
    assert report.created == 1
    zoe = await services.people.contact_by_number(Actor("admin"), "+33699000001")
    assert zoe is not None
    assert (zoe.first_name, zoe.company) == ("Zoé", "Acme")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("name,email\nZoé,zoe@example.com\n", ["no number column", "'name', 'email'"]),
        ("first name;company\n", ["no number column", "'first name', 'company'"]),
        ("+33699000001\n", ["no number column", "'+33699000001'"]),
        ("", ["empty"]),
        ("\ufeff\n  \n", ["empty"]),
        ("phone,mobile\n+33699000001,+33699000002\n", ["'phone' and 'mobile'", "keep one"]),
    ],
)
async def test_import_refuses_an_unreadable_file(
    services: Services, demo: Demo, text: str, words: list[str]
) -> None:
    before = await demo.count(AuditEvent)
    with pytest.raises(InvalidCsv) as exc:
        await services.people.import_csv(Actor("admin"), text)
    assert exc.value.name == "Invalid CSV"
    for word in words:
        assert word in str(exc.value)
    assert await demo.count(Contact) == 5
    assert await demo.count(AuditEvent) == before


async def test_import_mixed_file_reports_each_bad_row(services: Services, demo: Demo) -> None:
    lines = [
        "First name,Last name,Phone,Email,Groups",  # 1
        "Zoé,Martin,+33 6 99 00 00 01,,New",  # 2 good
        "Bad,Number,12345,,New",  # 3 not international
        "Land,Line,+33 1 23 45 67 89,,",  # 4 landline
        "Zoé,Again,0033699000001,,",  # 5 same number as line 2
        "Léa,Twin,+33612000001,,",  # 6 already in People
        f"{'x' * 121},Long,+33699000004,,",  # 7 too long
        "Esc,\x1b[2J,+33699000005,,",  # 8 control characters
        'Multi,Line,+33699000006,,"Bad',  # 9 a quoted group spanning two lines
        'group"',  # 10
        "Yann,Le Goff,+33699000007,not-an-email,",  # 11 bad email
        "",  # 12 blank: skipped
        ",,,,",  # 13 blank: skipped
        'Xavier,"Dupont, fils",+33699000008,x@example.com,New',  # 14 good
        "Wendy,Extra,+33699000009,,,surprise",  # 15 one field too many
        "Vera,Short,+33699000010",  # 16 fewer fields: no email, no groups (issue #19)
    ]
    report = await services.people.import_csv(Actor("admin"), "\n".join(lines) + "\n")

    assert report.created == 2
    assert report.groups_created == 1
    assert [(r.line, r.number) for r in report.rejected] == [
        (3, "12345"),
        (4, "+33 1 23 45 67 89"),
        (5, "0033699000001"),
        (6, "+33612000001"),
        (7, "+33699000004"),
        (8, "+33699000005"),
        (9, "+33699000006"),
        (11, "+33699000007"),
        (15, "+33699000009"),
        (16, "+33699000010"),
    ]
    reasons = {r.line: r.reason for r in report.rejected}
    assert reasons[3].startswith("Invalid number: ")
    assert reasons[4] == "Invalid number: landline numbers are not accepted"
    assert reasons[5] == "Duplicate contact: +33699000001 is already on line 2"
    assert reasons[6].startswith("Duplicate contact: +33612000001 is already Léa Moreau (#")
    assert reasons[7] == "Invalid contact: first name is longer than 120 characters"
    assert reasons[8] == "Invalid contact: last name contains control characters"
    assert reasons[9] == "Invalid group: group name contains control characters"
    assert reasons[11].startswith("Invalid contact: email does not look like")
    assert reasons[15].startswith("Invalid contact: 6 fields where the header has 5")
    assert reasons[16] == ("Invalid contact: 3 fields where the header has 5: no 'Email', 'Groups'")

    created = {c.number: c for c in await services.people.contacts(Actor("admin"), "+336990000")}
    assert set(created) == {"+33699000001", "+33699000008"}
    assert created["+33699000001"].groups == ("New",)
    assert created["+33699000008"].last_name == "Dupont, fils"
    [event] = await demo.audit("people.imported")
    assert _detail(event) == {"created": 2, "rejected": 10, "groups_created": 1, "groups": ["New"]}


async def test_import_with_only_bad_rows_creates_nothing(services: Services, demo: Demo) -> None:
    report = await services.people.import_csv(
        Actor("admin"), f"number,groups\n{LEA},Ghost\nnope,\n"
    )
    assert report.created == 0
    assert report.groups_created == 0
    assert [r.line for r in report.rejected] == [2, 3]
    assert await demo.count(Contact) == 5
    assert await demo.count(Group) == 2  # no group for a rejected row
    [event] = await demo.audit("people.imported")
    assert _detail(event)["rejected"] == 2


async def test_import_rejected_row_shows_the_number_safely(services: Services) -> None:
    report = await services.people.import_csv(Actor("admin"), "number\n+33\x1b[31m6\n")
    assert report.rejected == [RejectedRow(2, "+33␛[31m6", report.rejected[0].reason)]
    assert report.rejected[0].reason.startswith("Invalid number")


async def test_import_ten_thousand_rows(services: Services, demo: Demo) -> None:
    rows = [f"Person{i},Test,+3366{i:07d},G{i % 7}|All" for i in range(10_000)]
    rows[5000] = "Dup,Test,+33660000001,G1"  # line 5002, same number as line 3
    text = "first name,last name,mobile,groups\n" + "\n".join(rows) + "\n"
    report = await services.people.import_csv(Actor("admin"), text)
    assert report.created == 9_999
    assert report.groups_created == 8
    assert [(r.line, r.reason) for r in report.rejected] == [
        (5002, "Duplicate contact: +33660000001 is already on line 3")
    ]
    assert await demo.count(Contact) == 5 + 9_999
    everyone = await _group_id(services, "All")
    assert len(await services.people.group_numbers(Actor("admin"), [everyone])) == 9_999
    page = await services.people.contacts(Actor("admin"), "person9999")
    assert [(c.number, c.groups) for c in page] == [("+33660009999", ("All", "G3"))]


# --- the migration ----------------------------------------------------------------------


async def test_migration_0002_merges_contacts_sharing_a_number(database_url: str) -> None:
    """Before 0002 nothing stopped two contacts with one number: the upgrade keeps the
    oldest, fills its empty fields from the others, and moves memberships and
    conversations to it."""
    db = Database(database_url)
    try:
        assert await upgrade(db, target="0001") == (None, "0001")
        async with db.write() as session:
            for statement in (
                "INSERT INTO \"group\" (id, name) VALUES (1, 'A'), (2, 'B')",
                "INSERT INTO contact (id, first_name, last_name, number, email, company)"
                " VALUES (1, 'Léa', '', '+33612000001', '', ''),"
                " (2, '', 'Moreau', '+33612000001', 'lea@example.com', ''),"
                " (3, 'Tom', '', '+33612000002', '', ''),"
                " (4, 'Other', 'Name', '+33612000001', '', 'Acme')",
                "INSERT INTO contact_group (contact_id, group_id) VALUES (1, 1), (2, 1), (2, 2)",
                "INSERT INTO interaction (id, channel, status, remote_number, contact_id, unread,"
                " created_at) VALUES (1, 'sms', 'closed', '+33612000001', 4, 0, CURRENT_TIMESTAMP)",
            ):
                await session.execute(sa.text(statement))

        assert await upgrade(db) == ("0001", head_revision())
        services = Services(db)
        await services.agents.init_admin("admin", "Admin", "admin")  # someone to read them
        rows = await services.people.contacts(Actor("admin"))
        assert [(r.id, r.display_name, r.number) for r in rows] == [
            (1, "Léa Moreau", "+33612000001"),
            (3, "Tom", "+33612000002"),
        ]
        lea = rows[0]
        assert (lea.email, lea.company, lea.groups) == ("lea@example.com", "Acme", ("A", "B"))
        async with db.read() as session:
            assert await session.scalar(sa.select(col(Interaction.contact_id))) == 1
    finally:
        await db.dispose()
