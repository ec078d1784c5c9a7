"""The error catalogue: every refusal the product can give, by its user-facing name.

SPEC B12 fixes seven names exactly; the others (permissions, the simultaneous
limit, a missing provider, ...) follow the same form.  Every error carries
``name`` (the exact words shown to a person and returned by the services) and an
optional ``detail`` that says more without changing the name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import ClassVar


class BannerError(Exception):
    """Base of every expected, user-facing refusal."""

    name: ClassVar[str] = "Error"
    #: A form's refused fields (field name → why), in the form's order, when the refusal is
    #: about fields: shown beside each (see services/admin/queues.validate_queue).
    fields: Mapping[str, str] = MappingProxyType({})

    def __init__(self, detail: str | None = None) -> None:
        self.detail = detail
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """The name, followed by the detail when there is one."""
        return f"{self.name}: {self.detail}" if self.detail else self.name


def refuse_fields(
    errors: Mapping[str, str],
    order: Sequence[str],
    error: type[BannerError],
    named: Mapping[str, BannerError] | None = None,
) -> None:
    """Raise every refused field at once (``errors``: field → why), in the form's ``order``,
    as ``fields`` of the error: several are one ``error`` naming each; a single one whose
    refusal has a name of its own (``named``: Invalid number, Invalid time zone, …) keeps
    it.  Nothing refused: returns."""
    if not errors:
        return
    ordered = MappingProxyType({f: errors[f] for f in order if f in errors})
    first = next(iter(ordered))
    exc = (
        named[first]
        if len(ordered) == 1 and named is not None and first in named
        else error("; ".join(ordered.values()))
    )
    exc.fields = ordered
    raise exc


# --- SPEC B12, exact names -------------------------------------------------


class CountryNotAuthorized(BannerError):
    name = "Country not authorized"


class InvalidNumber(BannerError):
    name = "Invalid number"


class InsufficientCredits(BannerError):
    name = "Insufficient credits"


class CreditLimitExceeded(BannerError):
    name = "Credit limit exceeded"


class InvalidTemplate(BannerError):
    name = "Invalid template"


class NoSenderNumber(BannerError):
    name = "No sender number"


class NoQueueConfigured(BannerError):
    name = "No queue configured"


# --- Templates (SPEC §7) --------------------------------------------------------


class MissingTemplateVariables(InvalidTemplate):
    """SPEC §7: a template to send still has ``$variables`` with no value and no fallback.

    An "Invalid template" for that send (a subclass, as ``UnknownAgent`` is a ``NotFound``),
    with a name of its own; the detail lists the variables: ``$date, $time``.
    """

    name = "Template variables missing"


# --- B1 prerequisites --------------------------------------------------------


class NoMessagingPermission(BannerError):
    name = "No outgoing messaging permission"


class NoDirectPermission(BannerError):
    name = "No Direct SMS permission"


class NoSmartPermission(BannerError):
    name = "No Smart SMS permission"


class SimultaneousLimitReached(BannerError):
    name = "Simultaneous interaction limit reached"


class NoProviderConfigured(BannerError):
    name = "No SMS provider configured"


# --- Other refusals of the services ------------------------------------------


class InvalidAmount(BannerError):
    """A number of credits outside its bounds (see ``domain.credits``)."""

    name = "Invalid amount"


class BalanceLimitExceeded(BannerError):
    """Adding credits would take the balance above its ceiling."""

    name = "Balance limit exceeded"


class EmptyMessage(BannerError):
    name = "Empty message"


class InteractionNotProgressing(BannerError):
    name = "Interaction not progressing"


class NotFound(BannerError):
    """Something named by the caller does not exist (agent, queue, interaction...)."""

    name = "Not found"


class UnknownAgent(NotFound):
    name = "Unknown agent"


class UnknownQueue(NotFound):
    name = "Unknown queue"


class UnknownInteraction(NotFound):
    name = "Unknown interaction"


class UnknownMessage(NotFound):
    name = "Unknown message"


class DuplicateRetId(BannerError):
    name = "Duplicate retId"


class QueueDisabled(BannerError):
    name = "Queue disabled"


class NotAllowed(BannerError):
    """The caller's role does not allow the action."""

    name = "Not allowed"


