"""Stop files as forms: read the fields out, write them back with tomlkit, check, save.

The stop files stay the source of truth, and staff also edit them by hand. So a form
is applied to the file's own text with tomlkit: comments, key order and layout that
someone wrote survive, and only the values that changed are touched.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import logging
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import tomlkit
import tomlkit.items
from tomlkit.toml_document import TOMLDocument

from tour.catalog import TOUR_FILE, Problem, check_tour
from tour.catalog.fields import display_path
from tour.catalog.messages import Message, cap
from tour.core.errors import TourError
from tour.core.files import write_atomically
from tour.core.model import Tour
from tour.staff.journal import (
    JOURNAL_FILE,
    UNRECORDED,
    Change,
    apply_change,
    finish_journal,
    folder_file,
    mark_applied,
    put_back,
    replay_files,
    write_journal,
)
from tour.staff.walk import RESERVED_IDS, with_stop_added

log = logging.getLogger(__name__)
STOP_ID = re.compile(r"[a-z0-9-]{1,40}")
LOCK_FILE = ".studio.lock"
TEXT_TABLES = ("name", "text", "spoken")
LOCATION_KEYS = ("lat", "lon", "coord_source", "coord_note")
_FORM_FIELD = re.compile(r"(?:(?:name|text|spoken)\.[a-z]{2,3}|code|sources|location\.[a-z_]+)")
# One line per reason the disk refuses a write; the rest say the system's own words.
_WRITE_REASONS = {
    errno.ENOSPC: "the disk is full: nothing was changed; free space and publish again",
    errno.EDQUOT: "the disk quota is used up: nothing was changed; free space and publish again",
    errno.EROFS: "the disk is read-only: nothing was changed; mount it writable and publish again",
    errno.EACCES: "the tour may not write {name}: nothing was changed; give the server's "
    "user write access to the stops folder and publish again",
}
_WRITE_REASONS[errno.EPERM] = _WRITE_REASONS[errno.EACCES]


class ConflictError(TourError):
    """A file changed on disk since the form was loaded; `current` is its text now."""

    def __init__(self, path: Path, current: str) -> None:
        self.path = path
        self.current = current
        super().__init__(
            f"{path.name} changed on disk since this form was loaded; compare both "
            "versions and publish again"
        )


class WriteError(TourError):
    """The disk refused a write (full, read-only, no permission); nothing was changed."""

    def __init__(self, message: str, errno_code: int | None = None) -> None:
        super().__init__(message)
        self.errno = errno_code
        """The OSError's errno, so a page can tell a full disk from a refused one."""


def file_hash(text: str) -> str:
    """Return the SHA-256 hex digest of the UTF-8 bytes of `text`."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def stop_path(stops_dir: Path, stop_id: str) -> Path:
    """Return the stop file of `stop_id`, refusing ids that are not [a-z0-9-]{1,40}."""
    if not STOP_ID.fullmatch(stop_id) or stop_id.strip("-") == "":
        raise TourError(
            f"'{cap(stop_id)}' is not a stop id; use 1-40 lowercase letters, digits and -"
        )
    if stop_id in RESERVED_IDS:
        raise TourError(f"'{stop_id}' is not a stop id: tour.toml and retired/ are not stops")
    return stops_dir / f"{stop_id}.toml"


# --- the form ----------------------------------------------------------------------------


def form_fields(languages: Sequence[str], text: str) -> dict[str, str]:
    """Read a stop file's text into form fields named as in the file (`text.en`)."""
    return _fields_of(tomlkit.parse(text), languages)


def _fields_of(doc: TOMLDocument, languages: Sequence[str]) -> dict[str, str]:
    data: dict[str, Any] = doc.unwrap()
    fields: dict[str, str] = {}
    for table in TEXT_TABLES:
        values = data.get(table)
        for lang in languages:
            value = values.get(lang) if isinstance(values, dict) else None
            fields[f"{table}.{lang}"] = _as_text(value)
    fields["code"] = _as_text(data.get("code"))
    sources = data.get("sources")
    if isinstance(sources, list):
        fields["sources"] = "\n".join(_as_text(source) for source in sources)
    else:
        fields["sources"] = _as_text(sources)
    location = data.get("location")
    for key in LOCATION_KEYS:
        value = location.get(key) if isinstance(location, dict) else None
        fields[f"location.{key}"] = _as_text(value)
    return fields


