"""Who is acting: the agent an operation is done as, and who authenticated to do it.

An :class:`Actor` is built once, where the caller is authenticated — the OS account of the
process for the console and the commands (:mod:`bannertui.identity`), a signed-in session
for the browser — and handed to every service call.  Nothing a user types or sets in the
environment names it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Actor:
    """The agent ``login`` acts; ``by`` is the administrator who authenticated and acts as
    them (``--agent``), or None when the agent authenticated themself."""

    login: str
    by: str | None = None

    @property
    def audit_name(self) -> str:
        """How the audit trail names them: ``alice``, or ``admin as alice``."""
        return f"{self.by} as {self.login}" if self.by and self.by != self.login else self.login

    def __str__(self) -> str:
        return self.audit_name
