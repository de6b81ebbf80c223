"""Read and validate the stop files of a tour.

A tour folder holds `tour.toml` (the tour itself) and one `<id>.toml` per stop.
Validation collects every problem in one run, each as `path:line: field: message`,
so staff can fix a whole batch of edits at once.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tour.errors import TourError
from tour.languages import is_known_language
from tour.model import COORD_SOURCES, Bounds, Location, Note, Stop, Tour, frozen_mapping

TOUR_FILE = "tour.toml"
CODE_PATTERN = re.compile(r"[a-z0-9-]{1,16}")
STOP_ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]*")
MAX_TEXT_CHARS = 5000
"""About five minutes spoken: past that a narration should be split into stops."""
MAX_NAME_CHARS = 80
DEFAULT_WALKING_SPEED_KMH = 4.0
QR_LEVELS = ("L", "M", "Q", "H")
DEFAULT_QR_LEVEL = "Q"
DEFAULT_SCAN_DISTANCE_M = 0.5

# Interface strings every tour language must define; templates use exactly these.
UI_KEYS = frozenset(
    {
        "language_name",
        "language_label",
        "tour_intro",
        "stops_heading",
        "stop_label",
        "of",
        "previous",
        "next",
        "walk",
        "minutes",
        "from_previous",
        "start_of_tour",
        "end_of_tour",
        "all_stops",
        "skip_to_content",
        "location_estimated",
        "compass",
        "decimal_mark",
        "not_found_title",
        "not_found_text",
        "listen",
        "audio_missing",
        "plaque_call",
        "back_10",
        "forward_10",
        "speed",
        "up_next",
        "route_label",
        "location_heading",
        "open_in_maps",
        "openstreetmap",
        "notes_heading",
        "map_heading",
        "map_label",
        "locate",
        "you_are_here",
        "nearest",
        "locate_failed",
        "save_tour",
        "saving",
        "saved",
        "save_failed",
        "places",
        "phone_voice",
        "app_name",
    }
)
COMPASS_POINTS = 8

TOUR_FIELDS = frozenset(
    {
        "title",
        "languages",
        "default_language",
        "base_url",
        "order",
        "bounds",
        "walking_speed_kmh",
        "ui",
        "pronounce",
        "qr_error_correction",
        "scan_distance_m",
        "fallbacks",
        "notes",
        "scan_beacon_origins",
    }
)
STOP_FIELDS = frozenset({"code", "location", "name", "text", "spoken", "sources"})
LOCATION_FIELDS = frozenset({"lat", "lon", "coord_source", "coord_note"})
BOUNDS_FIELDS = ("south", "west", "north", "east")


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in a stop file, located as precisely as the file allows."""

    path: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.field}: {self.message}"


