"""A studio change is recorded in the history exactly once, however often it is replayed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from tour.catalog import TOUR_FILE, load_tour
from tour.core.settings import Settings
from tour.staff.changes import finish_pending, record_change
from tour.staff.database import StaffDatabase
from tour.staff.journal import Change, has_journal, read_journal, write_journal
from tour.web import create_app

from . import test_journal as journal_tests
from .conftest import AiohttpClient
from .staff import rows


def retire_beta(stops: Path) -> Change:
    """The walk page's retire of beta, its note typed with spaces the history trims."""
    return replace(journal_tests.retire_beta(stops), note=" closed for repairs ")


REVISIONS = "SELECT file, who, kind, note, change_id FROM revisions ORDER BY file"
AUDIT = "SELECT who, action, detail, change_id FROM audit"


async def test_a_change_recorded_twice_has_one_row_per_file_and_one_audit_line(
    small_tour: Path, tmp_path: Path
) -> None:
    change = retire_beta(small_tour)
    db_path = tmp_path / "tour.sqlite3"
    async with StaffDatabase(db_path) as db:
        first = await record_change(db, change)
        again = await record_change(db, change)
    assert first == again
    assert sorted(first) == ["retired/beta.toml", TOUR_FILE]
    assert rows(db_path, REVISIONS) == [
        ("retired/beta.toml", "rina", "retire", "closed for repairs", change.id),
        (TOUR_FILE, "rina", "retire", "closed for repairs", change.id),
    ]
    assert rows(db_path, AUDIT) == [
        ("rina", "retire", "retired/beta.toml, tour.toml: closed for repairs", change.id)
    ]


async def test_finish_pending_rolls_forward_records_and_removes_the_journal(
    small_tour: Path, tmp_path: Path
) -> None:
    change = retire_beta(small_tour)
    write_journal(small_tour, change)  # killed after the journal, before any file
    db_path = tmp_path / "tour.sqlite3"
    async with StaffDatabase(db_path) as db:
        revisions = await finish_pending(db, small_tour)
        assert await finish_pending(db, small_tour) is None  # nothing left to do
    assert revisions is not None
    assert sorted(revisions) == ["retired/beta.toml", TOUR_FILE]
    assert not has_journal(small_tour)
    assert not (small_tour / "beta.toml").exists()
    assert load_tour(small_tour).stop_by_id("beta") is None
    assert len(rows(db_path, REVISIONS)) == 2
    assert len(rows(db_path, AUDIT)) == 1


async def test_a_change_recorded_before_the_crash_is_not_recorded_again(
    small_tour: Path, tmp_path: Path
) -> None:
    change = retire_beta(small_tour)
    write_journal(small_tour, change)
    db_path = tmp_path / "tour.sqlite3"
    async with StaffDatabase(db_path) as db:
        await record_change(db, change)  # killed after the history, before the journal went
        await finish_pending(db, small_tour)
    assert len(rows(db_path, REVISIONS)) == 2
    assert len(rows(db_path, AUDIT)) == 1
    assert read_journal(small_tour) is None


async def test_the_server_completes_and_records_an_interrupted_change_at_start(
    aiohttp_client: AiohttpClient, small_tour: Path, tmp_path: Path
) -> None:
    change = retire_beta(small_tour)
    write_journal(small_tour, change)
    (small_tour / TOUR_FILE).write_text(change.texts[TOUR_FILE], "utf-8")  # one file of three
    settings = Settings(
        stops_dir=small_tour, media_dir=tmp_path / "media", db_path=tmp_path / "tour.sqlite3"
    )
    client = await aiohttp_client(create_app(settings))
    assert (await client.get("/en/alpha")).status == 200
    index = await (await client.get("/en/")).text()
    assert 'href="/en/alpha"' in index
    assert 'href="/en/beta"' not in index
    assert not (small_tour / "beta.toml").exists()
    assert (small_tour / "retired" / "beta.toml").exists()
    assert not has_journal(small_tour)
    assert [row[:3] for row in rows(settings.db_path, REVISIONS)] == [
        ("retired/beta.toml", "rina", "retire"),
        (TOUR_FILE, "rina", "retire"),
    ]
    assert rows(settings.db_path, AUDIT)[0][:2] == ("rina", "retire")
