"""The interface words of tour.toml: one `[ui.<lang>]` table per tour language."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tour.catalog.fields import FileReport, check_fields, get_string, get_table
from tour.catalog.messages import Message

# Interface strings every tour language must define; templates use exactly these.
UI_KEYS = frozenset(
    {
        "retired_moved_title",
        "retired_moved_text",
        "retired_closed_title",
        "retired_closed_text",
        "captions",
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
        "arrival_offer",
        "arrival_open",
        "arrival_dismiss",
        "save_tour",
        "saving",
        "saved",
        "save_failed",
        "places",
        "phone_voice",
        "read_along_hint",
        "app_name",
    }
)
COMPASS_POINTS = 8
NAME_PLACEHOLDER = "{name}"
"""Where `arrival_offer` names the stop the visitor has reached."""


def read_ui(
    data: Mapping[str, Any], languages: tuple[str, ...], report: FileReport
) -> dict[str, dict[str, str]]:
    table = get_table(data, "ui", (), report)
    if table is None:
        return {}
    ui: dict[str, dict[str, str]] = {}
    for code in languages:
        strings = table.get(code)
        if not isinstance(strings, dict):
            report.add(("ui", code), Message.of("ui_missing", lang=code))
            continue
        check_fields(strings, UI_KEYS, ("ui", code), report)
        ui[code] = {}
        for key in sorted(UI_KEYS):
            value = get_string(strings, key, ("ui", code), report)
            if value is not None:
                ui[code][key] = value
        compass = ui[code].get("compass", "")
        if compass and len(compass.split(",")) != COMPASS_POINTS:
            report.add(("ui", code, "compass"), Message.of("ui_compass"))
        offer = ui[code].get("arrival_offer")
        if offer is not None and offer.count(NAME_PLACEHOLDER) != 1:
            report.add(
                ("ui", code, "arrival_offer"),
                Message.of("ui_arrival_offer", placeholder=NAME_PLACEHOLDER),
            )
    return ui