class CatalogError(TourError):
    """The tour could not be loaded; `problems` says every reason."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


# --- where keys are written -------------------------------------------------------------

_TABLE_HEADER = re.compile(r"^\s*\[\[?\s*(?P<key>[^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY_LINE = re.compile(
    r"^\s*(?P<key>(?:\"[^\"]*\"|'[^']*'|[A-Za-z0-9_-]+)(?:\s*\.\s*(?:\"[^\"]*\"|'[^']*'|[A-Za-z0-9_-]+))*)\s*=\s*(?P<value>.*)$"
)
_KEY_PART = re.compile(r"\"([^\"]*)\"|'([^']*)'|([A-Za-z0-9_-]+)")
_STRING_ITEM = re.compile(r"\"([^\"]*)\"|'([^']*)'")


def _split_key(dotted: str) -> tuple[str, ...]:
    return tuple(
        next(part for part in match.groups() if part is not None)
        for match in _KEY_PART.finditer(dotted)
    )


class SourceLines:
    """Map TOML key paths to the lines they are written on.

    tomllib gives no positions, so this scans the text: table headers, `key =`
    lines, and the string items of multi-line arrays. Lines inside multi-line
    strings are skipped, so narration text can never look like a key.
    """

    def __init__(self, text: str) -> None:
        self._keys: dict[tuple[str, ...], int] = {}
        self._items: dict[tuple[tuple[str, ...], str], list[int]] = {}
        self._tables: dict[tuple[str, ...], list[int]] = {}
        table: tuple[str, ...] = ()
        string_end: str | None = None
        array_key: tuple[str, ...] | None = None
        array_depth = 0
        for number, line in enumerate(text.splitlines(), start=1):
            if string_end is not None:
                if string_end in line:
                    string_end = None
                continue
            if array_key is not None:
                self._note_items(array_key, line, number)
                array_depth += _bracket_balance(line)
                if array_depth <= 0:
                    array_key = None
                continue
            header = _TABLE_HEADER.match(line)
            if header:
                table = _split_key(header["key"])
                self._keys.setdefault(table, number)
                self._tables.setdefault(table, []).append(number)
                continue
            key_line = _KEY_LINE.match(line)
            if not key_line:
                continue
            path = table + _split_key(key_line["key"])
            self._keys.setdefault(path, number)
            value = key_line["value"].strip()
            for quote in ('"""', "'''"):
                if value.startswith(quote) and value.count(quote) == 1:
                    string_end = quote
            if value.startswith("["):
                self._note_items(path, value, number)
                depth = _bracket_balance(value)
                if depth > 0:
                    array_key, array_depth = path, depth

    def _note_items(self, path: tuple[str, ...], line: str, number: int) -> None:
        for match in _STRING_ITEM.finditer(line):
            item = match[1] if match[1] is not None else match[2]
            self._items.setdefault((path, item), []).append(number)

    def line(self, *path: str) -> int:
        """Return the line of `path`, else of its nearest written parent, else 1."""
        for end in range(len(path), 0, -1):
            found = self._keys.get(path[:end])
            if found is not None:
                return found
        return 1

    def table_lines(self, path: tuple[str, ...]) -> list[int]:
        """Return the header line of each [[path]] table, in order."""
        return self._tables.get(path, [])

    def item_line(self, path: tuple[str, ...], item: str, occurrence: int = 0) -> int:
        """Return the line of the string `item` (its nth occurrence) in the array at `path`."""
        found = self._items.get((path, item), [])
        return found[occurrence] if occurrence < len(found) else self.line(*path)


def _bracket_balance(text: str) -> int:
    text = _STRING_ITEM.sub("", text.split("#", 1)[0])
    return text.count("[") - text.count("]")


# --- reading one file ---------------------------------------------------------------------


def display_path(path: Path) -> str:
    """Show a path relative to the working folder when it is inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


class FileReport:
    """Collects the problems of one file, with the lines of its keys."""

    def __init__(self, path: Path, problems: list[Problem]) -> None:
        self.path = display_path(path)
        self.lines = SourceLines("")
        self._problems = problems
        self.count = 0

    def add(self, field: tuple[str, ...] | str, message: str, line: int | None = None) -> None:
        parts = (field,) if isinstance(field, str) else field
        if line is None:
            line = self.lines.line(*parts)
        self._problems.append(Problem(self.path, line, ".".join(parts), message))
        self.count += 1


_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_TOML_AT_END = re.compile(r"\s*\(at end of document\)\s*$")
# tomllib's wording for the slips staff make most, put in plain words.
_TOML_HINTS = {
    "Illegal character '\\n'": "a quoted string is not closed on this line; add the closing quote",
    "Invalid value": 'a value is missing or malformed; write a number, "text" in quotes, '
    "true/false or a [list]",
}


def read_toml(path: Path, report: FileReport) -> dict[str, Any] | None:
    """Parse one TOML file; on failure record one problem and return None."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        reason = error.strerror or type(error).__name__
        report.add(
            "file", f"cannot read the file ({reason}); check that it exists and is readable", 1
        )
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        report.add(
            "file",
            f"not UTF-8 (byte 0x{raw[error.start]:02x}); save the file as UTF-8",
            line,
        )
        return None
    report.lines = SourceLines(text)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        line = text.count("\n") + 1
        position = _TOML_POSITION.search(message)
        if position:
            line = int(position[1])
            message = message[: position.start()]
        elif _TOML_AT_END.search(message):
            message = _TOML_AT_END.sub("", message)
        message = message.strip().rstrip(".")
        message = _TOML_HINTS.get(message, f"{message}; fix the TOML syntax here")
        report.add("toml", message, line)
        return None


# --- field checks ------------------------------------------------------------------------


def _suggest(name: str, allowed: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, sorted(allowed), n=1, cutoff=0.6)
    # Spelled-out names such as "latitude" are far from "lat" by edit distance.
    close = close or [key for key in sorted(allowed) if name.startswith(key)][:1]
    return f"did you mean '{close[0]}'?" if close else f"allowed: {', '.join(sorted(allowed))}"


