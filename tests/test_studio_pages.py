"""The studio's stop pages: list, form, live check, save, publish, conflicts, bad input."""

from __future__ import annotations

import asyncio
import errno
import json
import re
from collections.abc import AsyncIterator
from html import unescape
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

import tour.staff.editing as editing
from tour.catalog import load_tour
from tour.core.model import COORD_SOURCES
from tour.core.settings import Settings
from tour.staff.database import StaffDatabase
from tour.staff.editing import apply_form, file_hash, form_fields
from tour.staff.revisions import save_draft
from tour.staff.walk import new_stop_text
from tour.web import create_app
from tour.web.keys import recorder_key, settings_key
from tour.web.studio.keys import studio_key

from . import staff
from .conftest import AiohttpClient
from .staff import create_account, log_in, page_csrf, rows

Client = TestClient[web.Request, web.Application]
LANGUAGES = ("id", "en", "zh")
STOP = "masjid-raya"
COMMENT = "# Hand-written by the heritage office: keep this line.\n"
NEW_EN = " ".join(["The mosque keeps its yellow walls and green domes."] * 16)


@pytest.fixture
def studio_settings(tmp_path: Path) -> Settings:
    settings = staff.studio_settings(tmp_path, scan_flush_s=0.05)
    path = settings.stops_dir / f"{STOP}.toml"
    path.write_text(COMMENT + path.read_text(encoding="utf-8"), encoding="utf-8")
    return settings


@pytest.fixture
async def app_client(aiohttp_client: AiohttpClient, studio_settings: Settings) -> Client:
    """A client on an app with an editor (ema), two publishers (pia, putu); not logged in."""
    for name, role in (("ema", "editor"), ("pia", "publisher"), ("putu", "publisher")):
        await create_account(studio_settings.db_path, name, role, lang="en")
    return await aiohttp_client(create_app(studio_settings))


@pytest.fixture
async def editor(app_client: Client) -> Client:
    assert (await log_in(app_client, "ema")).status == 303
    return app_client


@pytest.fixture
async def publisher(app_client: Client) -> Client:
    assert (await log_in(app_client, "pia")).status == 303
    return app_client


@pytest.fixture
async def second_publisher(app_client: Client) -> AsyncIterator[aiohttp.ClientSession]:
    """Another browser on the same server, logged in as putu."""
    session = await staff.browser_session(app_client, "putu")
    yield session
    await session.close()


def stop_file(settings: Settings, stop: str = STOP) -> Path:
    return settings.stops_dir / f"{stop}.toml"


async def loaded_form(client: Client | aiohttp.ClientSession, stop: str = STOP) -> dict[str, str]:
    """The stop form's fields as the browser would post them."""
    response = await client.get(f"/admin/stops/{stop}")
    assert response.status == 200, await response.text()
    return form_values(await response.text())


def form_values(html: str) -> dict[str, str]:
    form = html[html.index('id="stop-form"') :]
    form = form[: form.index("</form>")]
    values = {
        match[1]: unescape(match[2])
        for match in re.finditer(r'<input [^>]*name="([^"]+)" value="([^"]*)"', form)
    }
    for match in re.finditer(
        r'<textarea id="[^"]+" name="([^"]+)"[^>]*>(.*?)</textarea>', form, re.S
    ):
        values[match[1]] = unescape(match[2])
    for match in re.finditer(r'<select id="([^"]+)" name="[^"]+"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', match[2])
        values[match[1]] = chosen[1] if chosen else ""
    return values


# --- the list ------------------------------------------------------------------------------


async def test_stop_list_shows_every_stop_in_order_with_drafts_narration_and_scans(
    editor: Client, studio_settings: Settings
) -> None:
    recorder = editor.app[recorder_key]
    for _ in range(3):
        recorder.record(STOP, "en", "qr")
    await recorder.flush()
    fields = await loaded_form(editor)
    fields |= {"text.en": "Too short.", "action": "save"}
    assert (await editor.post(f"/admin/stops/{STOP}", data=fields)).status == 200
    response = await editor.get("/admin/stops")
    html = await response.text()
    assert response.status == 200, html
    order = re.findall(r'<tr id="stop-([a-z0-9-]+)"', html)
    assert order[:3] == ["jetty", "masjid-raya", "gedung-tabib"]
    assert len(order) == 14
    row = html[html.index(f'id="stop-{STOP}"') :]
    row = row[: row.index("</tr>")]
    assert "Draft by ema" in row
    assert "text.en:" in row  # the draft's own problem, from the tour's checks
    assert "<td data-scans>3</td>" in row
    assert 'data-lang="en">English: missing' in row


