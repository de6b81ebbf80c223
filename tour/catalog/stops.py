"""Stop files, and the checks across files: unique codes, the walking order, notes."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from tour.catalog.fields import (
    CatalogError,
    FileReport,
    Problem,
    check_fields,
    display_path,
    get_language_texts,
    get_number,
    get_string,
    get_string_list,
    get_table,
    read_toml,
    toml_type,
)
from tour.catalog.messages import Message
from tour.catalog.stop_photos import read_photos
from tour.catalog.tour_file import (
    CODE_PATTERN,
    MAX_NAME_CHARS,
    TOUR_FILE,
    TourSettings,
    read_tour_settings,
)
from tour.core.languages import length_unit, text_length
from tour.core.model import COORD_SOURCES, Bounds, Location, Note, Stop, Tour, frozen_mapping
from tour.core.sentences import sentence_texts

STOP_ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]*")
MAX_TEXT_CHARS = 5000
"""About five minutes spoken: past that a narration should be split into stops."""
STOP_FIELDS = frozenset({"code", "location", "name", "text", "spoken", "sources", "photos"})
LOCATION_FIELDS = frozenset({"lat", "lon", "coord_source", "coord_note"})


def read_stop(
    path: Path, tour: TourSettings | None, report: FileReport, override: str | None = None
) -> Stop | None:
    data = read_toml(path, report, override)
    if data is None:
        return None
    before = report.count
    stop_id = path.stem
    if not STOP_ID_PATTERN.fullmatch(stop_id):
        report.add("id", Message.of("file_name_not_id", name=path.name), 1)
    check_fields(data, STOP_FIELDS, (), report)

    code = get_string(data, "code", (), report)
    if code is not None and not CODE_PATTERN.fullmatch(code):
        report.add("code", Message.of("code_pattern", value=code, most=16, example="masjid"))

    location = _read_location(data, tour, report)
    languages = tour.languages if tour else ()
    name = get_language_texts(data, "name", report, languages, MAX_NAME_CHARS, one_line="name")
    text = get_language_texts(data, "text", report, languages, MAX_TEXT_CHARS)
    spoken = get_language_texts(data, "spoken", report, (), MAX_TEXT_CHARS, required=False)

    sources: list[str] = []
    if "sources" in data:
        sources = get_string_list(data, "sources", (), report) or []
    # Photo paths are relative to the stops folder, where the stop file lies.
    photos = read_photos(data, path.parent, languages, report)

    if report.count > before or code is None or location is None:
        return None
    _check_spoken_sentences(text, spoken, report)
    if tour is not None:
        # Checked last: a text of the wrong length is a problem to fix, not a broken stop.
        _check_lengths(text, tour, report)
    return Stop(
        id=stop_id,
        code=code,
        location=location,
        name=frozen_mapping(name),
        text=frozen_mapping(text),
        spoken=frozen_mapping(spoken),
        sources=tuple(sources),
        photos=photos,
    )


def _check_spoken_sentences(
    text: Mapping[str, str], spoken: Mapping[str, str], report: FileReport
) -> None:
    """Report a [spoken] text that cannot time the written one's captions sentence by sentence."""
    for lang, words in spoken.items():
        if lang not in text:
            continue
        said = len(sentence_texts(words, lang))
        written = len(sentence_texts(text[lang], lang))
        if said != written:
            report.add(
                ("spoken", lang),
                Message.of("spoken_sentences", said=said, lang=lang, written=written),
            )


def _check_lengths(texts: Mapping[str, str], tour: TourSettings, report: FileReport) -> None:
    """Report a text far from about a minute of narration, in its language's unit."""
    for lang, text in texts.items():
        unit = length_unit(lang)
        wanted = tour.text_length.get(unit)
        if wanted is None:
            continue
        length = text_length(text, lang)
        if length < wanted.low:
            report.add(
                ("text", lang),
                Message.of("text_too_short", n=length, unit=unit, low=wanted.low, high=wanted.high),
            )
        elif length > wanted.high:
            report.add(
                ("text", lang), Message.of("text_too_long", n=length, unit=unit, high=wanted.high)
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
            Message.of("coord_source_unknown", value=source, allowed=", ".join(COORD_SOURCES)),
        )
        source = None
    note = table.get("coord_note", "")
    if not isinstance(note, str):
        report.add((*path, "coord_note"), Message.of("not_a_string", found=toml_type(note)))
        note = ""
    if lat is None or lon is None or source is None:
        return None
    bounds = tour.bounds if tour else None
    if bounds is not None and not bounds.contains(lat, lon):
        report.add(
            (*path, "lat"),
            Message.of(
                "outside_area",
                lat=lat,
                lon=lon,
                south=f"{bounds.south:g}",
                north=f"{bounds.north:g}",
                west=f"{bounds.west:g}",
                east=f"{bounds.east:g}",
            ),
        )
        return None
    return Location(lat=lat, lon=lon, coord_source=source, coord_note=note.strip())


