"""Narration on the pages and the audio route: ranges, caching, traversal, live reload."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from tour.catalog import load_tour
from tour.core.settings import Settings
from tour.voice.manifest import audio_dir, load_manifest, manifest_path
from tour.voice.narration import build_narration
from tour.web import create_app
from tour.web.keys import site_key

from .conftest import AiohttpClient
from .voices import CountingVoice

Client = TestClient[web.Request, web.Application]


@pytest.fixture
def media(small_tour: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "media"
    report = build_narration(load_tour(small_tour), folder, CountingVoice())
    assert report.ok
    return folder


@pytest.fixture
def small_settings(small_tour: Path, media: Path, tmp_path: Path) -> Settings:
    return Settings(stops_dir=small_tour, media_dir=media, db_path=tmp_path / "tour.db")


@pytest.fixture
async def audio_client(aiohttp_client: AiohttpClient, small_settings: Settings) -> Client:
    return await aiohttp_client(create_app(small_settings))


def audio_url(page: str) -> str:
    match = re.search(r'<audio controls preload="none" src="(/media/audio/[^"]+)"', page)
    assert match, page
    return match[1]


async def test_page_links_hashed_audio_with_duration(audio_client: Client, media: Path) -> None:
    page = await (await audio_client.get("/en/alpha")).text()
    entry = load_manifest(media).entries[("alpha", "en")]
    assert audio_url(page) == f"/media/audio/{entry.file}"
    seconds = int(entry.duration_s) + 1
    assert f"<figcaption>Listen · 0:{seconds:02d}</figcaption>" in page
    assert "not ready yet" not in page


async def test_audio_is_served_whole_with_immutable_caching(
    audio_client: Client, media: Path
) -> None:
    entry = load_manifest(media).entries[("alpha", "id")]
    response = await audio_client.get(f"/media/audio/{entry.file}")
    assert response.status == 200
    body = await response.read()
    assert body == (audio_dir(media) / entry.file).read_bytes()
    assert response.headers["Content-Type"] == "audio/mpeg"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["Accept-Ranges"] == "bytes"
    etag = response.headers["ETag"]
    cached = await audio_client.get(f"/media/audio/{entry.file}", headers={"If-None-Match": etag})
    assert cached.status == 304


@pytest.mark.parametrize(
    ("range_header", "start", "end"),
    [("bytes=0-1", 0, 1), ("bytes=100-199", 100, 199), ("bytes=-500", None, None)],
)
async def test_audio_byte_ranges(
    audio_client: Client, media: Path, range_header: str, start: int | None, end: int | None
) -> None:
    entry = load_manifest(media).entries[("beta", "en")]
    whole = (audio_dir(media) / entry.file).read_bytes()
    size = len(whole)
    if start is None or end is None:  # a suffix range: the last 500 bytes
        start, end = size - 500, size - 1
    response = await audio_client.get(f"/media/audio/{entry.file}", headers={"Range": range_header})
    assert response.status == 206
    assert response.headers["Content-Range"] == f"bytes {start}-{end}/{size}"
    assert await response.read() == whole[start : end + 1]
    assert response.headers["Content-Type"] == "audio/mpeg"


async def test_unsatisfiable_range_is_416(audio_client: Client, media: Path) -> None:
    entry = load_manifest(media).entries[("beta", "en")]
    response = await audio_client.get(
        f"/media/audio/{entry.file}", headers={"Range": f"bytes={entry.size + 10}-"}
    )
    assert response.status == 416
    assert response.headers["Content-Range"] == f"bytes */{entry.size}"


async def test_head_on_audio(audio_client: Client, media: Path) -> None:
    entry = load_manifest(media).entries[("beta", "id")]
    response = await audio_client.head(f"/media/audio/{entry.file}")
    assert response.status == 200
    assert int(response.headers["Content-Length"]) == entry.size
    assert await response.read() == b""


@pytest.mark.parametrize(
    "path",
    [
        "/media/audio/manifest.json",
        "/media/audio/..%2Fmanifest.json",
        "/media/audio/..%2F..%2F..%2Fetc%2Fpasswd",
        "/media/audio/%2e%2e%2f%2e%2e%2fstops%2ftour.toml",
        "/media/audio/../../stops/tour.toml",
        "/media/audio/.build.lock",
        "/media/audio/alpha.en.0000000000000000.mp3",
        "/media/audio/",
    ],
)
async def test_only_manifest_names_are_served(audio_client: Client, path: str) -> None:
    response = await audio_client.get(path)
    assert response.status == 404
    assert response.headers["Content-Type"].startswith("text/html")


async def test_stop_without_audio_still_renders(
    aiohttp_client: AiohttpClient, small_tour: Path, tmp_path: Path
) -> None:
    settings = Settings(stops_dir=small_tour, media_dir=tmp_path / "empty")
    client = await aiohttp_client(create_app(settings))
    response = await client.get("/id/alpha")
    assert response.status == 200
    page = await response.text()
    assert "<audio" not in page
    assert "Narasi suara untuk tempat ini belum tersedia." in page


async def test_stale_audio_is_not_offered(
    aiohttp_client: AiohttpClient, small_settings: Settings, small_tour: Path
) -> None:
    alpha = small_tour / "alpha.toml"
    alpha.write_text(alpha.read_text("utf-8").replace("Text about alpha.", "Edited."), "utf-8")
    client = await aiohttp_client(create_app(small_settings))
    assert "<audio" not in await (await client.get("/en/alpha")).text()
    assert "<audio" in await (await client.get("/id/alpha")).text()


async def test_damaged_manifest_still_serves_pages(
    aiohttp_client: AiohttpClient, small_settings: Settings, media: Path
) -> None:
    manifest_path(media).write_text("[]", "utf-8")
    client = await aiohttp_client(create_app(small_settings))
    response = await client.get("/en/alpha")
    assert response.status == 200
    assert "not ready yet" in await response.text()


async def test_server_picks_up_new_narration_without_restart(
    aiohttp_client: AiohttpClient, small_tour: Path, tmp_path: Path
) -> None:
    media = tmp_path / "later"
    settings = Settings(stops_dir=small_tour, media_dir=media, manifest_poll_s=0.05)
    client = await aiohttp_client(create_app(settings))
    assert "<audio" not in await (await client.get("/en/beta")).text()

    await asyncio.to_thread(build_narration, load_tour(small_tour), media, CountingVoice())

    page = ""
    for _ in range(200):  # bounded wait for the watcher, which polls every 0.05 s
        page = await (await client.get("/en/beta")).text()
        if "<audio" in page:
            break
        await asyncio.sleep(0.05)
    url = audio_url(page)
    audio = await client.get(url, headers={"Range": "bytes=0-1"})
    assert audio.status == 206


def test_bundled_pages_have_audio_once_built(tmp_path: Path, settings: Settings) -> None:
    """With narration for one stop built, only that stop's pages carry a player."""
    media = tmp_path / "media"
    tour = load_tour(settings.stops_dir)
    build_narration(tour, media, CountingVoice(), stops=["perigi-puteri"])
    app = create_app(replace(settings, media_dir=media))
    pages = app[site_key].current.pages.stops
    assert b"<audio" in pages[("id", "perigi")].body
    assert b"<audio" in pages[("en", "perigi")].body
    assert b"<audio" not in pages[("en", "masjid")].body