# --- Provider settings (SPEC P1, P7) --------------------------------------------


class InvalidProviderUrl(BannerError):
    name = "Invalid provider URL"


class InvalidProviderLogin(BannerError):
    name = "Invalid login"


class InvalidCaFile(BannerError):
    name = "Invalid CA file"


# --- People: contacts and groups (SPEC I8) ---------------------------------------


class InvalidContact(BannerError):
    """A contact field is refused (too long, control characters, not an email...)."""

    name = "Invalid contact"


class DuplicateContact(BannerError):
    """The number already belongs to a contact (one contact per number)."""

    name = "Duplicate contact"


class UnknownContact(NotFound):
    name = "Unknown contact"


class InvalidGroup(BannerError):
    """A group name is refused (empty, too long, control characters)."""

    name = "Invalid group"


class DuplicateGroup(BannerError):
    """Another group has the same name (compared without case)."""

    name = "Duplicate group"


class UnknownGroup(NotFound):
    name = "Unknown group"


class InvalidCsv(BannerError):
    """A contacts file cannot be imported at all (no header, no number column...)."""

    name = "Invalid CSV"


# --- The inbox (SPEC I2–I7) -------------------------------------------------------


class InvalidSchedule(BannerError):
    """A scheduled time that has passed, or has no time zone."""

    name = "Invalid schedule"


class InvalidDate(BannerError):
    """A search date that cannot be read, has no time zone, or ends before it starts."""

    name = "Invalid date"


# --- Routing, blacklists and opt-out (SPEC Q4, X1) ---------------------------------


class BlacklistedNumber(BannerError):
    """Outbound to a number on the blacklist."""

    name = "Blacklisted number"


class OptedOut(BannerError):
    """A MARKETING message to a number that replied STOP."""

    name = "Opted out"


# --- Drafts (issue #23) -----------------------------------------------------------


class DraftTooLong(BannerError):
    """A draft (or the recipients typed with it) longer than a draft may be."""

    name = "Draft too long"


ALL_ERRORS: tuple[type[BannerError], ...] = (
    CountryNotAuthorized,
    InvalidNumber,
    InsufficientCredits,
    CreditLimitExceeded,
    InvalidTemplate,
    MissingTemplateVariables,
    InvalidAmount,
    BalanceLimitExceeded,
    NoSenderNumber,
    NoQueueConfigured,
    NoMessagingPermission,
    NoDirectPermission,
    NoSmartPermission,
    SimultaneousLimitReached,
    NoProviderConfigured,
    EmptyMessage,
    InteractionNotProgressing,
    NotFound,
    UnknownAgent,
    UnknownQueue,
    UnknownInteraction,
    UnknownMessage,
    DuplicateRetId,
    QueueDisabled,
    NotAllowed,
    InvalidProviderUrl,
    InvalidProviderLogin,
    InvalidCaFile,
    InvalidContact,
    DuplicateContact,
    UnknownContact,
    InvalidGroup,
    DuplicateGroup,
    UnknownGroup,
    InvalidCsv,
    InvalidSchedule,
    InvalidDate,
    BlacklistedNumber,
    OptedOut,
    DraftTooLong,
)

B12_NAMES: tuple[str, ...] = (
    "Country not authorized",
    "Invalid number",
    "Insufficient credits",
    "Credit limit exceeded",
    "Invalid template",
    "No sender number",
    "No queue configured",
)


class InvalidQueue(BannerError):
    """A queue setting is refused (negative time, unknown strategy, a number in use...)."""

    name = "Invalid queue"


class InvalidBlacklistEntry(BannerError):
    name = "Invalid blacklist entry"


class InvalidProfile(BannerError):
    name = "Invalid profile"
