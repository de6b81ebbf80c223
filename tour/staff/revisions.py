"""Drafts and revisions of the tour's files, kept in the staff database.

A revision is a whole file as it was after a change: who made it, when and how
('publish', 'restore', 'found' the first time the studio read it, 'hand-edit' when
the disk differs from the newest revision). History shows each as a diff.
"""

from __future__ import annotations

import difflib
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass

from tour.core.errors import TourError
from tour.staff.accounts import record_in, role_allows
from tour.staff.database import StaffDatabase
from tour.staff.editing import file_hash


@dataclass(frozen=True, slots=True)
class Draft:
    stop: str
    content: str
    base: str
    """The hash of the file on disk when the draft was started; "" for a new stop."""
    who: str
    at: float


def draft_version(draft: Draft | None) -> str:
    """The version a form names its draft by: the hash of its content, "" for no draft."""
    return file_hash(draft.content) if draft is not None else ""


class DraftConflictError(TourError):
    """The stop's draft changed since the form was loaded; `current` is the draft now."""

    def __init__(self, stop_id: str, current: Draft | None) -> None:
        self.current = current
        who = current.who if current is not None else "someone"
        super().__init__(
            f"the draft of {stop_id} was changed by {who} since this form was loaded; "
            "compare both versions and save again"
        )


@dataclass(frozen=True, slots=True)
class Revision:
    id: int
    file: str
    at: float
    who: str
    kind: str
    """'found', 'hand-edit', 'publish', 'restore', 'add-stop', 'reorder', 'retire'."""
    note: str
    content: str
    sha256: str


_REVISION_COLUMNS = "id, file, at, who, kind, note, content, sha256"


async def save_draft(
    db: StaffDatabase,
    stop_id: str,
    content: str,
    base: str,
    who: str,
    expected: str | None = None,
) -> None:
    """Keep a stop's draft, replacing the earlier one.

    With `expected` (a `draft_version`, "" for none), the stored draft must still be
    that one, or DraftConflictError: one person's draft never silently replaces another's.
    """
    async with db.transaction() as connection:
        cursor = await connection.execute(
            "SELECT stop, content, base, who, at FROM drafts WHERE stop = ?", (stop_id,)
        )
        row = await cursor.fetchone()
        await cursor.close()
        current = _draft(row) if row is not None else None
        if expected is not None and draft_version(current) != expected:
            raise DraftConflictError(stop_id, current)
        if current is not None and current.who != who and current.content != content:
            # Another person's draft goes: the audit log says whose, so saving over a
            # draft is never a quiet way round the rule on who may discard it.
            await record_in(connection, who, "draft-replaced", f"{stop_id} (by {current.who})")
        await connection.execute(
            "INSERT INTO drafts (stop, content, base, who, at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (stop) DO UPDATE SET content = excluded.content, "
            "base = excluded.base, who = excluded.who, at = excluded.at",
            (stop_id, content, base, who, time.time()),
        )


async def get_draft(db: StaffDatabase, stop_id: str) -> Draft | None:
    rows = await db.fetch_all(
        "SELECT stop, content, base, who, at FROM drafts WHERE stop = ?", (stop_id,)
    )
    return _draft(rows[0]) if rows else None


async def drop_draft(db: StaffDatabase, stop_id: str, content: str | None = None) -> None:
    """Drop a stop's draft; with `content`, only if the draft is still that text.

    A publish drops the draft it published, never one saved meanwhile by someone else.
    """
    async with db.transaction() as connection:
        if content is None:
            await connection.execute("DELETE FROM drafts WHERE stop = ?", (stop_id,))
        else:
            await connection.execute(
                "DELETE FROM drafts WHERE stop = ? AND content = ?", (stop_id, content)
            )


def may_discard(draft: Draft, who: str, role: str) -> bool:
    """Say whether `who` may throw `draft` away: its author, or a publisher (or admin)."""
    return draft.who == who or role_allows(role, "publisher")