def check_fields(
    table: Mapping[str, Any], allowed: Iterable[str], path: tuple[str, ...], report: FileReport
) -> None:
    allowed = frozenset(allowed)
    for key in table:
        if key not in allowed:
            report.add((*path, key), f"unknown field; {_suggest(key, allowed)}")


def get_table(
    data: Mapping[str, Any], key: str, path: tuple[str, ...], report: FileReport
) -> dict[str, Any] | None:
    value = data.get(key)
    if value is None:
        report.add((*path, key), f"missing; add a [{'.'.join((*path, key))}] table")
        return None
    if not isinstance(value, dict):
        report.add((*path, key), f"must be a table, not {_toml_type(value)}")
        return None
    return value


def get_string(
    data: Mapping[str, Any], key: str, path: tuple[str, ...], report: FileReport
) -> str | None:
    value = data.get(key)
    if value is None:
        report.add((*path, key), f'missing; add {key} = "..."')
        return None
    if not isinstance(value, str):
        report.add((*path, key), f"must be a string in quotes, not {_toml_type(value)}")
        return None
    if not value.strip():
        report.add((*path, key), "is empty; write a value")
        return None
    return value.strip()


def get_number(
    data: Mapping[str, Any],
    key: str,
    path: tuple[str, ...],
    report: FileReport,
    low: float,
    high: float,
) -> float | None:
    value = data.get(key)
    if value is None:
        report.add((*path, key), f"missing; add {key} = <number>")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        report.add((*path, key), f"must be a number, not {_toml_type(value)}")
        return None
    if not low <= value <= high:
        report.add((*path, key), f"{value} is out of range; use a number from {low:g} to {high:g}")
        return None
    return float(value)


def get_string_list(
    data: Mapping[str, Any], key: str, path: tuple[str, ...], report: FileReport
) -> list[str] | None:
    value = data.get(key)
    if value is None:
        report.add((*path, key), f'missing; add {key} = ["...", "..."]')
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        report.add((*path, key), 'must be a list of strings, such as ["a", "b"]')
        return None
    return value


def _toml_type(value: object) -> str:
    names = {bool: "true/false", int: "a number", float: "a number", str: "a string"}
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return names.get(type(value), type(value).__name__)


def get_language_texts(
    data: Mapping[str, Any],
    key: str,
    report: FileReport,
    languages: tuple[str, ...],
    max_chars: int,
    required: bool = True,
) -> dict[str, str]:
    """Read a table of language code → text, checking codes, emptiness and length."""
    path = (key,)
    if key not in data and not required:
        return {}
    table = get_table(data, key, (), report)
    if table is None:
        return {}
    texts: dict[str, str] = {}
    for code, value in table.items():
        if not is_known_language(code):
            report.add(
                (*path, code),
                f"'{code}' is not a known language code; use a two-letter ISO 639-1 code "
                "such as 'id' or 'en'",
            )
            continue
        if not isinstance(value, str):
            report.add((*path, code), f"must be a string in quotes, not {_toml_type(value)}")
            continue
        if not value.strip():
            report.add((*path, code), "is empty; write the text or remove the line")
            continue
        if len(value) > max_chars:
            report.add(
                (*path, code),
                f"{len(value)} characters is too long (limit {max_chars}); shorten it "
                "or split the stop",
            )
            continue
        texts[code] = value.strip()
    if required:
        for code in languages:
            if code not in table:
                report.add(
                    (*path, code),
                    f"missing the '{code}' {key}; every stop needs one in each tour language "
                    f"({', '.join(languages)})",
                )
    return texts


# --- the tour file -----------------------------------------------------------------------


@dataclass(slots=True)
class TourSettings:
    """What tour.toml says, as far as it could be read."""

    title: dict[str, str]
    languages: tuple[str, ...]
    default_language: str
    base_url: str
    order: list[str]
    bounds: Bounds | None
    walking_speed_kmh: float
    ui: dict[str, dict[str, str]]
    pronounce: dict[str, dict[str, str]]
    qr_error_correction: str
    scan_distance_m: float
    fallbacks: dict[str, str]
    notes: list[tuple[int, list[str], dict[str, str]]]
    """(line, stop ids, texts) per note; the stop ids are checked against the order later."""
    scan_beacon_origins: tuple[str, ...] = ()


