"""The studio's preview, draft narration (listen) and the draft audio it serves."""
# ruff: noqa: F811 - the fixtures imported from test_studio_pages are parameters here

from __future__ import annotations

import re
import threading

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from tour.catalog import load_tour
from tour.core.settings import Settings, apply_settings
from tour.voice.narration import NarrationBuilder
from tour.voice.speech import Voice, choose_voice
from tour.web.studio.keys import studio_key
from tour.web.studio.preview import DRAFT_AUDIO_PREFIX

from . import staff
from .conftest import AiohttpClient
from .test_studio_pages import (  # noqa: F401 - fixtures are found by name
    STOP,
    app_client,
    editor,
    form_values,
    loaded_form,
    publisher,
    studio_settings,
)

Client = TestClient[web.Request, web.Application]
PLAYER = re.compile(r'<audio controls preload="none" src="([^"]+)"')


@pytest.fixture
async def narrated(aiohttp_client: AiohttpClient, studio_settings: Settings) -> Client:
    """An editor (ema, English) on an app whose live tour narrates STOP in id and en."""
    tour = apply_settings(load_tour(studio_settings.stops_dir), studio_settings)
    voice, _ = choose_voice(studio_settings.audio_engine)
    report = await NarrationBuilder(tour, studio_settings.media_dir, voice).build(
        stops=[STOP], langs=["id", "en"]
    )
    assert report.ok, report.summary()
    return await staff.staff_client(aiohttp_client, studio_settings, "ema", "editor", lang="en")


def player_of(html: str) -> str | None:
    """The src of the page's narration player, or None when it has none."""
    match = PLAYER.search(html)
    return match[1] if match else None


async def test_preview_shows_the_draft_as_visitors_would_with_script_escaped(
    editor: Client,
) -> None:
    fields = await loaded_form(editor)
    fields |= {"text.en": "<script>alert(1)</script> " + fields["text.en"], "action": "save"}
    assert (await editor.post(f"/admin/stops/{STOP}", data=fields)).status == 200
    response = await editor.get(f"/admin/stops/{STOP}/preview?lang=en")
    html = await response.text()
    assert response.status == 200, html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert" not in html
    policy = response.headers["Content-Security-Policy"]
    assert "worker-src 'none'" in policy
    assert "worker-src 'self'" not in policy
    assert "'unsafe-inline'" not in policy
    assert response.headers["Cache-Control"] == "no-store"
    assert "Draft preview: not live" in html
    assert f'href="/admin/stops/{STOP}/preview?lang=id"' in html
    visitor = await editor.get("/en/masjid")
    assert "alert(1)" not in await visitor.text()


async def test_preview_leaves_out_the_script_that_registers_the_service_worker(
    editor: Client,
) -> None:
    # The preview's policy refuses workers: registering one there is a CSP violation.
    visitor = await editor.get("/en/masjid")
    assert '<script src="/offline.js" defer></script>' in await visitor.text()
    response = await editor.get(f"/admin/stops/{STOP}/preview?lang=en")
    html = await response.text()
    assert response.status == 200, html
    assert "/offline.js" not in html
    # The rest of the visitor page stays, its own inline script included.
    assert "<h1>Sultan of Riau Grand Mosque</h1>" in html
    assert html.count("<script>") == (await visitor.text()).count("<script>") == 1


async def test_preview_in_an_unknown_language_is_404_naming_the_languages(editor: Client) -> None:
    response = await editor.get(f"/admin/stops/{STOP}/preview?lang=fr")
    assert response.status == 404
    assert "Choose one of: id, en, zh." in await response.text()


async def test_listen_builds_draft_narration_served_only_to_staff(
    editor: Client, studio_settings: Settings
) -> None:
    form = await editor.get(f"/admin/stops/{STOP}")
    csrf = form_values(await form.text())["csrf"]
    response = await editor.post(
        f"/admin/stops/{STOP}/listen", data={"csrf": csrf, "lang": "en"}, allow_redirects=False
    )
    assert response.status == 303
    assert response.headers["Location"].endswith("?listen=started#listen-heading")
    state = editor.app[studio_key]
    task = state.jobs.listen_task
    assert task is not None
    await task
    status = await (await editor.get(f"/admin/stops/{STOP}/listen/status")).json()
    assert status["running"] is False
    assert status["failed"] is False, status
    assert status["languages"] == ["en"]
    preview = await (await editor.get(f"/admin/stops/{STOP}/preview?lang=en")).text()
    names = re.findall(r"/admin/drafts/audio/([\w.-]+\.mp3)", preview)
    assert names, preview
    audio = await editor.get(f"/admin/drafts/audio/{names[0]}", headers={"Range": "bytes=0-1"})
    assert audio.status == 206
    assert audio.headers["Content-Range"].startswith("bytes 0-1/")
    assert len(await audio.read()) == 2
    # Never under /media, where visitors fetch narration.
    assert (await editor.get(f"/media/audio/{names[0]}")).status == 404
    assert (await editor.get("/admin/drafts/audio/..%2Fmanifest.json")).status == 404
    editor.session.cookie_jar.clear()
    logged_out = await editor.get(f"/admin/drafts/audio/{names[0]}", allow_redirects=False)
    assert logged_out.status == 303


