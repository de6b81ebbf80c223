"""What a stop form means: the file it makes, the other files it changes, its problems.

Plain functions with no web framework, run in a worker thread by the views: checking
a form reads every stop file, as `tour check` does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tour.catalog import TOUR_FILE
from tour.core.errors import TourError
from tour.core.languages import length_unit, text_length
from tour.core.model import Tour
from tour.staff.editing import apply_form, field_problems, file_hash, read_utf8
from tour.staff.problem_words import Said
from tour.staff.restore import not_toml_line
from tour.staff.revisions import Draft
from tour.staff.walk import new_stop_problems, with_code_changed, with_stop_added

GENERAL = ""
"""The key of problems that no single form field owns."""


def stop_file_name(stop_id: str) -> str:
    return f"{stop_id}.toml"


def text_of_base(disk: str | None, base: str, draft: Draft | None) -> str | None:
    """Return the text the form's `base` hash names, or None when the disk moved on.

    A form is applied to the very text it was loaded from, so hand-written comments
    and layout survive. That is the disk's text while its hash still matches; for a
    new stop (no file yet, base "") it is the draft the walk page started, or
    nothing when the file is gone and no draft holds it.
    """
    if disk is not None:
        return disk if file_hash(disk) == base else None
    if base == "":
        # With no draft either, the stop's file is gone: the form starts a file afresh.
        return draft.content if draft is not None else ""
    return None


@dataclass(frozen=True, slots=True)
class FormResult:
    """A form applied to its base text: the stop file, and what publishing would write."""

    text: str
    files: dict[str, str]
    """File name in the stops folder → its new text: the stop file, and tour.toml when a
    new stop joins the walking order or a changed code must keep answering."""
    bases: dict[str, str]
    """File name → the hash its disk text must still have when the files are written."""
    problems: dict[str, list[Said]] = field(default_factory=dict)

    @property
    def problem_count(self) -> int:
        return sum(len(messages) for messages in self.problems.values())


def evaluate_form(
    stops_dir: Path,
    live: Tour,
    stop_id: str,
    base_text: str,
    base: str,
    fields: Mapping[str, str],
) -> FormResult:
    """Apply `fields` to `base_text` and check the tour it makes, field by field."""
    name = stop_file_name(stop_id)
    try:
        text = apply_form(base_text, fields, live.languages)
    except TourError as error:
        # A value the file cannot hold (a latitude that is not a number): the form
        # comes back with the message and the typed input, the file stays as it was.
        return FormResult(base_text, {}, {}, {GENERAL: [str(error)]})
    except ValueError as error:  # tomlkit's ParseError: a hand edit broke the file
        return FormResult(base_text, {}, {}, {GENERAL: [not_toml_line(name, error)]})
    files = {name: text}
    bases = {name: base}
    live_stop = live.stop_by_id(stop_id)
    code = fields.get("code", "").strip()
    code_changed = live_stop is None or (bool(code) and code != live_stop.code)
    try:
        tour_text = read_utf8(stops_dir / TOUR_FILE) or ""
        if live_stop is None:
            # A new stop joins the walking order when it is published.
            files[TOUR_FILE] = with_stop_added(tour_text, stop_id)
        elif code_changed:
            # Its plaque is on a wall: the old code keeps answering and leads here; one of
            # the stop's own old codes, taken back, answers as its live code again.
            files[TOUR_FILE] = with_code_changed(tour_text, live_stop.code, code, stop_id)
    except TourError as error:
        return FormResult(base_text, {}, {}, {GENERAL: [str(error)]})
    except ValueError as error:
        return FormResult(base_text, {}, {}, {GENERAL: [not_toml_line(TOUR_FILE, error)]})
    if TOUR_FILE in files:
        bases[TOUR_FILE] = file_hash(tour_text)
    extra = {TOUR_FILE: files[TOUR_FILE]} if TOUR_FILE in files else {}
    problems = field_problems(stops_dir, stop_id, text, extra)
    own_old_code = live.retired.get(code) == stop_id
    if code_changed and code and not own_old_code:
        code_problem = new_stop_problems(live, stops_dir, stop_id, code).get("code")
        if code_problem and code_problem not in problems.get("code", []):
            problems.setdefault("code", []).append(code_problem)
    said: dict[str, list[Said]] = {key: list(value) for key, value in problems.items()}
    return FormResult(text, files, bases, said)


@dataclass(frozen=True, slots=True)
class TextCounter:
    """How long a text is, in its language's unit, and the length the tour asks for."""

    field: str
    unit: str
    count: int
    low: int
    high: int

    @property
    def out_of_range(self) -> bool:
        return self.high > 0 and not self.low <= self.count <= self.high


def text_counters(tour: Tour, fields: Mapping[str, str]) -> dict[str, TextCounter]:
    """Return a counter per `text.<lang>` field, by field name."""
    counters = {}
    for lang in tour.languages:
        name = f"text.{lang}"
        unit = length_unit(lang)
        wanted = tour.text_length.get(unit)
        counters[name] = TextCounter(
            field=name,
            unit=unit,
            count=text_length(fields.get(name, ""), lang),
            low=wanted.low if wanted else 0,
            high=wanted.high if wanted else 0,
        )
    return counters


def ordered_problems(
    problems: Mapping[str, Sequence[Said]], field_order: Sequence[str]
) -> list[tuple[str, Said]]:
    """Return (field, message) pairs in the order the form shows its fields."""
    known = [key for key in field_order if key in problems]
    others = sorted(key for key in problems if key not in field_order)
    return [(key, message) for key in (*known, *others) for message in problems[key]]