async def discard_draft(db: StaffDatabase, draft: Draft, who: str) -> bool:
    """Drop that very draft and note it in the audit log, both or neither.

    False when the draft was replaced or dropped meanwhile: nothing is dropped then.
    """
    async with db.transaction() as connection:
        cursor = await connection.execute(
            "DELETE FROM drafts WHERE stop = ? AND content = ?", (draft.stop, draft.content)
        )
        dropped = cursor.rowcount > 0
        await cursor.close()
        if dropped:
            await record_in(connection, who, "discard-draft", f"{draft.stop} (by {draft.who})")
    return dropped


async def list_drafts(db: StaffDatabase) -> dict[str, Draft]:
    rows = await db.fetch_all("SELECT stop, content, base, who, at FROM drafts ORDER BY stop")
    return {draft.stop: draft for draft in map(_draft, rows)}


async def note_disk_version(db: StaffDatabase, file: str, content: str) -> None:
    """Keep a file as found on disk: 'found' the first time, 'hand-edit' when it changed."""
    digest = file_hash(content)
    async with db.transaction() as connection:
        cursor = await connection.execute(
            "SELECT sha256 FROM revisions WHERE file = ? ORDER BY id DESC LIMIT 1", (file,)
        )
        newest = await cursor.fetchone()
        await cursor.close()
        if newest is not None and newest[0] == digest:
            return
        kind = "found" if newest is None else "hand-edit"
        await connection.execute(
            "INSERT INTO revisions (file, at, who, kind, note, content, sha256) "
            "VALUES (?, ?, '', ?, '', ?, ?)",
            (file, time.time(), kind, content, digest),
        )


async def add_revision(
    db: StaffDatabase, file: str, content: str, who: str, kind: str, note: str = ""
) -> int:
    """Record a file as it is after a change by `who`; return the revision's id."""
    async with db.transaction() as connection:
        cursor = await connection.execute(
            "INSERT INTO revisions (file, at, who, kind, note, content, sha256) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (file, time.time(), who, kind, note.strip(), content, file_hash(content)),
        )
        revision_id = cursor.lastrowid
        await cursor.close()
    if revision_id is None:  # pragma: no cover - SQLite always sets it after an INSERT
        raise RuntimeError("the revision was not stored")
    return revision_id


async def history(
    db: StaffDatabase, file: str, earlier_names: Sequence[str] = ()
) -> list[tuple[Revision, list[str]]]:
    """Return a file's revisions, newest first, each with its diff from the one before.

    `earlier_names` are names the file had before (a retired stop's retired/x.toml was
    x.toml): their revisions come in too, so the first revision under the new name is
    diffed against the last one under the old name, not against nothing.
    """
    names = (file, *earlier_names)
    marks = ", ".join("?" * len(names))
    rows = await db.fetch_all(
        f"SELECT {_REVISION_COLUMNS} FROM revisions WHERE file IN ({marks}) ORDER BY id", names
    )
    revisions = [_revision(row) for row in rows]
    entries: list[tuple[Revision, list[str]]] = []
    previous = ""
    for revision in revisions:
        entries.append((revision, diff_lines(file, previous, revision.content)))
        previous = revision.content
    entries.reverse()
    return entries


def diff_lines(file: str, before: str, after: str) -> list[str]:
    """Return the unified diff of two versions of a file, one line per item, no line ends."""
    return list(
        difflib.unified_diff(
            before.splitlines(),
            after.splitlines(),
            fromfile=f"a/{file}",
            tofile=f"b/{file}",
            lineterm="",
        )
    )


async def get_revision(db: StaffDatabase, revision_id: int) -> Revision | None:
    rows = await db.fetch_all(
        f"SELECT {_REVISION_COLUMNS} FROM revisions WHERE id = ?", (revision_id,)
    )
    return _revision(rows[0]) if rows else None


def _draft(row: sqlite3.Row) -> Draft:
    return Draft(stop=row[0], content=row[1], base=row[2], who=row[3], at=row[4])


def _revision(row: sqlite3.Row) -> Revision:
    return Revision(
        id=row[0],
        file=row[1],
        at=row[2],
        who=row[3],
        kind=row[4],
        note=row[5],
        content=row[6],
        sha256=row[7],
    )
