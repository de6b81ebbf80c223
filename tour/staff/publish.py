"""Writing a studio change to the stop files: check, keep what it replaces, write, record.

Publishing a stop, restoring a revision and the walk's edits all write through
`write_change`, which the web layer calls under its publish lock and follows with a
reload of the site. Nothing here knows HTTP.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tour.catalog import Problem, check_tour
from tour.core.errors import TourError
from tour.staff.changes import close_journal, finish_pending, record_change
from tour.staff.database import StaffDatabase
from tour.staff.editing import WriteError, read_utf8, write_files, write_reason
from tour.staff.journal import JOURNAL_FILE, Change
from tour.staff.revisions import note_disk_version

log = logging.getLogger(__name__)


class PublishRefused(TourError):
    """The files about to be written would break the tour; nothing was written."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__(
            f"nothing was written: the change would leave {len(self.problems)} problem(s) "
            "in the stop files; fix them and publish again"
        )


@dataclass(frozen=True, slots=True)
class Written:
    """A change written to the stop files, and what the history made of it."""

    revisions: Mapping[str, int]
    """File name → the id of the revision that now holds its text."""
    unrecorded: str = ""
    """Why the history or the audit log could not record the write; "" when both did."""


@dataclass(frozen=True, slots=True)
class ChangeRequest:
    """What a studio change writes: texts over their bases, files removed, who and why."""

    texts: Mapping[str, str]
    """File name in the stops folder → its new text."""
    bases: Mapping[str, str]
    """File name → the hash of the text the change was made on ("" for a new file)."""
    who: str
    kind: str
    """The revision kind and the audit action: publish, restore, add-stop, reorder, retire."""
    note: str = ""
    remove: Sequence[str] = ()
    """Files to delete in the same write (each with its base): retiring moves one to retired/."""


async def finish_pending_change(db: StaffDatabase, stops_dir: Path) -> None:
    """Complete a change a crash interrupted before the studio changes anything else.

    Raises WriteError when the staff database cannot record it: writing on would
    leave that change out of the history, and nothing is written.
    """
    try:
        await finish_pending(db, stops_dir)
    except sqlite3.Error as error:
        message = f"the staff database could not record the change before this one ({error})"
        raise WriteError(message, errno.ENOSPC) from error
    except OSError as error:
        raise WriteError(write_reason(error, JOURNAL_FILE), error.errno) from error


async def keep_replaced_versions(db: StaffDatabase, stops_dir: Path, names: Sequence[str]) -> None:
    """Put a hand edit made since the last publish into the history before it is replaced."""
    for name in names:
        current = await asyncio.to_thread(read_utf8, stops_dir / name)
        if current is not None:
            try:
                await note_disk_version(db, name, current)
            except sqlite3.Error as error:
                # Writing now would lose that hand edit for good: nothing is written.
                message = f"the staff database could not keep the version of {name} ({error})"
                raise WriteError(message, errno.ENOSPC) from error


async def write_change(db: StaffDatabase, stops_dir: Path, request: ChangeRequest) -> Written:
    """Check the tour as the change would leave it, then write and record the change.

    The tour as it would be after the write (the new texts over the disk, the removed
    files gone) is checked first: PublishRefused names its problems. Raises
    ConflictError when a file changed on disk since its base, and WriteError when the
    disk (or the database that keeps the replaced versions) refuses; in all three cases
    nothing changed. A database that fails after the write leaves the files written:
    `Written.unrecorded` says why the history lacks them, and the change's journal
    stays until the next start or studio write records it. A crash at any point leaves
    the files all old or all new.
    """
    texts, remove = request.texts, request.remove
    await finish_pending_change(db, stops_dir)
    # Only the stops folder itself is the tour: retired/ keeps files out of it.
    overrides = {name: text for name, text in texts.items() if "/" not in name}
    removed = [name for name in remove if "/" not in name]
    _, problems = await asyncio.to_thread(check_tour, stops_dir, overrides, removed=removed)
    if problems:
        raise PublishRefused(problems)
    await keep_replaced_versions(db, stops_dir, [*texts, *remove])
    # The journal carries who, kind and note: a crash after the write still records it.
    change = Change(
        texts, request.bases, remove, who=request.who, kind=request.kind, note=request.note
    )
    await asyncio.to_thread(write_files, stops_dir, texts, request.bases, remove, change)
    try:
        revisions = await record_change(db, change)
    except sqlite3.Error as error:
        # The files are written: they go live all the same, and the page says what is
        # missing. The journal stays, so the next start or studio write records it.
        log.warning(
            "a %s of %s was written but not recorded: %s", request.kind, ", ".join(texts), error
        )
        return Written({}, str(error))
    try:
        await asyncio.to_thread(close_journal, stops_dir, change.id)
    except (OSError, TourError) as error:
        # Written and recorded: a journal left behind is only recorded again, as nothing.
        log.warning("the journal of %s stays (%s); the next write clears it", change.id, error)
    return Written(revisions)
