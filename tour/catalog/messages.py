"""The tour's check messages as a code and its values, never as English to match later.

`tour check` prints each message in English (`str(message)` fills the template of
its code). The studio says the same message in the staff language by filling that
language's template of the same code with the same values, so no text is ever parsed
back. Every value is capped when a message is built: a message quotes what someone
typed, and a megabyte typed must not become a megabyte on every page that lists it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

MAX_VALUE_CHARS = 60
"""A quoted value longer than this is cut and ends with "…": enough for any valid code,
stop id or file name, far below what would slow a page that lists many problems."""
MAX_LIST_CHARS = 1000
"""Values that list the tour's own names (allowed fields, languages) or quote a library's
reason may be longer; they are still capped."""
LIST_VALUES = frozenset(
    {"allowed", "languages", "hint", "reason", "error", "levels", "units", "message"}
    | {
        "file",
        "folder",
        "field",
        "address",
    }  # the tour's own paths and addresses: cut, they hide the fault
)
ELLIPSIS = "…"


def cap(value: str, limit: int = MAX_VALUE_CHARS) -> str:
    """Return `value` cut to `limit` characters (plus "…") when it is longer."""
    return value if len(value) <= limit else value[:limit] + ELLIPSIS


@dataclass(frozen=True, slots=True)
class Message:
    """One check message: its code in ENGLISH and the values its template names."""

    code: str
    values: tuple[tuple[str, str | Message], ...] = ()

    def __post_init__(self) -> None:
        # The one place values are capped: every way of building a message passes here.
        capped = tuple(
            (name, value if isinstance(value, Message) else _capped(name, str(value)))
            for name, value in self.values
        )
        object.__setattr__(self, "values", capped)

    @classmethod
    def of(cls, code: str, /, **values: object) -> Message:
        """Build a message; values other than messages are said as str() and capped."""
        return cls(
            code,
            tuple(
                (name, value if isinstance(value, Message) else str(value))
                for name, value in values.items()
            ),
        )

    def mapping(self) -> dict[str, str | Message]:
        return dict(self.values)

    def __str__(self) -> str:
        return ENGLISH[self.code].format_map({name: str(value) for name, value in self.values})


def _capped(name: str, value: str) -> str:
    return cap(value, MAX_LIST_CHARS if name in LIST_VALUES else MAX_VALUE_CHARS)


ENGLISH: Mapping[str, str] = {
    # Whole lines: a problem at its place, said with its message.
    "field_line": "{field}: {message}",
    "at_line": "line {line}: {field}: {message}",
    "at_file_line": "{file}, line {line}: {field}: {message}",
    # Reading a file.
    "file_unreadable": "cannot read the file ({reason}); check that it exists and is readable",
    "not_utf8": "not UTF-8 (byte 0x{byte}); save the file as UTF-8",
    "toml_unclosed_string": "a quoted string is not closed on this line; add the closing quote",
    "toml_invalid_value": 'a value is missing or malformed; write a number, "text" in quotes, '
    "true/false or a [list]",
    "toml_syntax": "{reason}; fix the TOML syntax here",
    # Typed fields.
    "unknown_field_near": "unknown field; did you mean '{near}'?",
    "unknown_field": "unknown field; allowed: {allowed}",
    "table_missing": "missing; add a [{table}] table",
    "not_a_table": "must be a table, not {found}",
    "string_missing": 'missing; add {key} = "..."',
    "not_a_string": "must be a string in quotes, not {found}",
    "value_empty": "is empty; write a value",
    "one_line_name": "a name is one line; remove the line break",
    "one_line_title": "a title is one line; remove the line break",
    "control_character": "contains a control character ({char}); remove it",
    "number_missing": "missing; add {key} = <number>",
    "not_a_number": "must be a number, not {found}",
    "out_of_range": "{value} is out of range; use a number from {low} to {high}",
    "list_missing": 'missing; add {key} = ["...", "..."]',
    "not_a_string_list": 'must be a list of strings, such as ["a", "b"]',
    "language_unknown": "'{code}' is not a known language code; use a two-letter ISO 639-1 "
    "code such as 'id' or 'en'",
    "text_empty": "is empty; write the text or remove the line",
    "text_too_many_characters": "{n} characters is too long (limit {limit}); shorten it or "
    "split the stop",
    "language_missing": "missing the '{lang}' {unit}; every stop needs one in each tour "
    "language ({languages})",
    # Stop files.
    "file_name_not_id": "file name '{name}' must use lowercase letters, digits and -; rename "
    "the file",
    "code_pattern": "'{value}' must be 1-{most} characters of lowercase letters, digits and -, "
    "such as '{example}'",
    "spoken_sentences": "{said} sentences, but text.{lang} has {written}; the captions pair "
    "them in order, so split or join spoken sentences until it has {written} too",
    "text_too_short": "{n} {unit}, too short; write {low}–{high} {unit} (about a minute of "
    "narration)",
    "text_too_long": "{n} {unit}, too long; shorten it to {high} {unit} at most (about a "
    "minute of narration)",
    "coord_source_unknown": "'{value}' is not one of {allowed}; say how the position was "
    "found, or 'estimated'",
    "outside_area": "{lat}, {lon} lies outside the tour area (lat {south} to {north}, lon "
    "{west} to {east}); check for a typo in the digits",
    # The tour's stops, across files.
    "stops_not_folder": "the stops folder is not a folder; pass the folder that holds "
    "tour.toml with --stops DIR",
    "stops_folder_missing": "the stops folder does not exist; pass the folder that holds "
    "tour.toml with --stops DIR",
    "no_stops": "no stop files found; add one <id>.toml per stop beside tour.toml",
    "code_taken": "'{value}' is already the code of {owner}; each stop needs its own code",
    "note_stop_unknown": "'{stop}' has no stop file; use a stop id such as '{example}'",
    "retired_code_live": "'{code}' is still the code of {owner}; give that stop a new code or "
    "remove this line",
    "retired_target_unknown": "'{target}' has no stop file; name the stop the code moved to, "
    'or "" if it closed',
    "order_twice": "'{stop}' appears twice; list each stop once",
    "order_no_file": "'{stop}' has no stop file; add {stop}.toml or remove it from the order",
    "order_missing": "'{stop}' ({stop}.toml) is missing from the walking order; add it",
    # Photos.
    "photos_not_tables": "must be [[photos]] tables, each with file, alt, credit and licence",
    "photo_file_missing": 'missing; add file = "photos/<name>.jpg", relative to the stops folder',
    "photo_credit_missing": 'missing; add credit = "<who took the photo>"',
    "photo_licence_missing": 'missing; add licence = "<such as CC BY-SA 4.0>"',
    "too_many_characters": "{n} characters is too long (limit {limit})",
    "alt_missing": "missing; describe the photo in each tour language, {hint}",
    "alt_not_table": "must be a table such as {hint}, not {found}",
    "alt_language_unknown": "'{code}' is not a known language code; use e.g. alt.id",
    "alt_empty": "must say in words what the photo shows, in quotes",
    "alt_too_long": "{n} characters is too long (limit {limit}); say what the photo shows in "
    "a sentence or two",
    "alt_language_missing": "missing the '{lang}' alt text; every photo needs one in each tour "
    "language ({languages})",
    "photo_outside": "'{file}' is outside the stops folder; give a path relative to it, such "
    "as photos/masjid-front.jpg",
    "photo_is_folder": "'{file}' is a folder in {folder}; check the name, or add the photo",
    "photo_absent": "'{file}' does not exist in {folder}; check the name, or add the photo",
    "photo_unusable": "'{file}' {reason}",
    "photo_too_many_pixels": "has too many pixels to decode safely; scale it down below "
    "{most} megapixels",
    "photo_unreadable": "cannot be read as an image ({error}); save it as JPEG, PNG, WebP or AVIF",
    "photo_too_narrow": "is {width} px wide; use an original at least {least} px wide, so it "
    "stays sharp on phones",
    # tour.toml.
    "language_unknown_plain": "'{code}' is not a known language code; use a two-letter ISO "
    "639-1 code",
    "language_twice": "'{code}' is listed twice; list each language once",
    "languages_empty": 'is empty; list at least one language such as ["id"]',
    "default_language_unlisted": "'{value}' is not in languages ({languages}); add it there "
    "or pick one of them",
    "base_url_invalid": "'{address}' {reason}",
    "qr_level_unknown": "'{value}' is not a QR error correction level; use one of {levels} "
    "(Q by default, H for exposed plaques)",
    "retired_not_code": "'{code}' is not a stop code; codes are 1-16 lowercase letters, "
    "digits and -",
    "retired_not_target": 'must be the id of the stop it moved to in quotes, or "" if it '
    "closed, not {found}",
    "origin_invalid": "'{address}' {reason}",
    "length_unit_unknown": "'{unit}' is not a unit; use {units}",
    "length_not_table": "must be {{ min = 120, max = 250 }}, not {found}",
    "length_swapped": "min {low} is above max {high}; swap them",
    "fallback_language_unknown": "'{code}' is not a known language code; use e.g. ms = \"id\"",
    "fallback_not_offered": "must name one of the tour's languages ({languages}), such as "
    '{code} = "{example}"',
    "notes_not_tables": "must be [[notes]] tables, each with stops = [...] and a text per language",
    "note_stops_missing": 'must list the stop ids it applies to, e.g. ["masjid-raya"]',
    "note_text_empty": "must be the note's text in quotes",
    "note_language_missing": "missing the '{lang}' text of this note",
    "pronounce_language_unknown": "'{code}' is not a known language code; use e.g. [pronounce.en]",
    "pronounce_not_table": 'must be a table of word = "spoken form", not {found}',
    "pronounce_empty": 'must be the spoken form in quotes, e.g. "Jafar"',
    "north_not_above_south": "must be greater than south",
    "east_not_above_west": "must be greater than west",
    "ui_missing": "missing the interface strings for '{lang}'; add a [ui.{lang}] table (copy "
    "another language's and translate it)",
    "ui_compass": "must name 8 directions separated by commas, from north clockwise",
    "ui_arrival_offer": "must contain {placeholder} once, where the page puts the place's name",
    # A new stop's file name and code (the walk page and the stop form).
    "file_name_missing": "give the stop a file name, such as '{example}'",
    "file_name_path": "'{value}' must be a plain name without / or ..; such as '{example}'",
    "file_name_too_long": "'{value}' is {n} characters long; use at most {most}",
    "file_name_characters": "'{value}' may only use lowercase letters, digits and -, and start "
    "with a letter or digit; such as '{example}'",
    "file_name_reserved": "'{value}' is a name the tour keeps for itself; choose another name",
    "file_name_taken": "'{value}' is already the file name of a stop; choose another name",
    "file_name_taken_retired": "'{value}' is already the file name of a retired stop; choose "
    "another name",
    "code_retired": "'{value}' was the code of a retired stop, and its plaque still answers; "
    "choose another code",
    "code_qr_too_big": "'{value}' makes the QR code larger than version {version} at level "
    "{level}; use at most {most} characters",
}
"""Every message code → its English template, as `tour check` prints it."""
