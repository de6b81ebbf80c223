"""Drafts and revisions in a real SQLite database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tour.staff.database import StaffDatabase
from tour.staff.editing import file_hash
from tour.staff.revisions import (
    add_revision,
    drop_draft,
    get_draft,
    get_revision,
    history,
    list_drafts,
    note_disk_version,
    save_draft,
)

FIRST = 'code = "alpha"\n\n[text]\nen = "Old text."\n'
SECOND = FIRST.replace("Old text.", "New text.")


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[StaffDatabase]:
    async with StaffDatabase(tmp_path / "tour.sqlite3") as database:
        yield database


async def test_a_draft_is_kept_replaced_and_dropped(db: StaffDatabase) -> None:
    await save_draft(db, "alpha", FIRST, file_hash(FIRST), "siti")
    await save_draft(db, "alpha", SECOND, file_hash(FIRST), "budi")
    draft = await get_draft(db, "alpha")
    assert draft is not None
    assert (draft.stop, draft.content, draft.base, draft.who) == (
        "alpha",
        SECOND,
        file_hash(FIRST),
        "budi",
    )
    assert list(await list_drafts(db)) == ["alpha"]
    await drop_draft(db, "alpha")
    assert await get_draft(db, "alpha") is None
    assert await db.fetch_all("SELECT * FROM drafts") == []


async def test_disk_versions_are_found_then_hand_edits(db: StaffDatabase) -> None:
    await note_disk_version(db, "alpha.toml", FIRST)
    await note_disk_version(db, "alpha.toml", FIRST)
    await note_disk_version(db, "alpha.toml", SECOND)
    rows = await db.fetch_all("SELECT file, who, kind, content, sha256 FROM revisions ORDER BY id")
    assert [tuple(row) for row in rows] == [
        ("alpha.toml", "", "found", FIRST, file_hash(FIRST)),
        ("alpha.toml", "", "hand-edit", SECOND, file_hash(SECOND)),
    ]


async def test_history_is_newest_first_with_diffs(db: StaffDatabase) -> None:
    await note_disk_version(db, "alpha.toml", FIRST)
    published = await add_revision(db, "alpha.toml", SECOND, "siti", "publish", " typo fixed ")
    await add_revision(db, "beta.toml", FIRST, "siti", "publish")
    entries = await history(db, "alpha.toml")
    assert [(revision.kind, revision.who, revision.note) for revision, _ in entries] == [
        ("publish", "siti", "typo fixed"),
        ("found", "", ""),
    ]
    assert entries[0][1] == [
        "--- a/alpha.toml",
        "+++ b/alpha.toml",
        "@@ -1,4 +1,4 @@",
        ' code = "alpha"',
        " ",
        " [text]",
        '-en = "Old text."',
        '+en = "New text."',
    ]
    assert entries[1][1][3:] == [f"+{line}" for line in FIRST.splitlines()]
    revision = await get_revision(db, published)
    assert revision is not None
    assert (revision.content, revision.sha256) == (SECOND, file_hash(SECOND))
    assert await get_revision(db, published + 100) is None


async def test_saving_over_another_persons_draft_is_in_the_audit_log(db: StaffDatabase) -> None:
    await save_draft(db, "alpha", FIRST, file_hash(FIRST), "pia")
    await save_draft(db, "alpha", FIRST + "# more\n", file_hash(FIRST), "pia")  # her own
    await save_draft(db, "alpha", SECOND, file_hash(FIRST), "ema")
    rows = await db.fetch_all("SELECT who, action, detail FROM audit ORDER BY id")
    assert [tuple(row) for row in rows] == [("ema", "draft-replaced", "alpha (by pia)")]
