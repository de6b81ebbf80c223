"""Retired codes keep answering: their plaques are still on walls."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.conftest import AiohttpClient
from tour.catalog import load_tour
from tour.export import export_site
from tour.settings import Settings
from tour.store import connect
from tour.web import create_app

Client = TestClient[web.Request, web.Application]
WORDS = {
    "id": ("Perhentian ini sudah dipindahkan", "Perhentian ini sudah ditutup", "Semua tempat"),
    "en": ("This stop has moved", "This stop has closed", "All places"),
    "zh": ("此站已迁移", "此站已关闭", "全部地点"),
}


@pytest.fixture
def retired_settings(chinese_tour: Path, tmp_path: Path) -> Settings:
    tour_file = chinese_tour / "tour.toml"
    text = tour_file.read_text(encoding="utf-8")
    tour_file.write_text(
        text.replace("[retired]\n", '[retired]\nmesjid = "masjid-raya"\nmeriam = ""\n'),
        encoding="utf-8",
    )
    return Settings(
        stops_dir=chinese_tour,
        media_dir=tmp_path / "media",
        db_path=tmp_path / "var" / "tour.sqlite3",
    )


@pytest.fixture
async def retired_client(aiohttp_client: AiohttpClient, retired_settings: Settings) -> Client:
    return await aiohttp_client(create_app(retired_settings))


@pytest.mark.parametrize("lang", ["id", "en", "zh"])
async def test_moved_code_links_to_the_stop_in_the_visitors_language(
    retired_client: Client, retired_settings: Settings, lang: str
) -> None:
    tour = load_tour(retired_settings.stops_dir)
    moved_to = tour.stop_by_id("masjid-raya")
    assert moved_to is not None
    response = await retired_client.get("/s/mesjid", headers={"Accept-Language": lang})
    assert response.status == 200
    html = await response.text()
    assert f"<h1>{WORDS[lang][0]}</h1>" in html
    link = f'<a class="moved-to" href="/{lang}/{moved_to.code}">{moved_to.name[lang]}</a>'
    assert link in html
    assert f'<a class="tour-index" href="/{lang}/">{WORDS[lang][2]}</a>' in html
    followed = await retired_client.get(f"/{lang}/{moved_to.code}")
    assert followed.status == 200
    assert f"<h1>{moved_to.name[lang]}</h1>" in await followed.text()


@pytest.mark.parametrize("lang", ["id", "en", "zh"])
async def test_closed_code_links_to_the_tour(retired_client: Client, lang: str) -> None:
    response = await retired_client.get("/s/meriam", headers={"Accept-Language": lang})
    assert response.status == 200
    html = await response.text()
    assert f"<h1>{WORDS[lang][1]}</h1>" in html
    assert 'class="moved-to"' not in html
    assert f'<a class="tour-index" href="/{lang}/">{WORDS[lang][2]}</a>' in html
    index = await retired_client.get(f"/{lang}/")
    assert index.status == 200
    same = await retired_client.get(f"/{lang}/meriam")
    assert same.status == 200
    assert await same.text() == html


async def test_a_retired_code_is_not_counted_as_a_scan(
    retired_client: Client, retired_settings: Settings
) -> None:
    assert (await retired_client.get("/s/mesjid")).status == 200
    assert (await retired_client.get("/s/masjid")).status == 200
    await retired_client.server.close()  # flushes the scan recorder
    connection = await connect(retired_settings.db_path)
    try:
        cursor = await connection.execute("SELECT stop FROM scans")
        rows = [tuple(row) for row in await cursor.fetchall()]
    finally:
        await connection.close()
    assert rows == [("masjid-raya",)]


async def test_unknown_code_is_still_not_found(retired_client: Client) -> None:
    assert (await retired_client.get("/s/nothing")).status == 404


def test_export_writes_retired_codes(retired_settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "site"
    export_site(retired_settings, out)
    for lang, (moved, closed, _) in WORDS.items():
        assert f"<h1>{moved}</h1>" in (out / lang / "mesjid.html").read_text(encoding="utf-8")
        assert f"<h1>{closed}</h1>" in (out / lang / "meriam.html").read_text(encoding="utf-8")
    chooser = (out / "s" / "mesjid.html").read_text(encoding="utf-8")
    assert 'href="/en/mesjid"' in chooser
