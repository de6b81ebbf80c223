"""The studio's journal: a change to several stop files is all or nothing across a crash.

Each file is renamed into place atomically, but retiring a stop writes tour.toml and
retired/x.toml and deletes x.toml: killed between two of these, the server would leave
a mix that `tour check` refuses. So the whole intended set is written first, as one
file (`.studio.journal`, renamed into place after an fsync), then applied, then
removed once the staff database holds its revisions. A journal still there after a
crash is rolled forward (it was only written after every check passed), at start-up
and before the next studio write. Rolling forward is idempotent: a file that already
has its new text is left alone, and so is a file that someone changed by hand since.
A torn journal cannot exist: until the rename, there is only a temporary file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from tour.catalog.messages import cap
from tour.core.errors import TourError
from tour.core.files import TEMP_SUFFIX, write_atomically

JOURNAL_FILE = ".studio.journal"
APPLIED_FILE = f"{JOURNAL_FILE}.applied"
"""The journal once every file of its change is in place: it is only recorded, never
applied again, so a hand edit that later puts a file back to its base is kept."""
JOURNAL_MODE = 0o600
"""The service's alone: the stops folder is writable by the staff group, and a journal
is obeyed at start-up."""
JOURNAL_VERSION = 1
UNRECORDED = (
    "the change before this one is written but not yet in the history: nothing was changed; "
    "reload the stop files on the dashboard, then publish again"
)
"""Why a write waits: one journal at a time, and the one there must reach the history."""
_FILE_PART = re.compile(r"[a-z0-9][a-z0-9.-]*")
_CHANGE_ID = re.compile(r"[0-9a-f]{16}")
_KIND = re.compile(r"(?:[a-z]+(?:-[a-z]+)*)?")
RETIRED_FOLDER = "retired"

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Change:
    """One studio change of the stops folder: its files, and what the history records."""

    texts: Mapping[str, str]
    """File name in the stops folder (`x.toml`, `retired/x.toml`) → its new text."""
    bases: Mapping[str, str]
    """File name → SHA-256 of the text the change replaces ("" = the file is new)."""
    remove: Sequence[str] = ()
    """Files the change deletes (each also has its base)."""
    who: str = ""
    kind: str = ""
    """The revision kind and audit action; "" for a change the history does not record."""
    note: str = ""
    at: float = field(default_factory=time.time)
    id: str = field(default_factory=lambda: secrets.token_hex(8))
    """Stored with the revision and audit rows, so a replay never records a change twice."""
    applied: bool = False
    """Every file is in place (the journal is APPLIED_FILE): only the history is left."""


def text_hash(text: str) -> str:
    """The SHA-256 hex digest of the UTF-8 bytes of `text` (as editing.file_hash)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def folder_file(stops_dir: Path, name: str) -> Path:
    """Return the path of `name` in the stops folder or its retired/ folder, refusing
    anything that leaves them, also through a link."""
    parts = name.split("/")
    if (
        len(parts) > 2
        or (len(parts) == 2 and parts[0] != RETIRED_FOLDER)
        or not all(_FILE_PART.fullmatch(part) for part in parts)
        or (len(parts) == 2 and (stops_dir / RETIRED_FOLDER).is_symlink())
    ):
        raise TourError(f"'{cap(name)}' is not a file of the stops folder")
    return stops_dir.joinpath(*parts)


def write_journal(stops_dir: Path, change: Change) -> None:
    """Write the journal of `change` atomically: the file and the folder are synced."""
    data = {
        "version": JOURNAL_VERSION,
        "id": change.id,
        "who": change.who,
        "kind": change.kind,
        "note": change.note,
        "at": change.at,
        "texts": dict(change.texts),
        "bases": dict(change.bases),
        "remove": list(change.remove),
    }
    encoded = json.dumps(data, ensure_ascii=False).encode()
    write_atomically(stops_dir / JOURNAL_FILE, encoded, mode=JOURNAL_MODE)


def has_journal(stops_dir: Path) -> bool:
    """Say whether a change is unfinished: its files, or only its history."""
    return (stops_dir / JOURNAL_FILE).exists() or (stops_dir / APPLIED_FILE).exists()


def mark_applied(stops_dir: Path) -> None:
    """Say, in one rename, that every file of the journal's change is in place."""
    os.replace(stops_dir / JOURNAL_FILE, stops_dir / APPLIED_FILE)
    sync_folder(stops_dir)


def read_journal(stops_dir: Path) -> Change | None:
    """Return the unfinished change in the stops folder, or None when there is none.

    A journal that cannot be read as one (edited by hand, another version's) is moved
    aside with one log line: replaying half of something unknown would do more harm.
    """
    path = stops_dir / JOURNAL_FILE
    applied = not path.exists() and (stops_dir / APPLIED_FILE).exists()
    if applied:
        path = stops_dir / APPLIED_FILE
    try:
        status = path.lstat()
        if status.st_uid != os.geteuid() or status.st_mode & 0o022 or not path.is_file():
            # Only the service writes journals (mode 0600): anyone else's is not obeyed.
            raise ValueError("not written by this service")
        data = json.loads(path.read_bytes().decode("utf-8"))
        change = Change(
            texts={str(k): str(v) for k, v in data["texts"].items()},
            bases={str(k): str(v) for k, v in data["bases"].items()},
            remove=[str(name) for name in data["remove"]],
            who=str(data["who"]),
            kind=str(data["kind"]),
            note=str(data["note"]),
            at=float(data["at"]),
            id=str(data["id"]),
            applied=applied,
        )
        if data["version"] != JOURNAL_VERSION:
            raise ValueError(f"version {data['version']}")
        if not _CHANGE_ID.fullmatch(change.id) or not _KIND.fullmatch(change.kind):
            raise ValueError("a malformed change id or kind")
        for text in change.texts.values():
            text.encode("utf-8")  # a lone surrogate would fail the write, and every start
        for name in [*change.texts, *change.remove]:
            folder_file(stops_dir, name)
            if name not in change.bases:
                raise KeyError(f"{name} has no base")
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError, AttributeError, TourError, OSError) as error:
        aside = stops_dir / f"{JOURNAL_FILE}.unreadable"
        with contextlib.suppress(OSError):
            os.replace(path, aside)
        log.error("%s cannot be read (%s); moved to %s, nothing replayed", path, error, aside)
        return None
    return change