def validate_base_url(value: str) -> str | None:
    """Return why `value` cannot be a public base URL, or None when it can."""
    if any(char.isspace() for char in value):
        return "must not contain spaces"
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return "must be an absolute http(s) URL such as https://penyengat.example"
    if parts.query or parts.fragment:
        return "must have no query (?...) or fragment (#...)"
    return None


def read_tour_settings(path: Path, report: FileReport) -> TourSettings | None:
    data = read_toml(path, report)
    if data is None:
        return None
    check_fields(data, TOUR_FIELDS, (), report)

    raw_languages = get_string_list(data, "languages", (), report) or []
    languages: list[str] = []
    for position, code in enumerate(raw_languages):
        line = report.lines.item_line(("languages",), code, raw_languages[:position].count(code))
        if not is_known_language(code):
            report.add(
                "languages",
                f"'{code}' is not a known language code; use a two-letter ISO 639-1 code",
                line,
            )
        elif code in languages:
            report.add("languages", f"'{code}' is listed twice; list each language once", line)
        else:
            languages.append(code)
    if "languages" in data and not raw_languages:
        report.add("languages", 'is empty; list at least one language such as ["id"]')

    default_language = get_string(data, "default_language", (), report) or ""
    if default_language and languages and default_language not in languages:
        report.add(
            "default_language",
            f"'{default_language}' is not in languages ({', '.join(languages)}); add it there "
            "or pick one of them",
        )

    title = get_language_texts(data, "title", report, tuple(languages), MAX_NAME_CHARS)

    base_url = get_string(data, "base_url", (), report) or ""
    if base_url:
        reason = validate_base_url(base_url)
        if reason:
            report.add("base_url", f"'{base_url}' {reason}")
            base_url = ""
    base_url = base_url.rstrip("/")

    bounds = _read_bounds(data, report)

    walking_speed = DEFAULT_WALKING_SPEED_KMH
    if "walking_speed_kmh" in data:
        walking_speed = (
            get_number(data, "walking_speed_kmh", (), report, 1.0, 10.0) or walking_speed
        )

    qr_level = DEFAULT_QR_LEVEL
    if "qr_error_correction" in data:
        qr_level = get_string(data, "qr_error_correction", (), report) or qr_level
        if qr_level not in QR_LEVELS:
            report.add(
                "qr_error_correction",
                f"'{qr_level}' is not a QR error correction level; use one of "
                f"{', '.join(QR_LEVELS)} (Q by default, H for exposed plaques)",
            )
            qr_level = DEFAULT_QR_LEVEL
    scan_distance = DEFAULT_SCAN_DISTANCE_M
    if "scan_distance_m" in data:
        scan_distance = get_number(data, "scan_distance_m", (), report, 0.1, 10.0) or scan_distance

    ui = _read_ui(data, tuple(languages), report)
    pronounce = _read_pronounce(data, report)
    fallbacks = _read_fallbacks(data, tuple(languages), report)
    notes = _read_notes(data, tuple(languages), report)
    order = get_string_list(data, "order", (), report) or []
    scan_beacon_origins = _read_scan_beacon_origins(data, report)
    return TourSettings(
        title=title,
        languages=tuple(languages),
        default_language=default_language,
        base_url=base_url,
        order=order,
        bounds=bounds,
        walking_speed_kmh=walking_speed,
        ui=ui,
        pronounce=pronounce,
        qr_error_correction=qr_level,
        scan_distance_m=scan_distance,
        fallbacks=fallbacks,
        notes=notes,
        scan_beacon_origins=scan_beacon_origins,
    )


# --- scan_beacon_origins: the static copies allowed to report scans -----------------------


def canonical_origin(value: str) -> str:
    """Return `value` as a browser writes it in the Origin header; raise ValueError why not.

    Browsers send the scheme and host in lower case and leave out a default port,
    so `https://Tour.example:443/` and `https://tour.example` name the same origin.
    """
    text = value.strip()
    if any(char.isspace() for char in text):
        raise ValueError("must not contain spaces")
    parts = urlsplit(text)
    try:
        port = parts.port
    except ValueError:
        raise ValueError("has a port that is not a number from 0 to 65535") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an origin such as https://penyengat.example")
    if "@" in parts.netloc:
        raise ValueError("must not contain a user name or password")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(
            "must be scheme://host[:port] only, with no path, such as https://penyengat.example"
        )
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname  # IPv6
    default_port = {"http": 80, "https": 443}[parts.scheme]
    return f"{parts.scheme}://{host}" + (f":{port}" if port not in (None, default_port) else "")