def _as_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def apply_form(text: str, fields: Mapping[str, str], languages: Sequence[str]) -> str:
    """Write form fields into a stop file's text, keeping everything else as it was.

    A field whose value did not change is not touched at all, so an unchanged form
    gives back the file byte for byte. Fields the form does not know are ignored.
    """
    doc = tomlkit.parse(text)
    current = _fields_of(doc, languages)
    for name, typed in fields.items():
        value = _with_newlines(typed)
        if name not in current or _same_value(name, value, current[name]):
            continue
        table, _, key = name.partition(".")
        if table in TEXT_TABLES:
            _set_text(doc, table, key, value.strip())
        elif name == "code":
            doc["code"] = value.strip()
        elif name == "sources":
            _set_sources(doc, _source_lines(value))
        elif table == "location":
            _set_location(doc, key, value.strip())
    result = doc.as_string()
    if result != text and _uses_crlf(text):
        # tomlkit ends the lines it adds with LF: a file saved with CRLF keeps CRLF throughout.
        result = re.sub(r"\r?\n", "\r\n", result)
    return result


def _uses_crlf(text: str) -> bool:
    """Whether every line of `text` ends with CRLF (a file saved on Windows)."""
    return "\r\n" in text and text.count("\n") == text.count("\r\n")


def _same_value(name: str, typed: str, current: str) -> bool:
    """Whether a typed field says what the file says: sources compare item by item.

    The file's multi-line strings hold its own line ends (CRLF in a file saved on
    Windows); typed values come with LF, so both are compared with LF line ends.
    """
    if name == "sources":
        return _source_lines(typed) == _source_lines(current)
    return typed.rstrip() == _with_newlines(current).rstrip()


def _with_newlines(value: str) -> str:
    return value.replace("\r\n", "\n").replace("\r", "\n")


def _source_lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


def _set_sources(doc: TOMLDocument, items: Sequence[str]) -> None:
    """Set `sources`; a list written one item per line stays one item per line."""
    earlier = doc.get("sources")
    sources = tomlkit.array()
    sources.extend(items)
    if isinstance(earlier, tomlkit.items.Array) and "\n" in earlier.as_string():
        sources.multiline(True)
    doc["sources"] = sources


def _set_text(doc: TOMLDocument, table: str, lang: str, value: str) -> None:
    """Set one language of [name], [text] or [spoken]; an empty spoken text is removed."""
    container = doc.get(table)
    if not value and table == "spoken":
        if isinstance(container, dict) and lang in container:
            del container[lang]
            if not container:
                del doc[table]
        return
    if not isinstance(container, dict):
        container = tomlkit.table()
        doc[table] = container
    container[lang] = _string_item(value)


def _string_item(value: str) -> tomlkit.items.Item:
    """A one-line string in quotes, or a \"\"\" string that opens and closes on its own line."""
    if "\n" not in value:
        return tomlkit.string(value)
    escaped = tomlkit.string(value + "\n", multiline=True).as_string()[3:]
    # The newline right after the opening quotes is not part of the value (TOML 1.0).
    item: tomlkit.items.Item = tomlkit.parse(f'x = """\n{escaped}\n')["x"]
    return item


def _set_location(doc: TOMLDocument, key: str, value: str) -> None:
    location = doc.get("location")
    if not isinstance(location, dict):
        location = tomlkit.table()
        doc["location"] = location
    if key in ("lat", "lon"):
        # A value that is not a number stays the typed string, so the check names it.
        number = _number(value)
        location[key] = value if number is None else number
    elif key == "coord_note" and not value:
        location.pop(key, None)
    else:
        location[key] = value