def apply_change(
    stops_dir: Path,
    change: Change,
    done: list[str] | None = None,
    write: Callable[[Path, bytes], None] = write_atomically,
) -> list[str]:
    """Bring every file of `change` to its new state; return the names that were written.

    Idempotent: a file that has its new text (or is gone, for a removal) is done, and a
    file that is neither its base nor its new text was edited by hand after the change
    was applied, so it is left as it is. OSError comes through: `done` (given by the
    caller) then holds what was written before it, so the caller can put it back.
    """
    done = [] if done is None else done
    for name, text in change.texts.items():
        path = folder_file(stops_dir, name)
        current = _read(path)
        if current is not None and current == text.encode("utf-8"):
            continue
        if _hash(current) != change.bases[name]:
            log.warning("%s changed by hand since the studio change %s: kept", name, change.id)
            continue
        path.parent.mkdir(exist_ok=True)
        write(path, text.encode("utf-8"))
        done.append(name)
    for name in change.remove:
        path = folder_file(stops_dir, name)
        current = _read(path)
        if current is None:
            continue
        if _hash(current) != change.bases[name]:
            log.warning("%s changed by hand since the studio change %s: kept", name, change.id)
            continue
        path.unlink()
        done.append(name)
    if change.remove:
        sync_folder(stops_dir)  # an unlink is only durable once its folder is
    return done


def finish_journal(stops_dir: Path) -> None:
    """Remove the journal (its change is applied and recorded) and sync the folder."""
    (stops_dir / JOURNAL_FILE).unlink(missing_ok=True)
    (stops_dir / APPLIED_FILE).unlink(missing_ok=True)
    sync_folder(stops_dir)
    for leftover in stops_dir.glob(f".{JOURNAL_FILE}.*{TEMP_SUFFIX}"):
        # A journal whose rename never happened: the change it was for never began.
        leftover.unlink(missing_ok=True)


def replay_files(stops_dir: Path) -> Change | None:
    """Roll an unfinished change forward on disk; return it (its journal stays) or None.

    The journal is kept until the caller has recorded the change in the history
    (`changes.finish_pending`); a change with no kind has nothing to record and its
    journal goes at once.
    """
    change = read_journal(stops_dir)
    if change is None:
        return None
    if change.applied:
        if not change.kind:
            finish_journal(stops_dir)
        return change
    states = {name: _state(stops_dir, change, name) for name in [*change.texts, *change.remove]}
    edited = [name for name, state in states.items() if state == "edited"]
    if edited and "base" not in states.values():
        # Every file had its new text before someone edited one: the change was whole.
        # It is recorded as it was made; the later hand edit is noted as one.
        mark_applied(stops_dir)
        return replace(change, applied=True)
    if edited:
        # Part of the set was changed by hand meanwhile: applying the rest would mix two
        # versions. Nothing more is applied; the journal is kept aside for a person.
        aside = stops_dir / f"{JOURNAL_FILE}.conflict"
        os.replace(stops_dir / JOURNAL_FILE, aside)
        sync_folder(stops_dir)
        written = [name for name, state in states.items() if state == "new"]
        log.error(
            "the unfinished studio change %s was not completed: %s changed by hand since "
            "(already written by it: %s); it is kept in %s",
            change.id,
            ", ".join(edited),
            ", ".join(written) or "none",
            aside,
        )
        return None
    written = apply_change(stops_dir, change)
    mark_applied(stops_dir)
    if written:
        log.warning(
            "an unfinished studio change (%s by %s) was completed: %s",
            change.kind or "write",
            change.who or "?",
            ", ".join(written),
        )
    if not change.kind:
        finish_journal(stops_dir)
    return change


def _state(stops_dir: Path, change: Change, name: str) -> str:
    """Where a file of `change` stands: "new" (done), "base" (to do), or "edited" by hand."""
    current = _read(folder_file(stops_dir, name))
    new = change.texts.get(name)
    if (current == new.encode("utf-8")) if new is not None else current is None:
        return "new"
    return "base" if _hash(current) == change.bases[name] else "edited"


def put_back(
    paths: Mapping[str, Path],
    before: Mapping[str, str | None],
    done: list[str],
    write: Callable[[Path, bytes], None] = write_atomically,
) -> bool:
    """Undo the writes that succeeded, newest first; say whether all of it was undone."""
    undone = True
    for name in reversed(done):
        try:
            earlier = before[name]
            if earlier is None:
                paths[name].unlink(missing_ok=True)
            else:
                write(paths[name], earlier.encode("utf-8"))
        except OSError:
            undone = False  # a failing disk: the journal stays and completes the change later
    return undone


def sync_folder(folder: Path) -> None:
    directory = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _hash(data: bytes | None) -> str:
    return "" if data is None else hashlib.sha256(data).hexdigest()