def _read_scan_beacon_origins(data: Mapping[str, Any], report: FileReport) -> tuple[str, ...]:
    if "scan_beacon_origins" not in data:
        return ()
    values = get_string_list(data, "scan_beacon_origins", (), report) or []
    origins: list[str] = []
    for position, value in enumerate(values):
        try:
            origins.append(canonical_origin(value))
        except ValueError as reason:
            line = report.lines.item_line(
                ("scan_beacon_origins",), value, values[:position].count(value)
            )
            report.add("scan_beacon_origins", f"'{value}' {reason}", line)
    return tuple(dict.fromkeys(origins))


def _read_fallbacks(
    data: Mapping[str, Any], languages: tuple[str, ...], report: FileReport
) -> dict[str, str]:
    """Read `[fallbacks]`: a visitor's language the tour lacks = the tour language to offer."""
    if "fallbacks" not in data:
        return {}
    fallbacks: dict[str, str] = {}
    for visitor, offered in (get_table(data, "fallbacks", (), report) or {}).items():
        path = ("fallbacks", visitor)
        if not is_known_language(visitor):
            report.add(path, f"'{visitor}' is not a known language code; use e.g. ms = \"id\"")
        elif not isinstance(offered, str) or offered not in languages:
            report.add(
                path,
                f"must name one of the tour's languages ({', '.join(languages)}), "
                f'such as {visitor} = "{languages[0] if languages else "id"}"',
            )
        else:
            fallbacks[visitor] = offered
    return fallbacks


def _read_notes(
    data: Mapping[str, Any], languages: tuple[str, ...], report: FileReport
) -> list[tuple[int, list[str], dict[str, str]]]:
    """Read `[[notes]]`: each with `stops = [...]` and a text per tour language."""
    raw = data.get("notes", [])
    if not isinstance(raw, list) or not all(isinstance(note, dict) for note in raw):
        report.add(
            "notes", "must be [[notes]] tables, each with stops = [...] and a text per language"
        )
        return []
    notes = []
    headers = report.lines.table_lines(("notes",))
    for index, note in enumerate(raw):
        line = headers[index] if index < len(headers) else report.lines.line("notes")
        stops = note.get("stops")
        if not isinstance(stops, list) or not stops or not all(isinstance(s, str) for s in stops):
            report.add(
                ("notes", "stops"),
                'must list the stop ids it applies to, e.g. ["masjid-raya"]',
                line,
            )
            continue
        texts: dict[str, str] = {}
        for key, value in note.items():
            if key == "stops":
                continue
            if not is_known_language(key):
                report.add(
                    ("notes", key), f"unknown field; {_suggest(key, ['stops', *languages])}", line
                )
            elif not isinstance(value, str) or not value.strip():
                report.add(("notes", key), "must be the note's text in quotes", line)
            else:
                texts[key] = " ".join(value.split())
        for code in languages:
            if code not in texts and code not in note:
                report.add(("notes", code), f"missing the '{code}' text of this note", line)
        notes.append((line, stops, texts))
    return notes


def _read_pronounce(data: Mapping[str, Any], report: FileReport) -> dict[str, dict[str, str]]:
    """Read `[pronounce.<lang>]` tables: word = "how the voice should say it"."""
    if "pronounce" not in data:
        return {}
    table = get_table(data, "pronounce", (), report)
    rules: dict[str, dict[str, str]] = {}
    for code, words in (table or {}).items():
        path = ("pronounce", code)
        if not is_known_language(code):
            report.add(path, f"'{code}' is not a known language code; use e.g. [pronounce.en]")
            continue
        if not isinstance(words, dict):
            report.add(path, f'must be a table of word = "spoken form", not {_toml_type(words)}')
            continue
        rules[code] = {}
        for word, spoken in words.items():
            if not isinstance(spoken, str) or not spoken.strip():
                report.add((*path, word), 'must be the spoken form in quotes, e.g. "Jafar"')
                continue
            rules[code][word] = spoken.strip()
    return rules


