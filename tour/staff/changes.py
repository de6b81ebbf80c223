"""Recording a studio change in the history, and finishing one a crash interrupted.

A change's journal (journal.py) carries what its revisions and audit line need, and
its id goes into those rows: replaying a change whose rows are already there adds
none, so a change is recorded exactly once however often it is replayed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from pathlib import Path

from tour.staff.database import StaffDatabase
from tour.staff.editing import file_hash, studio_lock
from tour.staff.journal import Change, finish_journal, has_journal, read_journal, replay_files

log = logging.getLogger(__name__)


def audit_detail(change: Change) -> str:
    """The audit line's detail: the files written, then the note."""
    detail = ", ".join(sorted(change.texts))
    note = change.note.strip()
    return f"{detail}: {note}" if note else detail


async def record_change(db: StaffDatabase, change: Change) -> dict[str, int]:
    """Record each file's revision and the audit line, in one transaction, once.

    Returns file name → revision id (the rows already there when the change was
    recorded before). Raises sqlite3.Error when the database refuses.
    """
    async with db.transaction() as connection:
        cursor = await connection.execute(
            "SELECT file, id FROM revisions WHERE change_id = ?", (change.id,)
        )
        revisions = {str(row[0]): int(row[1]) for row in await cursor.fetchall()}
        await cursor.close()
        for name, text in change.texts.items():
            if name in revisions:
                continue
            cursor = await connection.execute(
                "INSERT INTO revisions (file, at, who, kind, note, content, sha256, change_id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    name,
                    change.at,
                    change.who,
                    change.kind,
                    change.note.strip(),
                    text,
                    file_hash(text),
                    change.id,
                ),
            )
            if cursor.lastrowid is None:  # pragma: no cover - SQLite sets it after an INSERT
                raise RuntimeError("the revision was not stored")
            revisions[name] = cursor.lastrowid
            await cursor.close()
        cursor = await connection.execute(
            "SELECT 1 FROM audit WHERE change_id = ? LIMIT 1", (change.id,)
        )
        audited = await cursor.fetchone() is not None
        await cursor.close()
        if not audited:
            await connection.execute(
                "INSERT INTO audit (at, who, action, detail, change_id) VALUES (?, ?, ?, ?, ?)",
                (change.at, change.who, change.kind, audit_detail(change), change.id),
            )
    return revisions


def replay_at_start(stops_dir: Path) -> Change | None:
    """Roll an unfinished change forward before the tour is loaded (its journal stays).

    Only when there is a journal: a stops folder the server may not write still starts.
    """
    if not has_journal(stops_dir):
        return None
    with studio_lock(stops_dir):
        return replay_files(stops_dir)


def close_journal(stops_dir: Path, change_id: str) -> None:
    """Remove the journal once its change is recorded, if it is still that change's."""
    with studio_lock(stops_dir):
        pending = read_journal(stops_dir)
        if pending is not None and pending.id == change_id:
            finish_journal(stops_dir)


async def finish_pending(db: StaffDatabase, stops_dir: Path) -> Mapping[str, int] | None:
    """Complete an unfinished change: files rolled forward, history recorded, journal gone.

    Returns its revisions, or None when there was none. Raises sqlite3.Error when the
    database refuses: the journal then stays, to be completed next time.
    """
    change = await asyncio.to_thread(replay_at_start, stops_dir)
    if change is None or not change.kind:
        return None
    revisions = await record_change(db, change)
    await asyncio.to_thread(close_journal, stops_dir, change.id)
    log.info("the studio change %s (%s by %s) is recorded", change.id, change.kind, change.who)
    return revisions