async def test_a_failed_narration_build_after_publish_is_shown_and_marked(
    publisher: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_voice(engine: str) -> object:
        raise RuntimeError("the voice engine is not installed")

    monkeypatch.setattr("tour.web.studio.publishing.choose_voice", no_voice)
    fields = await loaded_form(publisher)
    fields |= {"text.en": fields["text.en"] + " Welcome.", "action": "publish"}
    response = await publisher.post(f"/admin/stops/{STOP}", data=fields)
    assert response.status == 200, await response.text()
    state = publisher.app[studio_key]
    assert state.jobs.queue_task is not None
    await state.jobs.queue_task
    form = await (await publisher.get(f"/admin/stops/{STOP}")).text()
    assert (
        "The narration failed to build: the build stopped: the voice engine is not installed"
        in form
    )
    listing = await (await publisher.get("/admin/stops")).text()
    row = listing[listing.index(f'id="stop-{STOP}"') :]
    row = row[: row.index("</tr>")]
    assert 'class="failed" data-lang="en">English: failed to build' in row


async def test_a_second_listen_while_one_runs_is_told_to_wait(
    editor: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = threading.Event()

    def held_voice(engine: str) -> tuple[Voice, str]:
        gate.wait()  # the first job holds here, in its thread, until the test lets go
        return choose_voice(engine)

    monkeypatch.setattr("tour.web.studio.preview.choose_voice", held_voice)
    csrf = form_values(await (await editor.get(f"/admin/stops/{STOP}")).text())["csrf"]
    first = await editor.post(
        f"/admin/stops/{STOP}/listen",
        data={"csrf": csrf, "lang": "en"},
        headers={"Accept": "application/json"},
    )
    assert first.status == 202
    second = await editor.post(
        f"/admin/stops/{STOP}/listen",
        data={"csrf": csrf, "lang": "id"},
        headers={"Accept": "application/json"},
    )
    assert second.status == 409
    assert (await second.json())["error"] == (
        "A narration is being prepared for masjid-raya. Wait until it is finished, then try again."
    )
    without_script = await editor.post(
        f"/admin/stops/{STOP}/listen", data={"csrf": csrf, "lang": "id"}
    )
    assert "A narration is being prepared for masjid-raya." in await without_script.text()
    gate.set()
    task = editor.app[studio_key].jobs.listen_task
    assert task is not None
    await task


async def test_the_preview_plays_live_narration_that_still_speaks_the_drafts_text(
    narrated: Client,
) -> None:
    live_en = player_of(await (await narrated.get("/en/masjid")).text())
    live_id = player_of(await (await narrated.get("/id/masjid")).text())
    assert live_en is not None
    assert live_en.startswith(f"/media/audio/{STOP}.en.")
    assert live_id is not None
    assert live_id.startswith(f"/media/audio/{STOP}.id.")
    # The draft changes only the Indonesian text.
    fields = await loaded_form(narrated)
    fields |= {"text.id": fields["text.id"] + " Selamat datang.", "action": "save"}
    assert (await narrated.post(f"/admin/stops/{STOP}", data=fields)).status == 200

    english = await (await narrated.get(f"/admin/stops/{STOP}/preview?lang=en")).text()
    assert player_of(english) == live_en
    assert DRAFT_AUDIO_PREFIX not in english
    assert (await narrated.get(live_en)).status == 200
    # The live Indonesian narration speaks the old text: no player until someone listens.
    indonesian = await (await narrated.get(f"/admin/stops/{STOP}/preview?lang=id")).text()
    assert player_of(indonesian) is None
    assert live_id not in indonesian

    csrf = form_values(await (await narrated.get(f"/admin/stops/{STOP}")).text())["csrf"]
    listen = await narrated.post(
        f"/admin/stops/{STOP}/listen", data={"csrf": csrf, "lang": "id"}, allow_redirects=False
    )
    assert listen.status == 303
    task = narrated.app[studio_key].jobs.listen_task
    assert task is not None
    await task
    indonesian = await (await narrated.get(f"/admin/stops/{STOP}/preview?lang=id")).text()
    draft_id = player_of(indonesian)
    assert draft_id is not None
    assert draft_id.startswith(f"{DRAFT_AUDIO_PREFIX}{STOP}.id.")
    assert draft_id.removeprefix(DRAFT_AUDIO_PREFIX) != live_id.removeprefix("/media/audio/")
    assert (await narrated.get(draft_id)).status == 200
    english = await (await narrated.get(f"/admin/stops/{STOP}/preview?lang=en")).text()
    assert player_of(english) == live_en


async def test_the_preview_bar_logs_out(editor: Client) -> None:
    response = await editor.get(f"/admin/stops/{STOP}/preview?lang=en")
    html = await response.text()
    assert response.status == 200, html
    # The page's own policy must let its forms post here.
    assert "form-action 'self'" in response.headers["Content-Security-Policy"].split("; ")
    bar = html[html.index('<nav class="staff-preview"') :]
    bar = bar[: bar.index("</nav>")]
    form = re.search(
        r'<form method="post" action="/admin/logout"><input type="hidden" name="csrf" '
        r'value="([^"]+)"><button type="submit">Log out</button></form>',
        bar,
    )
    assert form, bar
    answer = await editor.post("/admin/logout", data={"csrf": form[1]}, allow_redirects=False)
    assert answer.status == 303
    assert answer.headers["Location"] == "/admin/login"
    after = await editor.get(f"/admin/stops/{STOP}/preview?lang=en", allow_redirects=False)
    assert after.status == 303
    assert after.headers["Location"] == "/admin/login"