def check_tour(
    stops_dir: Path,
    overrides: Mapping[str, str] | None = None,
    *,
    removed: Collection[str] = (),
    partial: bool = False,
) -> tuple[Tour | None, list[Problem]]:
    """Load and validate a tour folder, returning the tour (if valid) and every problem.

    `overrides` maps file names of the folder (`masjid-raya.toml`, `tour.toml`) to text
    read instead of the disk, so a draft is checked as if it were published; a name not
    on disk is a new file. Problems still name the real path. Stop files named in
    `removed` are checked as gone (a stop about to be retired). With `partial`, the tour
    is built from the stops that could be read even when there are problems (to preview
    a draft); it is None only when tour.toml itself cannot be read.
    """
    overrides = overrides or {}
    problems: list[Problem] = []
    if not stops_dir.is_dir():
        code = "stops_not_folder" if stops_dir.exists() else "stops_folder_missing"
        problems.append(Problem(display_path(stops_dir), 1, "stops", Message.of(code)))
        return None, problems

    tour_path = stops_dir / TOUR_FILE
    tour_report = FileReport(tour_path, problems)
    settings = read_tour_settings(tour_path, tour_report, overrides.get(TOUR_FILE))

    stops: dict[str, Stop] = {}
    code_owner: dict[str, str] = {}
    on_disk = {path.name for path in stops_dir.glob("*.toml")} - set(removed)
    names = on_disk | {name for name in overrides if _is_stop_file_name(name)}
    stop_files = sorted(stops_dir / name for name in names if name != TOUR_FILE)
    for stop_path in stop_files:
        report = FileReport(stop_path, problems)
        stop = read_stop(stop_path, settings, report, overrides.get(stop_path.name))
        if stop is None:
            continue
        if stop.code in code_owner:
            report.add(
                "code", Message.of("code_taken", value=stop.code, owner=code_owner[stop.code])
            )
            continue
        code_owner[stop.code] = stop_path.name
        stops[stop.id] = stop

    ordered: list[Stop] = []
    if settings is not None:
        ordered = _check_order(settings, stop_files, stops, tour_report)
        _check_notes(settings, {path.stem for path in stop_files}, tour_report)
        _check_retired(settings, {path.stem for path in stop_files}, code_owner, tour_report)
    if not stop_files:
        problems.append(Problem(display_path(stops_dir), 1, "stops", Message.of("no_stops")))

    if (problems and not partial) or settings is None or settings.bounds is None:
        return None, problems
    tour = _make_tour(settings, settings.bounds, ordered)
    return tour, problems


def _check_notes(settings: TourSettings, stop_ids: set[str], report: FileReport) -> None:
    """Every stop a practical note names must be a stop of the folder."""
    for line, note_stops, _ in settings.notes:
        for stop_id in note_stops:
            if stop_id not in stop_ids:
                example = settings.order[0] if settings.order else "jetty"
                report.add(
                    ("notes", "stops"),
                    Message.of("note_stop_unknown", stop=stop_id, example=example),
                    line,
                )


def _make_tour(settings: TourSettings, bounds: Bounds, ordered: list[Stop]) -> Tour:
    return Tour(
        title=frozen_mapping(settings.title),
        languages=settings.languages,
        default_language=settings.default_language,
        base_url=settings.base_url,
        bounds=bounds,
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
        text_length=MappingProxyType(dict(settings.text_length)),
        scan_beacon_origins=settings.scan_beacon_origins,
        retired=frozen_mapping(settings.retired),
    )


def _check_retired(
    settings: TourSettings,
    stop_ids: set[str],
    code_owner: Mapping[str, str],
    report: FileReport,
) -> None:
    """Check each retired code is no live stop's code and leads to an existing stop."""
    for code, target in settings.retired.items():
        path = ("retired", code)
        if code in code_owner:
            report.add(path, Message.of("retired_code_live", code=code, owner=code_owner[code]))
        elif target and target not in stop_ids:
            report.add(path, Message.of("retired_target_unknown", target=target))


def _is_stop_file_name(name: str) -> bool:
    """Say if `name` is a file of the stops folder itself (no folders, no hidden files)."""
    return name.endswith(".toml") and "/" not in name and not name.startswith(".")


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
            report.add("order", Message.of("order_twice", stop=stop_id), line)
            continue
        seen.add(stop_id)
        if stop_id not in file_ids:
            report.add("order", Message.of("order_no_file", stop=stop_id), line)
            continue
        if stop_id in stops:
            ordered.append(stops[stop_id])
    for stop_id in sorted(file_ids - seen):
        report.add("order", Message.of("order_missing", stop=stop_id))
    return ordered


def load_tour(stops_dir: Path) -> Tour:
    """Load a valid tour, or raise CatalogError with every problem."""
    tour, problems = check_tour(stops_dir)
    if tour is None:
        raise CatalogError(problems)
    return tour
