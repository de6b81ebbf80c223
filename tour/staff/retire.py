"""Retiring a stop: the change that closes its code (or sends it on) and moves its file.

The walk page publishes it through the one publish path, like any studio change.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tour.catalog import TOUR_FILE
from tour.staff.editing import file_hash, read_utf8, stop_path
from tour.staff.walk import RETIRED_FOLDER, with_stop_retired


@dataclass(frozen=True, slots=True)
class Retirement:
    """The files a retirement writes: tour.toml, the stop's file moved to retired/."""

    texts: dict[str, str]
    bases: dict[str, str]
    remove: tuple[str, ...]


def retirement_change(
    stops_dir: Path, tour_text: str, base: str, stop_id: str, code: str, moved_to: str = ""
) -> Retirement | None:
    """The change that retires `stop_id` (its code closed, or sent on to `moved_to`).

    None when the stop's file is gone (removed by hand since the page was loaded).
    Raises TourError for a file a hand edit left unreadable, ValueError when tour.toml
    is no longer TOML.
    """
    live_file = stop_path(stops_dir, stop_id)
    retired_name = f"{RETIRED_FOLDER}/{live_file.name}"
    stop_text = read_utf8(live_file)
    earlier = read_utf8(stops_dir / retired_name)
    if stop_text is None:
        return None
    new_tour = with_stop_retired(tour_text, stop_id, code, moved_to)
    return Retirement(
        {TOUR_FILE: new_tour, retired_name: stop_text},
        {
            TOUR_FILE: base,
            retired_name: file_hash(earlier) if earlier is not None else "",
            live_file.name: file_hash(stop_text),
        },
        (live_file.name,),
    )
