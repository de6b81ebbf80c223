"""tour.staff.publish: a studio change is checked, written and recorded, or nothing changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tour.staff.database import StaffDatabase
from tour.staff.editing import file_hash
from tour.staff.publish import ChangeRequest, PublishRefused, write_change

from .staff import rows


async def test_a_change_that_would_break_the_tour_writes_and_records_nothing(
    small_tour: Path, tmp_path: Path
) -> None:
    path = small_tour / "alpha.toml"
    before = path.read_text("utf-8")
    broken = before.replace('code = "', 'code = "not a code ', 1)
    db_path = tmp_path / "staff.sqlite3"
    async with StaffDatabase(db_path) as db:
        change = ChangeRequest(
            {"alpha.toml": broken}, {"alpha.toml": file_hash(before)}, "ana", "publish"
        )
        with pytest.raises(PublishRefused) as refusal:
            await write_change(db, small_tour, change)
    assert refusal.value.problems
    assert path.read_text("utf-8") == before
    assert rows(db_path, "SELECT count(*) FROM revisions WHERE who = 'ana'") == [(0,)]


async def test_a_change_is_written_with_its_revision_and_the_hand_edit_it_replaces(
    small_tour: Path, tmp_path: Path
) -> None:
    path = small_tour / "alpha.toml"
    before = path.read_text("utf-8")
    after = before + "\n# checked by Ana\n"
    db_path = tmp_path / "staff.sqlite3"
    async with StaffDatabase(db_path) as db:
        change = ChangeRequest(
            {"alpha.toml": after}, {"alpha.toml": file_hash(before)}, "ana", "publish", "a note"
        )
        written = await write_change(db, small_tour, change)
    assert path.read_text("utf-8") == after
    assert written.unrecorded == ""
    kept = rows(db_path, "SELECT id, who, kind, note, content FROM revisions ORDER BY id")
    # The version on disk goes into the history before the change replaces it.
    assert [row[1:] for row in kept] == [
        ("", "found", "", before),
        ("ana", "publish", "a note", after),
    ]
    assert written.revisions == {"alpha.toml": kept[-1][0]}