# --- the form ------------------------------------------------------------------------------


async def test_form_has_every_field_of_the_file(editor: Client, studio_settings: Settings) -> None:
    response = await editor.get(f"/admin/stops/{STOP}")
    html = await response.text()
    assert response.status == 200, html
    disk = stop_file(studio_settings).read_text(encoding="utf-8")
    values = form_values(html)
    assert values["base"] == file_hash(disk)
    fields = form_fields(LANGUAGES, disk)
    assert fields
    for name, value in fields.items():
        assert values[name] == value, name
    for source in COORD_SOURCES:
        assert f'<option value="{source}"' in html
    assert 'id="use-location"' in html
    assert 'id="listen"' in html
    assert "No photography inside the mosque." in html  # a practical note, read-only
    assert "tour.toml" in html
    assert 'value="publish"' not in html  # an editor saves; publishers publish
    assert 'aria-describedby="problems-text.en counter-text.en"' in html
    for asset, marker in (("studio.js", "enableHighAccuracy"), ("studio.css", ".field-problems")):
        served = await editor.get(f"/admin/static/{asset}")
        assert served.status == 200, asset
        assert marker in await served.text()


async def test_unknown_or_unsafe_stop_ids_are_404(editor: Client) -> None:
    for path in (
        "/admin/stops/nowhere",
        "/admin/stops/..%2Ftour",
        "/admin/stops/Masjid",
        # tour.toml is the tour's settings, not a stop with a form of its own.
        "/admin/stops/tour",
        "/admin/stops/tour/history",
        "/admin/stops/tour/preview?lang=en",
        "/admin/stops/retired",
    ):
        response = await editor.get(path)
        assert response.status == 404, path
    before = (editor.app[settings_key].stops_dir / "tour.toml").read_bytes()
    response = await editor.post(
        "/admin/stops/tour",
        data={"csrf": await page_csrf(editor), "name.en": "Hijacked", "action": "save"},
    )
    assert response.status == 404
    assert (editor.app[settings_key].stops_dir / "tour.toml").read_bytes() == before
    response = await editor.get("/admin/stops/nowhere")
    assert "There is no stop “nowhere”" in await response.text()


# --- the live check ------------------------------------------------------------------------


async def test_check_answers_the_problems_field_by_field(editor: Client) -> None:
    fields = await loaded_form(editor)
    response = await editor.post(f"/admin/stops/{STOP}/check", data=fields)
    assert response.status == 200
    assert await response.json() == {}
    for name, value in [
        ("text.en", "Too short."),
        ("text.en", ""),
        ("location.lat", "200"),
        ("code", "mesiu"),  # gudang-mesiu's
        ("code", "x" * 90),  # too long for the plaque's QR version
    ]:
        response = await editor.post(f"/admin/stops/{STOP}/check", data=fields | {name: value})
        problems = await response.json()
        assert list(problems) == [name], (name, value, problems)
        assert all(line and isinstance(line, str) for line in problems[name])
    bad = fields | {"location.lat": "200"}
    without_csrf = {key: value for key, value in bad.items() if key != "csrf"}
    assert (await editor.post(f"/admin/stops/{STOP}/check", data=without_csrf)).status == 403


# --- save ----------------------------------------------------------------------------------


async def test_save_keeps_a_draft_and_the_file(editor: Client, studio_settings: Settings) -> None:
    before = stop_file(studio_settings).read_bytes()
    fields = await loaded_form(editor)
    fields |= {"text.en": "<script>alert(1)</script> Too short.", "action": "save"}
    response = await editor.post(f"/admin/stops/{STOP}", data=fields)
    html = await response.text()
    assert response.status == 200, html
    assert "Saved as a draft, 1 problem(s)." in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Too short." in html
    assert "<script>alert" not in html
    assert stop_file(studio_settings).read_bytes() == before
    [(content, base, who)] = rows(studio_settings, "SELECT content, base, who FROM drafts")
    assert who == "ema"
    assert base == file_hash(before.decode())
    assert content == apply_form(before.decode(), fields, LANGUAGES)
    assert str(content).startswith(COMMENT)
    again = await editor.get(f"/admin/stops/{STOP}")
    assert "This form shows the draft saved by ema" in await again.text()


# --- publish -------------------------------------------------------------------------------


