"""Which outbound form an agent gets, from the permissions of their profile (SPEC B1, B3)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from bannertui.domain.errors import NoMessagingPermission, NoSmartPermission


class RoutingMode(enum.Enum):
    """What the New-interaction flow shows after the recipient number."""

    SELECTOR = "selector"  # Direct and Smart: the agent chooses
    DIRECT = "direct"
    SMART = "smart"


class SendMode(enum.Enum):
    """The mode an agent actually sends in."""

    DIRECT = "direct"
    SMART = "smart"


@dataclass(frozen=True, slots=True)
class Permissions:
    """The outgoing-messaging permissions of a profile."""

    messaging: bool
    direct: bool
    smart: bool


def routing_mode(perms: Permissions) -> RoutingMode:
    """SPEC B3: Direct+Smart -> selector; Smart only -> Smart; Direct only -> Direct.

    Raises :class:`NoMessagingPermission` without outgoing messaging, and
    :class:`NoSmartPermission` (naming both modes) when neither mode is granted.
    """
    if not perms.messaging:
        raise NoMessagingPermission()
    if perms.direct and perms.smart:
        return RoutingMode.SELECTOR
    if perms.smart:
        return RoutingMode.SMART
    if perms.direct:
        return RoutingMode.DIRECT
    raise NoSmartPermission("the profile has neither Direct nor Smart SMS permission")


def allowed_modes(perms: Permissions) -> tuple[SendMode, ...]:
    """The send modes a profile may use, in the order the selector lists them."""
    mode = routing_mode(perms)
    if mode is RoutingMode.SELECTOR:
        return (SendMode.SMART, SendMode.DIRECT)
    return (SendMode.SMART,) if mode is RoutingMode.SMART else (SendMode.DIRECT,)
