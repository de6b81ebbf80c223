"""How long each field of a staff form may be, checked before anything else reads it.

Names and texts have the catalog's own limits, and the browser stops typing there
(`maxlength`); the other limits are far above anything real, so no form that
`tour check` accepts is refused, and only a hand-made request meets them. Checking
length first means no later check (a stop file built from the form, a code looked up,
a password hashed) ever works on a value far bigger than any real one; the answer
names the field, its length and the limit, never the value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tour.catalog.messages import cap
from tour.catalog.stops import MAX_TEXT_CHARS
from tour.catalog.tour_file import MAX_NAME_CHARS

HASH_CHARS = 64
"""A SHA-256 hex digest: the base and draft versions of a form."""
MAX_NOTE_CHARS = 2_000
"""The note a publish or a restore keeps in the history, and a location's note."""
MAX_SOURCES_CHARS = 100_000
"""Every source of a stop, one per line."""
MAX_PASSWORD_CHARS = 1024
DEFAULT_LIMIT = 100
"""Any other field: ids, codes, choices, coordinates, account names, tokens."""
MAX_FIELD_NAME_CHARS = 40

FIELD_LIMITS: Mapping[str, int] = {
    "base": HASH_CHARS,
    "draft": HASH_CHARS,
    "note": MAX_NOTE_CHARS,
    "sources": MAX_SOURCES_CHARS,
    "password": MAX_PASSWORD_CHARS,
    "location.coord_note": MAX_NOTE_CHARS,
}
TEXT_LIMITS: Mapping[str, int] = {
    "name": MAX_NAME_CHARS,
    "text": MAX_TEXT_CHARS,
    "spoken": MAX_TEXT_CHARS,
}
"""By table, the limit of each of its language fields (`text.en`), as `tour check` has it."""


@dataclass(frozen=True, slots=True)
class TooLong:
    """A field over its limit: its name (capped), its length and the limit."""

    field: str
    length: int
    limit: int


def field_limit(name: str) -> int:
    """The most characters the field `name` may hold."""
    table, dot, _ = name.partition(".")
    if dot and table in TEXT_LIMITS:
        return TEXT_LIMITS[table]
    return FIELD_LIMITS.get(name, DEFAULT_LIMIT)


def too_long(form: Mapping[str, str]) -> TooLong | None:
    """The first field of `form` over its limit, or None when every field fits.

    A field name no form has, longer than any real one, counts as over the limit too.
    """
    for name, value in form.items():
        if len(name) > MAX_FIELD_NAME_CHARS:
            return TooLong(cap(name, MAX_FIELD_NAME_CHARS), len(name), MAX_FIELD_NAME_CHARS)
        limit = field_limit(name)
        # Browsers send each line break typed as CRLF but count it, as the file keeps it, once.
        length = len(value) - value.count("\r\n")
        if length > limit:
            return TooLong(name, length, limit)
    return None
