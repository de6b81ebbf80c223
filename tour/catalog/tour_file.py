"""The schema of tour.toml: the tour's title, languages, walking order, area and strings."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tour.catalog.fields import (
    FileReport,
    check_fields,
    get_language_texts,
    get_number,
    get_string,
    get_string_list,
    get_table,
    read_toml,
    toml_type,
    unknown_field,
)
from tour.catalog.messages import Message
from tour.catalog.ui import read_ui
from tour.core.languages import is_known_language
from tour.core.model import Bounds, LengthRange
from tour.core.urls import canonical_origin, validate_base_url

TOUR_FILE = "tour.toml"
MAX_NAME_CHARS = 80
DEFAULT_WALKING_SPEED_KMH = 4.0
QR_LEVELS = ("L", "M", "Q", "H")
DEFAULT_QR_LEVEL = "Q"
DEFAULT_SCAN_DISTANCE_M = 0.5

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
        "text_length",
        "scan_beacon_origins",
        "retired",
    }
)
CODE_PATTERN = re.compile(r"[a-z0-9-]{1,16}")
"""A stop's code, the last part of its QR address: short, so the QR code stays small."""
LENGTH_UNITS = ("words", "characters")
MAX_LENGTH = 10_000
BOUNDS_FIELDS = ("south", "west", "north", "east")


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
    text_length: dict[str, LengthRange]
    scan_beacon_origins: tuple[str, ...] = ()
    retired: dict[str, str] = field(default_factory=dict)
    """Old code → the stop id it moved to, or "" when the stop closed."""


def read_tour_settings(
    path: Path, report: FileReport, override: str | None = None
) -> TourSettings | None:
    data = read_toml(path, report, override)
    if data is None:
        return None
    check_fields(data, TOUR_FIELDS, (), report)

    languages = _read_languages(data, report)
    default_language = get_string(data, "default_language", (), report) or ""
    if default_language and languages and default_language not in languages:
        report.add(
            "default_language",
            Message.of(
                "default_language_unlisted", value=default_language, languages=", ".join(languages)
            ),
        )

    title = get_language_texts(
        data, "title", report, tuple(languages), MAX_NAME_CHARS, one_line="title"
    )

    base_url = _read_base_url(data, report)
    bounds = _read_bounds(data, report)

    walking_speed = (
        get_number(data, "walking_speed_kmh", (), report, 1.0, 10.0) or DEFAULT_WALKING_SPEED_KMH
        if "walking_speed_kmh" in data
        else DEFAULT_WALKING_SPEED_KMH
    )
    qr_level = _read_qr_level(data, report)
    scan_distance = DEFAULT_SCAN_DISTANCE_M
    if "scan_distance_m" in data:
        scan_distance = get_number(data, "scan_distance_m", (), report, 0.1, 10.0) or scan_distance

    # The readers below run in this order, so problems are reported in it.
    return TourSettings(
        title=title,
        languages=tuple(languages),
        default_language=default_language,
        base_url=base_url,
        bounds=bounds,
        walking_speed_kmh=walking_speed,
        qr_error_correction=qr_level,
        scan_distance_m=scan_distance,
        ui=read_ui(data, tuple(languages), report),
        pronounce=_read_pronounce(data, report),
        fallbacks=_read_fallbacks(data, tuple(languages), report),
        notes=_read_notes(data, tuple(languages), report),
        text_length=_read_text_length(data, report),
        scan_beacon_origins=_read_scan_beacon_origins(data, report),
        order=get_string_list(data, "order", (), report) or [],
        retired=_read_retired(data, report),
    )


def _read_languages(data: Mapping[str, Any], report: FileReport) -> list[str]:
    """The tour's languages, in order: each known, none twice, at least one."""
    raw_languages = get_string_list(data, "languages", (), report) or []
    languages: list[str] = []
    for position, code in enumerate(raw_languages):
        line = report.lines.item_line(("languages",), code, raw_languages[:position].count(code))
        if not is_known_language(code):
            report.add("languages", Message.of("language_unknown_plain", code=code), line)
        elif code in languages:
            report.add("languages", Message.of("language_twice", code=code), line)
        else:
            languages.append(code)
    if "languages" in data and not raw_languages:
        report.add("languages", Message.of("languages_empty"))
    return languages


def _read_base_url(data: Mapping[str, Any], report: FileReport) -> str:
    """The public address, without a trailing slash; "" when missing or refused."""
    base_url = get_string(data, "base_url", (), report) or ""
    if base_url:
        reason = validate_base_url(base_url)
        if reason:
            report.add("base_url", Message.of("base_url_invalid", address=base_url, reason=reason))
            base_url = ""
    return base_url.rstrip("/")


