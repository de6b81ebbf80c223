"""A stop's file and its history: where the file is, its diffs, and restoring a revision.

The history page and a restore (tour.web.studio.history) read the form and render;
what they find, compare and check is here. Nothing here knows HTTP.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from tour.catalog import TOUR_FILE
from tour.core.errors import TourError
from tour.core.model import Tour
from tour.staff.editing import field_problems, file_hash, read_utf8, stop_path
from tour.staff.problem_words import Said
from tour.staff.revisions import Revision
from tour.staff.walk import RETIRED_FOLDER, with_code_changed

DIFF_HEADERS = ("---", "+++")
TOMLLIB_LINE = re.compile(r"\(at line (\d+), column \d+\)")


def not_toml_line(name: str, error: ValueError) -> str:
    """One line for a file a hand edit left unreadable as TOML: where, and how to fix it."""
    # tomlkit's ParseError has `line`; tomllib says "(at line 2, column 23)".
    line = getattr(error, "line", 0)
    if not line:
        found = TOMLLIB_LINE.search(str(error))
        line = int(found[1]) if found else 0
    where = f"{name}, line {line}" if line else name
    return (
        f"{where}: not valid TOML any more ({error}); correct the file by hand or restore "
        "a version from its history, then try again"
    )


@dataclass(frozen=True, slots=True)
class DiffLine:
    """One line of a unified diff; `kind` is 'add', 'remove', 'hunk' or 'same'."""

    kind: str
    text: str


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    revision: Revision
    diff: tuple[DiffLine, ...]


@dataclass(frozen=True, slots=True)
class StopFile:
    """A stop's file: where it is, whether the stop was retired, and its text now."""

    stop_id: str
    name: str
    path: Path
    retired: bool
    text: str | None

    @property
    def revision_name(self) -> str:
        """The name its revisions are kept under: retired/x.toml once it is retired."""
        return f"{RETIRED_FOLDER}/{self.name}" if self.retired else self.name


def classify_diff(lines: list[str]) -> tuple[DiffLine, ...]:
    """Classify unified diff lines; the file headers (---/+++) say nothing staff need."""
    classified = []
    for line in lines:
        text = line.rstrip("\n")
        if text.startswith(DIFF_HEADERS):
            continue
        if text.startswith("@@"):
            kind = "hunk"
        elif text.startswith("+"):
            kind = "add"
        elif text.startswith("-"):
            kind = "remove"
        else:
            kind = "same"
        classified.append(DiffLine(kind, text))
    return tuple(classified)


def find_stop_file(stops_dir: Path, stop_id: str) -> StopFile | None:
    """Find a live or retired stop's file; None for an id that is not a file name."""
    try:
        path = stop_path(stops_dir, stop_id)
    except TourError:
        return None
    text = read_utf8(path)
    if text is not None:
        return StopFile(stop_id, path.name, path, False, text)
    retired = stops_dir / RETIRED_FOLDER / path.name
    return StopFile(stop_id, path.name, retired, True, read_utf8(retired))


@dataclass(frozen=True, slots=True)
class Restoration:
    """What restoring a revision writes: the files, their bases, and the tour's problems."""

    texts: dict[str, str]
    bases: dict[str, str]
    problems: list[Said]


def restoration(
    stops_dir: Path, live: Tour, found: StopFile, content: str, base: str
) -> Restoration:
    """Check restoring `content` as the stop's file, with tour.toml when its code changes.

    A version from before a code change brings its old code back: the current code keeps
    answering (a plaque may carry it) and the restored one leaves `[retired]`, both in
    tour.toml, written with the stop file in one publish. Raises TourError when tour.toml
    was saved as Latin-1 by hand.
    """
    texts = {found.name: content}
    bases = {found.name: base}
    stop = live.stop_by_id(found.stop_id)
    try:
        code = tomllib.loads(content).get("code")
    except tomllib.TOMLDecodeError:
        code = None  # the check below names the revision's own problem
    if stop is not None and isinstance(code, str) and code and code != stop.code:
        tour_text = read_utf8(stops_dir / TOUR_FILE) or ""
        try:
            texts[TOUR_FILE] = with_code_changed(tour_text, stop.code, code, found.stop_id)
        except ValueError as error:
            return Restoration(texts, bases, [not_toml_line(TOUR_FILE, error)])
        bases[TOUR_FILE] = file_hash(tour_text)
    extra = {TOUR_FILE: texts[TOUR_FILE]} if TOUR_FILE in texts else {}
    by_field = field_problems(stops_dir, found.stop_id, content, extra)
    problems: list[Said] = [problem for messages in by_field.values() for problem in messages]
    return Restoration(texts, bases, problems)
