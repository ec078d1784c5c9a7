"""Message templates and their ``$name`` variables (SPEC §7).

A variable is ``$`` followed by a letter or an underscore, then letters, digits
or underscores.  Letters are Unicode letters, so French agents can write
``$prénom``.  The name is matched greedily: in ``$name_x`` the variable is
``name_x``, never ``name``.  There is no escape: ``$$name`` is a literal ``$``
followed by the variable ``name``.

Substitution is a single pass: text that comes from a value is never expanded
again, and ``$words`` with no value are left as they are.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from bannertui.domain.errors import InvalidTemplate

__all__ = [
    "VARIABLE_RE",
    "missing_values",
    "render",
    "require_template",
    "substitute",
    "variables",
]

VARIABLE_RE = re.compile(r"\$([^\W\d]\w*)")
"""``$`` then a Unicode letter or ``_``, then Unicode letters, digits or ``_``."""


def variables(template: str) -> list[str]:
    """The variable names of ``template`` (without ``$``), in order of first appearance."""
    # dict keeps insertion order: a cheap ordered de-duplication.
    return list(dict.fromkeys(match.group(1) for match in VARIABLE_RE.finditer(template)))


def substitute(text: str, values: Mapping[str, str]) -> str:
    """Replace each ``$name`` whose name is in ``values``; leave the others untouched.

    One pass over ``text``: a value is inserted as it is, even when it contains
    ``$something`` that names another value.
    """

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        return values[name] if name in values else match.group(0)

    return VARIABLE_RE.sub(replace, text)


def require_template(text: str | None) -> str:
    """Return ``text`` unchanged, or raise :class:`InvalidTemplate` when there is no usable text.

    ``None`` means the template was not found; an empty or whitespace-only text is empty.
    """
    if text is None:
        raise InvalidTemplate("the template was not found")
    if not text.strip():
        raise InvalidTemplate("the template is empty")
    return text


def render(template_text: str | None, values: Mapping[str, str]) -> str:
    """The message for ``template_text`` with ``values`` substituted (see :func:`substitute`)."""
    return substitute(require_template(template_text), values)


def missing_values(template: str, values: Mapping[str, str]) -> list[str]:
    """The variables of ``template`` with no value or an empty one, in order of first appearance."""
    return [name for name in variables(template) if not values.get(name)]
