"""A stop's code over time: a plaque on a wall keeps answering through renames and restores."""

from __future__ import annotations

import html
import re
import tomllib
from pathlib import Path

from tour.core.settings import Settings

from . import staff
from . import test_studio_walk as walk
from .staff import Client, page_csrf

stops = walk.stops
settings = walk.settings
queued = walk.queued
publisher = walk.publisher
STOP = walk.STOP
OLD_CODE = "tabib"
NEW_CODE = "tabib-lama"


async def publish_code(client: Client, code: str) -> tuple[int, str]:
    page = await (await client.get(f"/admin/stops/{STOP}")).text()
    response = await client.post(
        f"/admin/stops/{STOP}",
        data={
            "csrf": await page_csrf(client),
            "base": walk.base_of(page),
            "action": "publish",
            "code": code,
        },
    )
    return response.status, html.unescape(await response.text())


def codes(stops: Path) -> tuple[str, dict[str, str]]:
    """The stop's code on disk and tour.toml's [retired] table."""
    code = tomllib.loads((stops / f"{STOP}.toml").read_text("utf-8"))["code"]
    retired = tomllib.loads((stops / "tour.toml").read_text("utf-8")).get("retired", {})
    return str(code), dict(retired)


async def assert_answers(client: Client, *scanned: str) -> None:
    for code in scanned:
        answer = await client.get(f"/s/{code}", headers={"Accept-Language": "en"})
        assert answer.status == 200, (code, await answer.text())


async def test_a_stop_takes_back_one_of_its_own_old_codes(publisher: Client, stops: Path) -> None:
    status, page = await publish_code(publisher, NEW_CODE)
    assert status == 200, page
    assert codes(stops) == (NEW_CODE, {OLD_CODE: STOP})
    status, page = await publish_code(publisher, OLD_CODE)
    assert status == 200, page
    assert codes(stops) == (OLD_CODE, {NEW_CODE: STOP})
    await assert_answers(publisher, OLD_CODE, NEW_CODE)


async def test_another_stops_old_code_stays_refused(publisher: Client, stops: Path) -> None:
    status, page = await publish_code(publisher, NEW_CODE)
    assert status == 200, page
    page = await (await publisher.get("/admin/stops/jetty")).text()
    response = await publisher.post(
        "/admin/stops/jetty",
        data={
            "csrf": await page_csrf(publisher),
            "base": walk.base_of(page),
            "action": "publish",
            "code": OLD_CODE,
        },
    )
    assert response.status == 422, await response.text()
    assert codes(stops) == (NEW_CODE, {OLD_CODE: STOP})


async def test_restoring_a_version_from_before_a_code_change_keeps_both_codes_answering(
    publisher: Client, stops: Path, settings: Settings
) -> None:
    status, page = await publish_code(publisher, NEW_CODE)
    assert status == 200, page
    base, oldest = await walk.history_form(publisher)
    response = await publisher.post(
        f"/admin/stops/{STOP}/history",
        data={"csrf": await page_csrf(publisher), "base": base, "revision": oldest},
        allow_redirects=False,
    )
    assert response.status == 303, await response.text()
    assert codes(stops) == (OLD_CODE, {NEW_CODE: STOP})
    await assert_answers(publisher, OLD_CODE, NEW_CODE)
    restored = staff.rows(
        settings, "SELECT file FROM revisions WHERE kind = 'restore' ORDER BY file"
    )
    assert restored == [(f"{STOP}.toml",), ("tour.toml",)]


async def test_a_refused_restore_shows_the_typed_note_again(publisher: Client, stops: Path) -> None:
    text = (stops / f"{STOP}.toml").read_text("utf-8")
    await walk.publish(publisher, f"{STOP}.toml", text + "# published\n")
    _, oldest = await walk.history_form(publisher)
    response = await publisher.post(
        f"/admin/stops/{STOP}/history",
        data={
            "csrf": await page_csrf(publisher),
            "base": "a stale hash",
            "revision": oldest,
            "note": "Putting back the spring text",
        },
    )
    page = html.unescape(await response.text())
    assert response.status == 409, page
    note = re.search(rf'<input type="text" id="note-{oldest}" name="note"[^>]*>', page)
    assert note, page
    assert 'value="Putting back the spring text"' in note[0]
