"""Retired codes keep answering: their plaques are still on walls."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

import tour.web.studio.publishing
from tests.conftest import AiohttpClient
from tests.staff import page_csrf, staff_client
from tour.catalog import load_tour
from tour.core.settings import Settings
from tour.export import export_site
from tour.scans.store import connect
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


@pytest.fixture
def inline_settings(chinese_tour: Path, tmp_path: Path) -> Settings:
    """A tour whose retired codes were written by hand as an inline table."""
    tour_file = chinese_tour / "tour.toml"
    text = tour_file.read_text(encoding="utf-8").replace("\n[retired]\n", "\n", 1)
    tour_file.write_text('retired = { tua = "" }  # an old plaque\n' + text, encoding="utf-8")
    return Settings(
        stops_dir=chinese_tour,
        media_dir=tmp_path / "media",
        db_path=tmp_path / "var" / "tour.sqlite3",
        base_url="http://tour.example",  # the test client sends no Secure cookies
    )


async def retire_closed(client: Client, stop: str) -> tuple[int, str]:
    """Retire `stop` as closed through the walk page's form, as a publisher does."""
    page = await (await client.get("/admin/walk")).text()
    base = re.search(r'name="base" value="([^"]+)"', page)
    assert base, page
    response = await client.post(
        "/admin/walk/retire",
        data={
            "csrf": await page_csrf(client),
            "base": base[1],
            "stop": stop,
            "mode": "closed",
            "action": "confirm",
        },
        allow_redirects=False,
    )
    return response.status, html.unescape(await response.text())


async def test_an_inline_retired_code_answers_after_another_stop_retires(
    aiohttp_client: AiohttpClient, inline_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tour.web.studio.publishing, "queue_narration", lambda app, ids: None)
    client = await staff_client(aiohttp_client, inline_settings, "pat", "publisher", "en")
    closed_page = f"<h1>{WORDS['en'][1]}</h1>"
    before = await client.get("/s/tua", headers={"Accept-Language": "en"})
    assert before.status == 200
    assert closed_page in await before.text()
    status, page = await retire_closed(client, "gudang-mesiu")
    assert status == 303, page
    assert dict(load_tour(inline_settings.stops_dir).retired) == {"tua": "", "mesiu": ""}
    for code in ("tua", "mesiu"):
        answer = await client.get(f"/s/{code}", headers={"Accept-Language": "en"})
        assert answer.status == 200, code
        assert closed_page in await answer.text()


async def test_a_retired_that_is_no_table_refuses_the_retirement(
    aiohttp_client: AiohttpClient, inline_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tour.web.studio.publishing, "queue_narration", lambda app, ids: None)
    client = await staff_client(aiohttp_client, inline_settings, "pat", "publisher", "en")
    tour_file = inline_settings.stops_dir / "tour.toml"
    # A hand edit after the tour was loaded.
    broken = tour_file.read_text("utf-8").replace('retired = { tua = "" }', "retired = 3")
    tour_file.write_text(broken, encoding="utf-8")
    status, page = await retire_closed(client, "gudang-mesiu")
    assert status == 409, page
    assert "This change was not saved because a file cannot be read:" in page
    assert (
        'tour.toml: retired must be a table of old code = "stop id", not a number; '
        "write it as a [retired] table by hand, then try again"
    ) in page
    assert tour_file.read_text("utf-8") == broken
    assert (inline_settings.stops_dir / "gudang-mesiu.toml").exists()