def _read_qr_level(data: Mapping[str, Any], report: FileReport) -> str:
    qr_level = DEFAULT_QR_LEVEL
    if "qr_error_correction" in data:
        qr_level = get_string(data, "qr_error_correction", (), report) or qr_level
        if qr_level not in QR_LEVELS:
            report.add(
                "qr_error_correction",
                Message.of("qr_level_unknown", value=qr_level, levels=", ".join(QR_LEVELS)),
            )
            qr_level = DEFAULT_QR_LEVEL
    return qr_level


def _read_retired(data: Mapping[str, Any], report: FileReport) -> dict[str, str]:
    """Read `[retired]`: old code = "stop id it moved to", or "" when the stop closed."""
    if "retired" not in data:
        return {}
    retired: dict[str, str] = {}
    for code, target in (get_table(data, "retired", (), report) or {}).items():
        path = ("retired", code)
        if not CODE_PATTERN.fullmatch(code):
            report.add(path, Message.of("retired_not_code", code=code))
        elif not isinstance(target, str):
            report.add(path, Message.of("retired_not_target", found=toml_type(target)))
        else:
            retired[code] = target.strip()
    return retired


def _read_scan_beacon_origins(data: Mapping[str, Any], report: FileReport) -> tuple[str, ...]:
    """Read `scan_beacon_origins`: the static copies of the tour allowed to report scans."""
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
            report.add(
                "scan_beacon_origins",
                Message.of("origin_invalid", address=value, reason=reason),
                line,
            )
    return tuple(dict.fromkeys(origins))


def _read_text_length(data: Mapping[str, Any], report: FileReport) -> dict[str, LengthRange]:
    """Read `[text_length]`: per unit, `{ min = …, max = … }` for every stop's text."""
    if "text_length" not in data:
        return {}
    ranges: dict[str, LengthRange] = {}
    for unit, limits in (get_table(data, "text_length", (), report) or {}).items():
        path = ("text_length", unit)
        if unit not in LENGTH_UNITS:
            report.add(
                path, Message.of("length_unit_unknown", unit=unit, units=" or ".join(LENGTH_UNITS))
            )
            continue
        if not isinstance(limits, dict):
            report.add(path, Message.of("length_not_table", found=toml_type(limits)))
            continue
        check_fields(limits, ("min", "max"), path, report)
        low = get_number(limits, "min", path, report, 1, MAX_LENGTH)
        high = get_number(limits, "max", path, report, 1, MAX_LENGTH)
        if low is None or high is None:
            continue
        if low > high:
            report.add(path, Message.of("length_swapped", low=f"{low:g}", high=f"{high:g}"))
            continue
        ranges[unit] = LengthRange(round(low), round(high))
    return ranges


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
            report.add(path, Message.of("fallback_language_unknown", code=visitor))
        elif not isinstance(offered, str) or offered not in languages:
            example = languages[0] if languages else "id"
            report.add(
                path,
                Message.of(
                    "fallback_not_offered",
                    languages=", ".join(languages),
                    code=visitor,
                    example=example,
                ),
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
        report.add("notes", Message.of("notes_not_tables"))
        return []
    notes = []
    headers = report.lines.table_lines(("notes",))
    for index, note in enumerate(raw):
        line = headers[index] if index < len(headers) else report.lines.line("notes")
        stops = note.get("stops")
        if not isinstance(stops, list) or not stops or not all(isinstance(s, str) for s in stops):
            report.add(("notes", "stops"), Message.of("note_stops_missing"), line)
            continue
        texts: dict[str, str] = {}
        for key, value in note.items():
            if key == "stops":
                continue
            if not is_known_language(key):
                report.add(("notes", key), unknown_field(key, ["stops", *languages]), line)
            elif not isinstance(value, str) or not value.strip():
                report.add(("notes", key), Message.of("note_text_empty"), line)
            else:
                texts[key] = " ".join(value.split())
        for code in languages:
            if code not in texts and code not in note:
                report.add(("notes", code), Message.of("note_language_missing", lang=code), line)
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
            report.add(path, Message.of("pronounce_language_unknown", code=code))
            continue
        if not isinstance(words, dict):
            report.add(path, Message.of("pronounce_not_table", found=toml_type(words)))
            continue
        rules[code] = {}
        for word, spoken in words.items():
            if not isinstance(spoken, str) or not spoken.strip():
                report.add((*path, word), Message.of("pronounce_empty"))
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
        report.add(("bounds", "north"), Message.of("north_not_above_south"))
        return None
    if west >= east:
        report.add(("bounds", "east"), Message.of("east_not_above_west"))
        return None
    return Bounds(south=south, west=west, north=north, east=east)
