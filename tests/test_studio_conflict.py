"""Discarding a draft: only its author or a publisher may, and every discard is audited."""

from __future__ import annotations

from collections.abc import AsyncIterator
from html import unescape

import aiohttp
import pytest

from tour.core.settings import Settings
from tour.staff.database import StaffDatabase
from tour.staff.revisions import discard_draft, draft_version, get_draft, save_draft
from tour.web.keys import staff_db_key

from . import staff
from . import test_studio_pages as pages
from .staff import rows
from .test_studio_pages import NEW_EN, STOP, Client, loaded_form

studio_settings = pages.studio_settings
app_client = pages.app_client
editor = pages.editor
NEW_STOP = "rumah-tabib"
NEW_STOP_TEXT = 'code = "rumah-tabib"\n'


@pytest.fixture
async def publisher_browser(app_client: Client) -> AsyncIterator[aiohttp.ClientSession]:
    """Another browser on the same server, logged in as the publisher pia."""
    session = await staff.browser_session(app_client, "pia")
    yield session
    await session.close()


async def saved_draft(client: Client | aiohttp.ClientSession) -> dict[str, str]:
    """Save a draft of STOP as the client's person; return the form it then shows."""
    fields = await loaded_form(client) | {"text.en": NEW_EN, "action": "save"}
    saved = await client.post(f"/admin/stops/{STOP}", data=fields)
    assert saved.status == 200, await saved.text()
    return pages.form_values(await saved.text())


async def post_discard(
    client: Client | aiohttp.ClientSession, stop: str, csrf: str, draft: str
) -> tuple[int, str]:
    data = {"csrf": csrf, "draft": draft, "action": "discard"}
    answer = await client.post(f"/admin/stops/{stop}", data=data, allow_redirects=False)
    return answer.status, unescape(await answer.text())


def audit_rows(settings: Settings) -> list[tuple[object, ...]]:
    return rows(settings, "SELECT who, action, detail FROM audit WHERE action = 'discard-draft'")


async def test_an_editor_may_not_discard_a_publishers_draft(
    editor: Client, publisher_browser: aiohttp.ClientSession, studio_settings: Settings
) -> None:
    theirs = await saved_draft(publisher_browser)
    shown = await loaded_form(editor)
    assert shown["draft"] == theirs["draft"] != ""
    status, page = await post_discard(editor, STOP, shown["csrf"], shown["draft"])
    assert status == 403, page
    assert (
        "Only pia, who saved this draft, or someone with the publisher role may discard it; "
        "yours is editor. Ask pia or a publisher if it really needs discarding."
    ) in page
    [(who, content)] = rows(studio_settings, "SELECT who, content FROM drafts")
    assert who == "pia"
    assert NEW_EN in str(content)
    assert audit_rows(studio_settings) == []


async def test_an_editor_may_not_discard_a_publishers_new_stop_draft(
    editor: Client, studio_settings: Settings
) -> None:
    db = editor.app[staff_db_key]
    await save_draft(db, NEW_STOP, NEW_STOP_TEXT, "", "pia")
    draft = await get_draft(db, NEW_STOP)
    assert draft is not None
    csrf = await staff.page_csrf(editor)
    status, page = await post_discard(editor, NEW_STOP, csrf, draft_version(draft))
    assert status == 403, page
    assert "Only pia, who saved this draft" in page
    assert rows(studio_settings, "SELECT stop, who FROM drafts") == [(NEW_STOP, "pia")]
    assert audit_rows(studio_settings) == []


async def test_the_author_discards_their_own_draft_and_it_is_audited(
    editor: Client, studio_settings: Settings
) -> None:
    mine = await saved_draft(editor)
    status, page = await post_discard(editor, STOP, mine["csrf"], mine["draft"])
    assert status == 303, page
    assert rows(studio_settings, "SELECT * FROM drafts") == []
    assert audit_rows(studio_settings) == [("ema", "discard-draft", f"{STOP} (by ema)")]


async def test_a_publisher_discards_an_editors_draft_and_it_is_audited(
    editor: Client, publisher_browser: aiohttp.ClientSession, studio_settings: Settings
) -> None:
    await saved_draft(editor)
    shown = await loaded_form(publisher_browser)
    status, page = await post_discard(publisher_browser, STOP, shown["csrf"], shown["draft"])
    assert status == 303, page
    assert rows(studio_settings, "SELECT * FROM drafts") == []
    assert audit_rows(studio_settings) == [("pia", "discard-draft", f"{STOP} (by ema)")]


async def test_discarding_a_draft_replaced_meanwhile_drops_and_records_nothing(
    studio_settings: Settings,
) -> None:
    async with StaffDatabase(studio_settings.db_path) as db:
        await save_draft(db, STOP, "first", "", "ema")
        first = await get_draft(db, STOP)
        assert first is not None
        await save_draft(db, STOP, "second", "", "putu")
        assert await discard_draft(db, first, "pia") is False
    assert rows(studio_settings, "SELECT content FROM drafts") == [("second",)]
    assert audit_rows(studio_settings) == []
