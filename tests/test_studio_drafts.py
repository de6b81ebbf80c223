"""A stop has one draft: saving or publishing never silently replaces someone else's."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Mapping
from html import unescape
from typing import Any

import aiohttp
import pytest

import tour.web.studio.publishing
import tour.web.studio.stops
from tour.core.settings import Settings
from tour.staff.revisions import save_draft
from tour.web.keys import staff_db_key
from tour.web.studio.keys import studio_key
from tour.web.studio.publishing import Published

from . import test_studio_pages as pages
from .staff import rows
from .test_studio_pages import NEW_EN, STOP, Client, loaded_form, stop_file

studio_settings = pages.studio_settings
app_client = pages.app_client
publisher = pages.publisher
second_publisher = pages.second_publisher


async def test_saving_an_older_form_shows_both_drafts_and_replaces_neither(
    publisher: Client, second_publisher: aiohttp.ClientSession, studio_settings: Settings
) -> None:
    mine = await loaded_form(publisher)
    theirs = await loaded_form(second_publisher)
    assert mine["draft"] == theirs["draft"] == ""
    saved = await publisher.post(
        f"/admin/stops/{STOP}", data=mine | {"text.en": NEW_EN, "action": "save"}
    )
    assert saved.status == 200, await saved.text()
    older = theirs | {"name.en": "Their Mosque", "action": "save"}
    answer = await second_publisher.post(f"/admin/stops/{STOP}", data=older)
    page = await answer.text()
    assert answer.status == 409, page
    assert "pia saved a draft of this stop at" in page
    assert "The draft by pia" in page
    assert 'id="discard-mine"' not in page
    assert "Their Mosque" in page
    [(who, content)] = rows(studio_settings, "SELECT who, content FROM drafts")
    assert who == "pia"
    assert NEW_EN in str(content)
    assert "Their Mosque" not in str(content)
    # Keeping theirs is a deliberate choice: the conflict page names the draft it replaces.
    keep = page[page.index('id="keep-mine"') :]
    chosen = {k: unescape(v) for k, v in re.findall(r'name="([^"]+)" value="([^"]*)"', keep)}
    chosen["action"] = "save"
    answer = await second_publisher.post(f"/admin/stops/{STOP}", data=chosen)
    assert answer.status == 200, await answer.text()
    [(who, content)] = rows(studio_settings, "SELECT who, content FROM drafts")
    assert who == "putu"
    assert "Their Mosque" in str(content)


async def test_a_publish_keeps_a_draft_saved_while_it_ran(
    publisher: Client, studio_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = tour.web.studio.publishing.publish_files
    theirs = stop_file(studio_settings).read_text("utf-8") + "# another editor's work\n"

    async def publish_while_someone_saves(
        app: Any, staff: Any, texts: Mapping[str, str], *args: Any, **kwargs: Any
    ) -> Published:
        published = await real(app, staff, texts, *args, **kwargs)
        await save_draft(app[staff_db_key], STOP, theirs, "", "ema")
        return published

    monkeypatch.setattr(tour.web.studio.publishing, "publish_files", publish_while_someone_saves)
    fields = await loaded_form(publisher) | {"text.en": NEW_EN, "action": "publish"}
    answer = await publisher.post(f"/admin/stops/{STOP}", data=fields)
    assert answer.status == 200, await answer.text()
    assert NEW_EN in stop_file(studio_settings).read_text("utf-8")
    assert rows(studio_settings, "SELECT who, content FROM drafts") == [("ema", theirs)]
    await publisher.app[studio_key].jobs.stop()


async def test_a_full_database_disk_is_507_with_the_typed_form(
    publisher: Client, studio_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def full(*args: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(tour.web.studio.stops, "save_draft", full)
    before = stop_file(studio_settings).read_bytes()
    fields = await loaded_form(publisher) | {"name.en": "Typed before the disk filled"}
    for action in ("save", "publish"):
        answer = await publisher.post(f"/admin/stops/{STOP}", data=fields | {"action": action})
        page = unescape(await answer.text())
        assert answer.status == 507, page
        assert 'value="Typed before the disk filled"' in page
        assert (
            "Nothing was saved: the database could not store the draft (database or disk is "
            "full). What you typed is still in the form below;"
        ) in page
    assert stop_file(studio_settings).read_bytes() == before
    assert rows(studio_settings, "SELECT * FROM drafts") == []


async def test_a_save_after_a_hand_edit_broke_the_file_keeps_the_typed_form(
    publisher: Client, studio_settings: Settings
) -> None:
    fields = await loaded_form(publisher) | {"name.en": "My careful new name"}
    path = stop_file(studio_settings)
    broken = path.read_text("utf-8").replace('code = "', 'code = "unterminated\n', 1)
    path.write_text(broken, "utf-8")
    line = broken[: broken.index("unterminated")].count("\n") + 1
    for action in ("save", "publish"):
        answer = await publisher.post(f"/admin/stops/{STOP}", data=fields | {"action": action})
        page = unescape(await answer.text())
        assert answer.status == 422, page
        assert 'value="My careful new name"' in page
        assert "Nothing was saved: fix the problem below first." in page
        assert f"{STOP}.toml, line {line}: not valid TOML any more (" in page
        assert "correct the file by hand or restore a version from its history" in page
    assert path.read_text("utf-8") == broken
    assert rows(studio_settings, "SELECT * FROM drafts") == []


async def test_a_stop_file_saved_as_latin_1_is_a_422_naming_it(
    publisher: Client, studio_settings: Settings
) -> None:
    path = stop_file(studio_settings)
    path.write_bytes(path.read_bytes().replace(b"# Hand-written", b"# Hand-wr\xeftten"))
    for url in (f"/admin/stops/{STOP}", f"/admin/stops/{STOP}/preview?lang=en"):
        answer = await publisher.get(url)
        page = unescape(await answer.text())
        assert answer.status == 422, (url, page)
        assert (
            f"{STOP}.toml, line 1: the file is not saved as UTF-8 (byte 0xef); save it as "
            "UTF-8 in the editor, then try again"
        ) in page


async def test_discard_drops_only_the_draft_the_page_showed(
    publisher: Client, second_publisher: aiohttp.ClientSession, studio_settings: Settings
) -> None:
    mine = await loaded_form(publisher)
    saved = await publisher.post(
        f"/admin/stops/{STOP}", data=mine | {"text.en": NEW_EN, "action": "save"}
    )
    assert saved.status == 200, await saved.text()
    shown = pages.form_values(await saved.text())
    # putu saves over pia's draft (his form was loaded after it) while pia's page is open.
    theirs = await loaded_form(second_publisher)
    answer = await second_publisher.post(
        f"/admin/stops/{STOP}", data=theirs | {"name.en": "Putu's Mosque", "action": "save"}
    )
    assert answer.status == 200, await answer.text()
    discard = {"csrf": shown["csrf"], "draft": shown["draft"], "action": "discard"}
    answer = await publisher.post(f"/admin/stops/{STOP}", data=discard, allow_redirects=False)
    page = unescape(await answer.text())
    assert answer.status == 409, page
    assert "putu saved a draft of this stop at" in page
    assert 'id="discard-mine"' not in page
    [(who, content)] = rows(studio_settings, "SELECT who, content FROM drafts")
    assert who == "putu"
    assert "Putu's Mosque" in str(content)
    # Discarding the draft one was shown, one's own, drops it.
    again = await loaded_form(second_publisher)
    discard = {"csrf": again["csrf"], "draft": again["draft"], "action": "discard"}
    answer = await second_publisher.post(
        f"/admin/stops/{STOP}", data=discard, allow_redirects=False
    )
    assert answer.status == 303, await answer.text()
    assert rows(studio_settings, "SELECT * FROM drafts") == []
