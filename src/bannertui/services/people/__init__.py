"""People (SPEC I8, I9): contacts and groups — create, edit, delete, search, import from CSV.

One contact per number (E.164, any country, mobile only: the numbers an SMS can reach).
Group names are unique without regard to case: naming "vip" where "VIP" exists means "VIP".
Every change writes its audit event in its own transaction; an import writes one.

Lists return small frozen rows (:class:`ContactRow`, :class:`GroupRow`), never ORM objects.

In parts: ``fields`` (rows and checks), ``csv_import`` (reading a CSV file), ``queries``
(the SQL) and ``service`` (:class:`PeopleService`)."""

from __future__ import annotations

from bannertui.domain.contacts import display_name
from bannertui.services.people.fields import (
    MAX_IMPORT_ROWS,
    ContactRow,
    GroupRow,
    ImportReport,
    RejectedRow,
    clean_group_name,
)
from bannertui.services.people.queries import contact_names
from bannertui.services.people.service import PeopleService

__all__ = [
    "MAX_IMPORT_ROWS",
    "ContactRow",
    "GroupRow",
    "ImportReport",
    "PeopleService",
    "RejectedRow",
    "clean_group_name",
    "contact_names",
    "display_name",
]