def _number(value: str) -> float | None:
    try:
        number = float(value.replace(",", ".") if value.count(",") == 1 else value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


# --- checks ------------------------------------------------------------------------------


def field_problems(
    stops_dir: Path, stop_id: str, text: str, extra: Mapping[str, str] | None = None
) -> dict[str, list[Message]]:
    """Check the tour with `text` as the stop's file; problems by form field ("" = general).

    They are the problems `tour check` would report were the text published. `extra`
    holds other files read instead of the disk (tour.toml after a walk change).
    """
    path = stop_path(stops_dir, stop_id)
    _, problems = check_tour(stops_dir, {**(extra or {}), path.name: text})
    own = display_path(path)
    by_field: dict[str, list[Message]] = {}
    for problem in problems:
        if problem.path == own and _FORM_FIELD.fullmatch(problem.field):
            by_field.setdefault(problem.field, []).append(problem.message)
        else:
            by_field.setdefault("", []).append(_general_line(problem, own))
    return by_field


def _general_line(problem: Problem, own: str) -> Message:
    """A problem no form field owns, with its place: its line, and its file if another."""
    values = {"line": problem.line, "field": problem.field, "message": problem.message}
    if problem.path == own:
        return Message.of("at_line", **values)
    return Message.of("at_file_line", file=Path(problem.path).name, **values)


def draft_tour(stops_dir: Path, stop_id: str, text: str) -> Tour | None:
    """Load the tour with `text` as the stop's file, for a preview or a listen.

    Problems that leave the stop readable (a text too short or too long) still give a
    tour, so a draft can be previewed while it is being written; None otherwise.
    """
    path = stop_path(stops_dir, stop_id)
    overrides = {path.name: text}
    if not path.exists():
        # A new stop is previewed where publishing puts it: at the end of the walk.
        try:
            tour_text = (stops_dir / TOUR_FILE).read_text(encoding="utf-8")
            overrides[TOUR_FILE] = with_stop_added(tour_text, stop_id)
        except (OSError, UnicodeDecodeError, tomlkit.exceptions.ParseError):
            return None  # tour.toml itself is broken: `tour check` and the reload say how
    tour, _ = check_tour(stops_dir, overrides, partial=True)
    if tour is None or tour.stop_by_id(stop_id) is None:
        return None
    return tour


# --- writing -----------------------------------------------------------------------------


@contextlib.contextmanager
def studio_lock(stops_dir: Path) -> Iterator[None]:
    """Hold the stops folder's lock file, so two publishes never interleave."""
    try:
        handle = open(stops_dir / LOCK_FILE, "a")  # noqa: SIM115 - held for the block
    except OSError as error:
        raise WriteError(write_reason(error, LOCK_FILE), error.errno) from None
    with handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def write_files(
    stops_dir: Path,
    texts: Mapping[str, str],
    bases: Mapping[str, str],
    remove: Sequence[str] = (),
    change: Change | None = None,
) -> None:
    """Write files of the stops folder if each still has its base hash ("" = must not exist).

    Names are relative to the stops folder (`masjid-raya.toml`, `retired/x.toml`); files
    in `remove` are deleted, also only if they still have their base hash. Under the lock,
    a file that changed raises ConflictError before anything is written.

    All or nothing across a crash: the set's journal is written first (journal.py). With
    `change` (who, kind, note), it stays until the caller has recorded the change
    (`changes.close_journal`); without, it goes at once. A write the disk refuses puts
    back what was written, removes the journal and raises WriteError: nothing changed.
    If even that fails, the journal stays and the change is completed later, never
    left half-done.
    """
    paths = {name: folder_file(stops_dir, name) for name in [*texts, *remove]}
    with studio_lock(stops_dir):
        try:
            pending = replay_files(stops_dir)  # a change a crash interrupted is finished first
        except OSError as error:
            raise WriteError(write_reason(error, JOURNAL_FILE), error.errno) from None
        if pending is not None and pending.kind:
            # Its journal holds what the history needs: one journal at a time, so this
            # write waits until it is recorded (publishing.finish_pending_change does).
            raise WriteError(UNRECORDED)
        before = {name: read_utf8(path) for name, path in paths.items()}
        for name, current in before.items():
            if (file_hash(current) if current is not None else "") != bases[name]:
                raise ConflictError(paths[name], current or "")
        if change is None:
            change = Change(texts, bases, remove)
        else:
            change = replace(change, texts=texts, bases=bases, remove=remove)
        try:
            write_journal(stops_dir, change)
        except OSError as error:
            raise WriteError(write_reason(error, JOURNAL_FILE), error.errno) from None
        done: list[str] = []
        try:
            apply_change(stops_dir, change, done, write_atomically)
        except OSError as error:
            name = next((n for n in [*texts, *remove] if n not in done), JOURNAL_FILE)
            if put_back(paths, before, done, write_atomically):
                finish_journal(stops_dir)
            raise WriteError(write_reason(error, name), error.errno) from None
        if change.kind:
            try:
                mark_applied(stops_dir)
            except OSError as error:  # unmarked, a replay finds every file new all the same
                log.warning("the journal of %s is not marked applied: %s", change.id, error)
        else:
            finish_journal(stops_dir)


def read_utf8(path: Path) -> str | None:
    """Return the text of `path`, or None when there is no such file.

    A file a hand edit saved in another encoding than UTF-8 raises TourError with one
    line naming the file, the line and the fix.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise TourError(
            f"{path.name}, line {line}: the file is not saved as UTF-8 (byte "
            f"0x{data[error.start]:02x}); save it as UTF-8 in the editor, then try again"
        ) from None


def write_reason(error: OSError, name: str) -> str:
    reason = _WRITE_REASONS.get(error.errno or 0)
    if reason is not None:
        return reason.format(name=name)
    return f"cannot write {name} ({error.strerror or error}): nothing was changed"