def _read_bounds(data: Mapping[str, Any], report: FileReport) -> Bounds | None:
    table = get_table(data, "bounds", (), report)
    if table is None:
        return None
    check_fields(table, BOUNDS_FIELDS, ("bounds",), report)
    south = get_number(table, "south", ("bounds",), report, -90, 90)
    north = get_number(table, "north", ("bounds",), report, -90, 90)
    west = get_number(table, "west", ("bounds",), report, -180, 180)
    east = get_number(table, "east", ("bounds",), report, -180, 180)
    if south is None or north is None or west is None or east is None:
        return None
    if south >= north:
        report.add(("bounds", "north"), "must be greater than south")
        return None
    if west >= east:
        report.add(("bounds", "east"), "must be greater than west")
        return None
    return Bounds(south=south, west=west, north=north, east=east)


def _read_ui(
    data: Mapping[str, Any], languages: tuple[str, ...], report: FileReport
) -> dict[str, dict[str, str]]:
    table = get_table(data, "ui", (), report)
    if table is None:
        return {}
    ui: dict[str, dict[str, str]] = {}
    for code in languages:
        strings = table.get(code)
        if not isinstance(strings, dict):
            report.add(
                ("ui", code),
                f"missing the interface strings for '{code}'; add a [ui.{code}] table "
                "(copy another language's and translate it)",
            )
            continue
        check_fields(strings, UI_KEYS, ("ui", code), report)
        ui[code] = {}
        for key in sorted(UI_KEYS):
            value = get_string(strings, key, ("ui", code), report)
            if value is not None:
                ui[code][key] = value
        compass = ui[code].get("compass", "")
        if compass and len(compass.split(",")) != COMPASS_POINTS:
            report.add(
                ("ui", code, "compass"),
                "must name 8 directions separated by commas, from north clockwise",
            )
    return ui


# --- stop files --------------------------------------------------------------------------


def read_stop(path: Path, tour: TourSettings | None, report: FileReport) -> Stop | None:
    data = read_toml(path, report)
    if data is None:
        return None
    before = report.count
    stop_id = path.stem
    if not STOP_ID_PATTERN.fullmatch(stop_id):
        report.add(
            "id",
            f"file name '{path.name}' must use lowercase letters, digits and -; rename the file",
            1,
        )
    check_fields(data, STOP_FIELDS, (), report)

    code = get_string(data, "code", (), report)
    if code is not None and not CODE_PATTERN.fullmatch(code):
        report.add(
            "code",
            f"'{code}' must be 1-16 characters of lowercase letters, digits and -, "
            "such as 'masjid'",
        )

    location = _read_location(data, tour, report)
    languages = tour.languages if tour else ()
    name = get_language_texts(data, "name", report, languages, MAX_NAME_CHARS)
    text = get_language_texts(data, "text", report, languages, MAX_TEXT_CHARS)
    spoken = get_language_texts(data, "spoken", report, (), MAX_TEXT_CHARS, required=False)

    sources: list[str] = []
    if "sources" in data:
        sources = get_string_list(data, "sources", (), report) or []

    if report.count > before or code is None or location is None:
        return None
    return Stop(
        id=stop_id,
        code=code,
        location=location,
        name=frozen_mapping(name),
        text=frozen_mapping(text),
        spoken=frozen_mapping(spoken),
        sources=tuple(sources),
    )


def _read_location(
    data: Mapping[str, Any], tour: TourSettings | None, report: FileReport
) -> Location | None:
    table = get_table(data, "location", (), report)
    if table is None:
        return None
    path = ("location",)
    check_fields(table, LOCATION_FIELDS, path, report)
    lat = get_number(table, "lat", path, report, -90, 90)
    lon = get_number(table, "lon", path, report, -180, 180)
    source = get_string(table, "coord_source", path, report)
    if source is not None and source not in COORD_SOURCES:
        report.add(
            (*path, "coord_source"),
            f"'{source}' is not one of {', '.join(COORD_SOURCES)}; say how the position "
            "was found, or 'estimated'",
        )
        source = None
    note = table.get("coord_note", "")
    if not isinstance(note, str):
        report.add((*path, "coord_note"), f"must be a string in quotes, not {_toml_type(note)}")
        note = ""
    if lat is None or lon is None or source is None:
        return None
    bounds = tour.bounds if tour else None
    if bounds is not None and not bounds.contains(lat, lon):
        report.add(
            (*path, "lat"),
            f"{lat}, {lon} lies outside the tour area (lat {bounds.south:g} to {bounds.north:g}, "
            f"lon {bounds.west:g} to {bounds.east:g}); check for a typo in the digits",
        )
        return None
    return Location(lat=lat, lon=lon, coord_source=source, coord_note=note.strip())


