"""Message templates and their ``$name`` variables (SPEC §7).

A variable is ``$`` followed by a letter or an underscore, then letters, digits
or underscores.  Letters are Unicode letters, so French agents can write
``$prénom``.  The name is matched greedily: in ``$name_x`` the variable is
``name_x``, never ``name``.  There is no escape: ``$$name`` is a literal ``$``
followed by the variable ``name``.

A variable may carry a fallback, used when its value is empty or missing:
``$name|text``, the text running to the next whitespace or ``$``, or
``$name|"two words"``, the text between the quotes (which may hold anything but
a ``"``; the quotes are not part of it).  A ``|`` with no text after it is no
fallback: it stays as text.  A fallback is text, never expanded: what reads
like a variable inside a quoted fallback is none.

Substitution is a single pass: text that comes from a value or a fallback is
never expanded again, and ``$words`` with no value and no fallback are left as
they are (:func:`substitute`, for the editor's "Replace variables").  A template
that is sent is :func:`render`-ed instead: every variable must end up filled
(a non-empty value, or a non-empty fallback), or the send is refused as
"Template variables missing", naming them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from bannertui.domain.errors import InvalidTemplate, MissingTemplateVariables

__all__ = [
    "PLACEHOLDER_RE",
    "VARIABLE_RE",
    "missing_error",
    "missing_values",
    "render",
    "require_filled",
    "require_template",
    "substitute",
    "variables",
]

VARIABLE_RE = re.compile(r"\$([^\W\d]\w*)")
"""``$`` then a Unicode letter or ``_``, then Unicode letters, digits or ``_``."""

PLACEHOLDER_RE = re.compile(
    r"""\$(?P<name>[^\W\d]\w*)          # the variable, as VARIABLE_RE
        (?:\|(?:"(?P<quoted>[^"]*)"     # |"any text but a quote"
              |(?P<plain>[^\s$]+)))?    # |text up to whitespace or $ (at least one character)
    """,
    re.VERBOSE,
)
"""A variable with its optional fallback (``quoted`` or ``plain``; neither: no fallback)."""


def _fallback(match: re.Match[str]) -> str | None:
    quoted, plain = match.group("quoted"), match.group("plain")
    return quoted if quoted is not None else plain


def variables(template: str) -> list[str]:
    """The variable names of ``template`` (without ``$``), in order of first appearance."""
    # dict keeps insertion order: a cheap ordered de-duplication.
    return list(dict.fromkeys(m.group("name") for m in PLACEHOLDER_RE.finditer(template)))


def substitute(text: str, values: Mapping[str, str]) -> str:
    """Replace each ``$name`` by its value; by its fallback when the value is empty or missing;
    by the (empty) value when there is no fallback; leave it untouched when it has neither a
    value nor a fallback.

    One pass over ``text``: a value or a fallback is inserted as it is, even when it contains
    ``$something`` that names another value.
    """

    def replace(match: re.Match[str]) -> str:
        name = match.group("name")
        value = values.get(name)
        if value:
            return value
        fallback = _fallback(match)
        if fallback is not None:
            return fallback
        return value if value is not None else match.group(0)

    return PLACEHOLDER_RE.sub(replace, text)


def missing_values(template: str, values: Mapping[str, str]) -> list[str]:
    """The variables of ``template`` that would be left unfilled, in order of first appearance:
    an occurrence with no value (or an empty one) and no fallback (or an empty one)."""
    return list(
        dict.fromkeys(
            m.group("name")
            for m in PLACEHOLDER_RE.finditer(template)
            if not values.get(m.group("name")) and not _fallback(m)
        )
    )


def missing_error(names: list[str], hint: str | None = None) -> MissingTemplateVariables:
    """The refusal naming ``names``: "Template variables missing: $date, $time (hint)"."""
    listed = ", ".join(f"${name}" for name in names)
    return MissingTemplateVariables(f"{listed} ({hint})" if hint else listed)


def require_filled(template: str, values: Mapping[str, str], *, hint: str | None = None) -> str:
    """Return ``template`` unchanged, or raise :class:`MissingTemplateVariables` naming the
    variables ``values`` and the fallbacks leave unfilled (``hint`` follows the names)."""
    missing = missing_values(template, values)
    if missing:
        raise missing_error(missing, hint)
    return template


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
    """The message to send for ``template_text`` with ``values`` substituted: "Invalid template"
    when it is missing or empty, "Template variables missing" when a variable is left unfilled
    (no value and no fallback), so that no literal ``$variable`` and no empty gap is sent."""
    text = require_filled(require_template(template_text), values)
    return substitute(text, values)
