"""A failing staff database (a full disk) outside the stop form: a clear line, never a 500."""

from __future__ import annotations

import html
import sqlite3
from pathlib import Path

import pytest

import tour.staff.publish
import tour.web.studio.history
import tour.web.studio.publishing
import tour.web.studio.walk
from tour.catalog import TOUR_FILE
from tour.core.settings import Settings
from tour.staff.editing import file_hash
from tour.staff.journal import has_journal

from . import test_studio_walk as walk
from .staff import Client, page_csrf, rows
from .test_studio_walk import FIRST_EN_LINE, STOP, STOP_FILE, history_form, move, publish

stops = walk.stops
settings = walk.settings
queued = walk.queued
publisher = walk.publisher
FULL = "database or disk is full"


async def full(*args: object, **kwargs: object) -> None:
    raise sqlite3.OperationalError(FULL)


async def test_a_database_that_cannot_keep_the_replaced_version_writes_nothing(
    publisher: Client, stops: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = (stops / TOUR_FILE).read_bytes()
    page = await (await publisher.get("/admin/walk")).text()
    monkeypatch.setattr(tour.staff.publish, "note_disk_version", full)
    status, page = await move(publisher, STOP, "down", walk.base_of(page))
    assert status == 409, page
    assert (
        "The file could not be written, and nothing was changed: the staff database could "
        f"not keep the version of {TOUR_FILE} ({FULL})"
    ) in page
    assert (stops / TOUR_FILE).read_bytes() == before


async def test_a_reorder_the_history_cannot_record_is_still_written_and_live(
    publisher: Client, stops: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    await publisher.get("/admin/walk")  # the studio notes tour.toml as found
    before = (stops / TOUR_FILE).read_text("utf-8")
    monkeypatch.setattr(tour.staff.publish, "record_change", full)
    status, page = await move(publisher, STOP, "down")
    assert status == 200, page
    assert f"Written and live, but not recorded in the history: {FULL}" in page
    after = (stops / TOUR_FILE).read_text("utf-8")
    assert after != before
    assert rows(settings, "SELECT kind FROM revisions WHERE file = ?", (TOUR_FILE,)) == [("found",)]


async def test_an_unrecorded_change_is_recorded_before_the_next_one_once_the_database_works(
    publisher: Client, stops: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    await publisher.get("/admin/walk")  # the studio notes tour.toml as found
    monkeypatch.setattr(tour.staff.publish, "record_change", full)
    status, page = await move(publisher, STOP, "down")
    assert status == 200, page
    first = (stops / TOUR_FILE).read_text("utf-8")
    # Its journal keeps who, kind and note until the history has them.
    assert has_journal(stops)
    monkeypatch.undo()
    status, page = await move(publisher, STOP, "up")
    assert status == 303, page
    assert not has_journal(stops)
    kinds = rows(
        settings, "SELECT kind, who, sha256 FROM revisions WHERE file = ? ORDER BY id", (TOUR_FILE,)
    )
    assert [kind for kind, _, _ in kinds] == ["found", "reorder", "reorder"]
    assert kinds[1][1:] == ("pat", file_hash(first))
    assert len(rows(settings, "SELECT * FROM audit WHERE action = 'reorder'")) == 2


async def test_the_walk_history_records_an_unrecorded_reorder_as_the_studios_not_by_hand(
    publisher: Client, stops: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    await publisher.get("/admin/walk")
    monkeypatch.setattr(tour.staff.publish, "record_change", full)
    status, page = await move(publisher, STOP, "down")
    assert status == 200, page
    monkeypatch.undo()
    assert (await publisher.get("/admin/walk/history")).status == 200
    kinds = rows(
        settings, "SELECT kind, who FROM revisions WHERE file = ? ORDER BY id", (TOUR_FILE,)
    )
    assert kinds == [("found", ""), ("reorder", "pat")]
    assert not has_journal(stops)


async def test_a_restore_the_history_cannot_record_says_so_and_is_live(
    publisher: Client, stops: Path, monkeypatch: pytest.MonkeyPatch, queued: list[str]
) -> None:
    original = (stops / STOP_FILE).read_text("utf-8")
    await publish(publisher, STOP_FILE, original.replace(FIRST_EN_LINE, "The Tabib house", 1))
    queued.clear()
    base, oldest = await history_form(publisher)
    monkeypatch.setattr(tour.staff.publish, "record_change", full)
    data = {"csrf": await page_csrf(publisher), "revision": oldest, "base": base}
    response = await publisher.post(f"/admin/stops/{STOP}/history", data=data | {"note": ""})
    page = html.unescape(await response.text())
    assert response.status == 200, page
    assert f"Written and live, but not recorded in the history: {FULL}" in page
    assert (stops / STOP_FILE).read_text("utf-8") == original
    assert FIRST_EN_LINE in await (await publisher.get("/en/tabib")).text()
    assert queued == [STOP]


async def test_the_history_page_shows_without_noting_the_disk_when_the_database_is_full(
    publisher: Client, stops: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tour.web.studio.history, "note_disk_version", full)
    response = await publisher.get(f"/admin/stops/{STOP}/history")
    page = html.unescape(await response.text())
    assert response.status == 200, page
    assert (
        f"The file's current version could not be noted in the history ({FULL}); "
        "the history below may lack the latest hand edit."
    ) in page
    assert rows(settings, "SELECT * FROM revisions") == []


async def test_adding_a_stop_with_a_full_database_is_a_507_saving_nothing(
    publisher: Client, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tour.web.studio.walk, "save_draft", full)
    data = {"csrf": await page_csrf(publisher), "file": "rumah-baru", "code": "rumahbaru"}
    response = await publisher.post("/admin/walk/add", data=data, allow_redirects=False)
    page = html.unescape(await response.text())
    assert response.status == 507, page
    assert (
        f"Nothing was saved: the database could not store the new stop's draft ({FULL}). "
        "Try again once the server's disk has room."
    ) in page
    assert 'value="rumah-baru"' in page
    assert rows(settings, "SELECT * FROM drafts") == []


async def test_a_new_stop_whose_audit_entry_fails_is_still_saved_and_opened(
    publisher: Client, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tour.web.studio.walk, "record", full)
    data = {"csrf": await page_csrf(publisher), "file": "rumah-baru", "code": "rumahbaru"}
    response = await publisher.post("/admin/walk/add", data=data, allow_redirects=False)
    assert response.status == 303, await response.text()
    assert response.headers["Location"] == "/admin/stops/rumah-baru"
    assert rows(settings, "SELECT stop, base FROM drafts") == [("rumah-baru", "")]


async def test_retiring_with_a_full_database_writes_nothing(
    publisher: Client, stops: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = (stops / TOUR_FILE).read_bytes()
    page = await (await publisher.get("/admin/walk")).text()
    monkeypatch.setattr(tour.staff.publish, "note_disk_version", full)
    data = {
        "csrf": await page_csrf(publisher),
        "stop": STOP,
        "mode": "closed",
        "moved_to": "",
        "action": "confirm",
        "base": walk.base_of(page),
    }
    response = await publisher.post("/admin/walk/retire", data=data, allow_redirects=False)
    text = html.unescape(await response.text())
    assert response.status == 409, text
    assert f"the staff database could not keep the version of {TOUR_FILE} ({FULL})" in text
    assert (stops / TOUR_FILE).read_bytes() == before
    assert (stops / STOP_FILE).exists()
    assert file_hash(before.decode()) == walk.base_of(page)