async def test_an_editor_cannot_publish(editor: Client, studio_settings: Settings) -> None:
    before = stop_file(studio_settings).read_bytes()
    fields = await loaded_form(editor) | {"text.en": NEW_EN, "action": "publish"}
    response = await editor.post(f"/admin/stops/{STOP}", data=fields)
    assert response.status == 403
    assert stop_file(studio_settings).read_bytes() == before


async def test_publish_writes_the_file_keeps_comments_and_records_it(
    publisher: Client, studio_settings: Settings
) -> None:
    disk = stop_file(studio_settings).read_text(encoding="utf-8")
    fields = await loaded_form(publisher)
    fields |= {"text.en": NEW_EN, "note": "shorter", "action": "publish"}
    response = await publisher.post(f"/admin/stops/{STOP}", data=fields)
    html = await response.text()
    assert response.status == 200, html
    assert "Published." in html
    written = stop_file(studio_settings).read_text(encoding="utf-8")
    assert written == apply_form(disk, fields, LANGUAGES)
    assert written.startswith(COMMENT)
    assert form_values(html)["base"] == file_hash(written)
    revisions = rows(studio_settings, "SELECT file, who, kind, note FROM revisions ORDER BY id")
    assert revisions[-1] == (f"{STOP}.toml", "pia", "publish", "shorter")
    assert (f"{STOP}.toml", "", "found", "") in [(f, "", k, "") for f, _, k, _ in revisions]
    audit = rows(studio_settings, "SELECT who, action FROM audit WHERE action = 'publish'")
    assert audit == [("pia", "publish")]
    assert rows(studio_settings, "SELECT * FROM drafts") == []
    visitor = await publisher.get("/en/masjid")
    assert NEW_EN.split(".")[0] in await visitor.text()
    await publisher.app[studio_key].jobs.stop()


async def test_narration_waiting_behind_another_build_is_followed_on_the_form(
    publisher: Client,
) -> None:
    # Published while another stop's narration is being built: the form says it waits,
    # and its script must keep asking, or the page would say "waiting" until reloaded.
    publisher.app[studio_key].jobs.queue.append(STOP)
    html = await (await publisher.get(f"/admin/stops/{STOP}")).text()
    status = re.search(r'<div id="narration-status"[^>]*>', html)
    assert status is not None, html
    assert "data-follow" in status[0]
    assert "This stop&#39;s narration waits for the build that is running." in html


async def test_publish_with_problems_is_refused_and_the_draft_kept(
    publisher: Client, studio_settings: Settings
) -> None:
    before = stop_file(studio_settings).read_bytes()
    fields = await loaded_form(publisher) | {"location.lat": "200", "action": "publish"}
    response = await publisher.post(f"/admin/stops/{STOP}", data=fields)
    html = await response.text()
    assert response.status == 422, html
    assert "Not published: fix the 1 problem(s) below." in html
    assert form_values(html)["location.lat"] == "200"
    assert stop_file(studio_settings).read_bytes() == before
    assert len(rows(studio_settings, "SELECT * FROM drafts")) == 1


async def test_a_stale_form_gets_the_conflict_page(
    publisher: Client, studio_settings: Settings
) -> None:
    fields = await loaded_form(publisher) | {"text.en": NEW_EN, "action": "publish"}
    path = stop_file(studio_settings)
    hand_edited = path.read_text(encoding="utf-8").replace("coord_source", "# moved\ncoord_source")
    path.write_text(hand_edited, encoding="utf-8")
    response = await publisher.post(f"/admin/stops/{STOP}", data=fields)
    html = await response.text()
    assert response.status == 409, html
    assert path.read_text(encoding="utf-8") == hand_edited
    assert "# moved" in html
    assert "The version on the server now" in html
    keep_mine = html[html.index('id="keep-mine"') :]
    assert f'name="base" value="{file_hash(hand_edited)}"' in keep_mine
    # Choosing "publish mine over it" publishes over the hand edit, which is kept in history.
    chosen = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', keep_mine))
    chosen = {key: unescape(value) for key, value in chosen.items()} | {"action": "publish"}
    response = await publisher.post(f"/admin/stops/{STOP}", data=chosen)
    assert response.status == 200, await response.text()
    written = path.read_text(encoding="utf-8")
    assert "# moved" in written
    assert NEW_EN in written
    # The hand edit it replaced is the first version the history holds.
    history = rows(studio_settings, "SELECT kind, content FROM revisions ORDER BY id")
    assert history == [("found", hand_edited), ("publish", written)]
    await publisher.app[studio_key].jobs.stop()