# --- the whole tour ----------------------------------------------------------------------


def check_tour(stops_dir: Path) -> tuple[Tour | None, list[Problem]]:
    """Load and validate a tour folder, returning the tour (if valid) and every problem."""
    problems: list[Problem] = []
    if not stops_dir.is_dir():
        what = "is not a folder" if stops_dir.exists() else "does not exist"
        problems.append(
            Problem(
                display_path(stops_dir),
                1,
                "stops",
                f"the stops folder {what}; pass the folder that holds tour.toml with --stops DIR",
            )
        )
        return None, problems

    tour_path = stops_dir / TOUR_FILE
    tour_report = FileReport(tour_path, problems)
    settings = read_tour_settings(tour_path, tour_report)

    stops: dict[str, Stop] = {}
    code_owner: dict[str, str] = {}
    stop_files = sorted(p for p in stops_dir.glob("*.toml") if p.name != TOUR_FILE)
    for stop_path in stop_files:
        report = FileReport(stop_path, problems)
        stop = read_stop(stop_path, settings, report)
        if stop is None:
            continue
        if stop.code in code_owner:
            report.add(
                "code",
                f"'{stop.code}' is already the code of {code_owner[stop.code]}; "
                "each stop needs its own code",
            )
            continue
        code_owner[stop.code] = stop_path.name
        stops[stop.id] = stop

    ordered: list[Stop] = []
    if settings is not None:
        ordered = _check_order(settings, stop_files, stops, tour_report)
        for line, note_stops, _ in settings.notes:
            for stop_id in note_stops:
                if stop_id not in {path.stem for path in stop_files}:
                    tour_report.add(
                        ("notes", "stops"),
                        f"'{stop_id}' has no stop file; use a stop id such as "
                        f"'{settings.order[0] if settings.order else 'jetty'}'",
                        line,
                    )
    if not stop_files:
        problems.append(
            Problem(
                display_path(stops_dir),
                1,
                "stops",
                "no stop files found; add one <id>.toml per stop beside tour.toml",
            )
        )

    if problems or settings is None or settings.bounds is None:
        return None, problems
    tour = Tour(
        title=frozen_mapping(settings.title),
        languages=settings.languages,
        default_language=settings.default_language,
        base_url=settings.base_url,
        bounds=settings.bounds,
        walking_speed_kmh=settings.walking_speed_kmh,
        stops=tuple(ordered),
        ui={code: frozen_mapping(strings) for code, strings in settings.ui.items()},
        pronounce={code: frozen_mapping(words) for code, words in settings.pronounce.items()},
        qr_error_correction=settings.qr_error_correction,
        scan_distance_m=settings.scan_distance_m,
        fallbacks=frozen_mapping(settings.fallbacks),
        notes=tuple(
            Note(stops=tuple(note_stops), text=frozen_mapping(texts))
            for _, note_stops, texts in settings.notes
        ),
        scan_beacon_origins=settings.scan_beacon_origins,
    )
    return tour, problems


def _check_order(
    settings: TourSettings,
    stop_files: list[Path],
    stops: Mapping[str, Stop],
    report: FileReport,
) -> list[Stop]:
    """Check the walking order names every stop file exactly once."""
    file_ids = {path.stem for path in stop_files}
    seen: set[str] = set()
    ordered: list[Stop] = []
    for position, stop_id in enumerate(settings.order):
        earlier = settings.order[:position].count(stop_id)
        line = report.lines.item_line(("order",), stop_id, earlier)
        if stop_id in seen:
            report.add("order", f"'{stop_id}' appears twice; list each stop once", line)
            continue
        seen.add(stop_id)
        if stop_id not in file_ids:
            report.add(
                "order",
                f"'{stop_id}' has no stop file; add {stop_id}.toml or remove it from the order",
                line,
            )
            continue
        if stop_id in stops:
            ordered.append(stops[stop_id])
    for stop_id in sorted(file_ids - seen):
        report.add(
            "order",
            f"'{stop_id}' ({stop_id}.toml) is missing from the walking order; add it",
        )
    return ordered


def load_tour(stops_dir: Path) -> Tour:
    """Load a valid tour, or raise CatalogError with every problem."""
    tour, problems = check_tour(stops_dir)
    if tour is None:
        raise CatalogError(problems)
    return tour


def bundled_stops_dir() -> Path:
    """Return the folder of the tour shipped with the package."""
    return Path(__file__).parent / "stops"