async def test_two_publishers_at_once_the_second_gets_the_conflict_page(
    publisher: Client, second_publisher: aiohttp.ClientSession, studio_settings: Settings
) -> None:
    mine = await loaded_form(publisher) | {"text.en": NEW_EN, "action": "publish"}
    theirs = await loaded_form(second_publisher) | {
        "text.en": NEW_EN + " Yes.",
        "action": "publish",
    }
    answers = await asyncio.gather(
        publisher.post(f"/admin/stops/{STOP}", data=mine),
        second_publisher.post(f"/admin/stops/{STOP}", data=theirs),
    )
    statuses = sorted(answer.status for answer in answers)
    assert statuses == [200, 409]
    written = stop_file(studio_settings).read_text(encoding="utf-8")
    winner = mine if answers[0].status == 200 else theirs
    assert NEW_EN in written
    assert ("domes. Yes." in written) == (winner is theirs)
    await publisher.app[studio_key].jobs.stop()


async def test_a_full_disk_is_507_with_the_file_unchanged_and_the_draft_kept(
    publisher: Client, studio_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(path: Path, data: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(editing, "write_atomically", full)
    before = stop_file(studio_settings).read_bytes()
    fields = await loaded_form(publisher) | {"text.en": NEW_EN, "action": "publish"}
    response = await publisher.post(f"/admin/stops/{STOP}", data=fields)
    html = await response.text()
    assert response.status == 507, html
    assert "the disk is full" in html
    assert stop_file(studio_settings).read_bytes() == before
    [(content,)] = rows(studio_settings, "SELECT content FROM drafts")
    assert NEW_EN in str(content)


async def test_a_changed_code_keeps_the_old_one_answering(
    publisher: Client, studio_settings: Settings
) -> None:
    fields = await loaded_form(publisher) | {"code": "masjid-raya", "action": "publish"}
    response = await publisher.post(f"/admin/stops/{STOP}", data=fields)
    assert response.status == 200, await response.text()
    tour_text = (studio_settings.stops_dir / "tour.toml").read_text(encoding="utf-8")
    assert "masjid" in tour_text[tour_text.index("[retired]") :]
    old = await publisher.get("/s/masjid", allow_redirects=False)
    assert old.status != 404
    new = await publisher.get("/en/masjid-raya")
    assert new.status == 200
    await publisher.app[studio_key].jobs.stop()


async def test_surveyed_coordinates_are_accepted(
    publisher: Client, studio_settings: Settings
) -> None:
    note = "Surveyed with a phone on 2026-11-28, accuracy 8 m"
    fields = await loaded_form(publisher) | {
        "location.lat": "0.929500",
        "location.lon": "104.420400",
        "location.coord_source": "surveyed",
        "location.coord_note": note,
        "action": "publish",
    }
    response = await publisher.post(f"/admin/stops/{STOP}", data=fields)
    assert response.status == 200, await response.text()
    written = stop_file(studio_settings).read_text(encoding="utf-8")
    assert 'coord_source = "surveyed"' in written
    assert json.dumps(note) in written
    await publisher.app[studio_key].jobs.stop()


async def test_a_new_stop_drafted_on_the_walk_page_is_listed_and_published_into_the_order(
    publisher: Client, studio_settings: Settings
) -> None:
    tour = load_tour(studio_settings.stops_dir)
    async with StaffDatabase(studio_settings.db_path) as db:
        await save_draft(db, "pelabuhan-lama", new_stop_text(tour, "lama"), "", "pia")
    listing = await (await publisher.get("/admin/stops")).text()
    row = listing[listing.index('id="stop-pelabuhan-lama"') :]
    assert "New stop, not live yet" in row[: row.index("</tr>")]
    fields = await loaded_form(publisher, "pelabuhan-lama")
    assert fields["base"] == ""
    fields |= {f"name.{lang}": f"Pelabuhan lama {lang}" for lang in LANGUAGES}
    fields |= {"text.id": NEW_EN, "text.en": NEW_EN, "text.zh": "这是旧码头的故事。" * 32}
    fields |= {"location.lat": "0.925", "location.lon": "104.42", "action": "publish"}
    response = await publisher.post("/admin/stops/pelabuhan-lama", data=fields)
    assert response.status == 200, await response.text()
    assert stop_file(studio_settings, "pelabuhan-lama").is_file()
    assert load_tour(studio_settings.stops_dir).stops[-1].id == "pelabuhan-lama"
    assert (await publisher.get("/en/lama")).status == 200
    await publisher.app[studio_key].jobs.stop()
