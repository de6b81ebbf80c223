"""Simplified Chinese through every layer: negotiation, pages, fonts, words without spaces.

The bundled tour has Chinese names, texts and interface words; tests that edit them
work on a copy.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import html5lib
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from playwright.sync_api import Browser

from tour.catalog import bundled_stops_dir, load_tour
from tour.core.languages import language_tag, word_space
from tour.core.settings import Settings
from tour.render.pages import compass_word, format_distance, format_megabytes
from tour.voice.spoken import apply_pronunciation, speak_glosses, spoken_sentences
from tour.web import create_app

from .browsing import PHONE, Served, Watched, browser
from .conftest import AiohttpClient, write_chinese_tour

__all__ = ["browser"]

Client = TestClient[web.Request, web.Application]
CJK_FONT_STACK = (
    '"PingFang SC", "Hiragino Sans GB", "Noto Sans CJK SC", "Source Han Sans SC", '
    '"Microsoft YaHei", sans-serif'
)


@pytest.fixture
async def zh_client(aiohttp_client: AiohttpClient, chinese_tour: Path, tmp_path: Path) -> Client:
    settings = Settings(
        stops_dir=chinese_tour, media_dir=tmp_path / "media", db_path=tmp_path / "tour.sqlite3"
    )
    return await aiohttp_client(create_app(settings))


def test_the_language_data_says_how_chinese_is_written() -> None:
    assert language_tag("zh") == "zh-Hans"
    assert language_tag("id") == "id"
    assert word_space("zh") == ""
    assert word_space("en") == " "


@pytest.mark.parametrize(
    "accept_language",
    ["zh", "zh-CN", "zh-SG", "zh-Hans", "zh-Hans-CN", "zh-TW", "zh-HK", "zh-SG,zh;q=0.9"],
)
async def test_chinese_phones_get_the_chinese_page(zh_client: Client, accept_language: str) -> None:
    response = await zh_client.get("/s/masjid", headers={"Accept-Language": accept_language})
    assert response.status == 200
    assert response.history == ()  # the scan answers with the page itself
    assert response.headers["Content-Language"] == "zh"
    body = await response.text()
    assert body.startswith('<!doctype html>\n<html lang="zh-Hans" data-lang="zh">')
    assert "<h1>廖内苏丹大清真寺</h1>" in body


async def test_a_language_the_phone_prefers_still_wins(zh_client: Client) -> None:
    response = await zh_client.get("/s/masjid", headers={"Accept-Language": "en-SG,zh;q=0.8"})
    assert '<html lang="en" data-lang="en">' in await response.text()


async def test_pages_mark_chinese_wherever_it_appears(zh_client: Client) -> None:
    english = await (await zh_client.get("/en/masjid")).text()
    assert '<p class="note" lang="zh-Hans">廖内苏丹大清真寺</p>' in english
    assert '<a href="/zh/masjid" hreflang="zh-Hans" lang="zh-Hans">简体中文</a>' in english
    assert (
        '<link rel="alternate" hreflang="zh-Hans" href="https://penyengat.example/zh/masjid">'
        in english
    )
    chinese = await (await zh_client.get("/zh/masjid")).text()
    assert '<span aria-current="page" lang="zh-Hans">简体中文</span>' in chinese
    html5lib.HTMLParser(strict=True).parse(chinese)


async def test_the_next_stop_line_runs_chinese_words_together(
    zh_client: Client, chinese_tour: Path
) -> None:
    tour = load_tour(chinese_tour)
    jetty, mosque = tour.stops[0], tour.stops[1]
    metres = jetty.location.distance_m(mosque.location)
    distance = format_distance(metres, ".")
    direction = compass_word(jetty.location.bearing_deg(mosque.location), tour.ui["zh"]["compass"])
    minutes = tour.walking_minutes(metres)
    body = await (await zh_client.get(f"/zh/{jetty.code}")).text()
    assert f"<small>{distance} {direction} · {minutes} 分钟步程</small>" in body
    assert direction in {"北", "东北", "东", "东南", "南", "西南", "西", "西北"}
    index = await (await zh_client.get("/zh/")).text()
    assert f"<small>{distance} （距上一站） · {minutes} 分钟步程</small>" in index
    english = await (await zh_client.get(f"/en/{jetty.code}")).text()
    assert f"{minutes} min walk</small>" in english  # spaced languages keep their spaces


def test_the_mandarin_voice_hears_malay_names_in_chinese_characters() -> None:
    rules = load_tour(bundled_stops_dir()).pronounce["zh"]
    spoken = apply_pronunciation("Masjid Raya Sultan Riau 是 Penyengat 岛上的清真寺。", rules)
    assert spoken == "Masjid Raya 苏丹 廖内 是 本涅昂 岛上的清真寺。"
    assert apply_pronunciation("Engku Puteri Hamidah", rules) == "恩姑 布特丽 Hamidah"
    # Chinese characters are word characters too, yet a name written against them is a word
    assert apply_pronunciation("Penyengat岛的Raja", rules) == "本涅昂岛的拉惹"
    assert apply_pronunciation("Rajawali", rules) == "Rajawali"  # not a part of a longer word


def test_the_voice_reads_a_glossed_name_as_its_gloss() -> None:
    glossed = "Raja Ali Haji（拉惹阿里·哈吉）写了《Gurindam Dua Belas》（十二箴言诗）。"
    assert speak_glosses(glossed, "zh") == "拉惹阿里·哈吉写了《十二箴言诗》。"
    assert speak_glosses("整座岛就是她的聘礼（mas kawin）。", "zh") == "整座岛就是她的聘礼。"
    assert speak_glosses("岸边写着“Selamat Datang”（欢迎光临）。", "zh") == (
        "岸边写着“Selamat Datang”（欢迎光临）。"  # a quotation, not a name: read as written
    )
    assert speak_glosses("1803年（另一说1804年）", "zh") == "1803年（另一说1804年）"
    assert speak_glosses("写于1847（道光二十七年）。", "zh") == "写于1847（道光二十七年）。"
    english = "The cogan (a royal standard) stands here."
    assert speak_glosses(english, "en") == english  # languages with spaces are read as written
    tour = load_tour(bundled_stops_dir())
    assert tour.stops
    for stop in tour.stops:
        for sentence in spoken_sentences(tour, stop, "zh"):
            assert not re.search(r"[A-Za-z]（", sentence), (stop.id, sentence)


def test_numbers_and_compass_words_read_well_in_chinese() -> None:
    assert format_distance(203, ".") == "200 m"
    assert format_distance(1460, ".") == "1.5 km"
    assert format_megabytes(3_450_000, ".") == "3.5 MB"
    compass = "北,东北,东,东南,南,西南,西,西北"
    assert [compass_word(bearing, compass) for bearing in (0, 44, 90, 225, 337.6)] == [
        "北",
        "东北",
        "东",
        "西南",
        "北",
    ]


async def test_the_save_button_and_map_speak_chinese(zh_client: Client) -> None:
    body = await (await zh_client.get("/zh/")).text()
    assert re.search(r">保存整个导览，没有信号也能用 \(\d+\.\d MB\)</button>", body)
    assert 'data-places="个地点" data-decimal="."' in body
    assert 'data-label="最近的地点"' in body
    assert "<title>2. 廖内苏丹大清真寺</title>" in body  # a map label


async def test_the_font_stack_is_inline_and_allowed_by_the_policy(zh_client: Client) -> None:
    for path in ("/zh/masjid", "/id/masjid"):
        response = await zh_client.get(path)
        body = await response.text()
        [style] = re.findall(r"<style>(.*?)</style>", body, re.DOTALL)
        assert ":lang(zh){font-family:" in style
        assert "@font-face" not in style  # the phone's own fonts, no web font
        assert "url(" not in style
        digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
        assert f"style-src 'sha256-{digest}'" in response.headers["Content-Security-Policy"]


@pytest.fixture(scope="module")
def chinese_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("zh-served")
    served = Served(folder, write_chinese_tour(folder / "stops"))
    yield served.base
    served.stop()


FONT_OF = "(selector) => getComputedStyle(document.querySelector(selector)).fontFamily"


def test_a_chinese_phone_sees_the_chinese_page_in_its_own_fonts(
    browser: Browser, chinese_server: str
) -> None:
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True, locale="zh-SG")
    watched = Watched(context, urlsplit(chinese_server).netloc)
    try:
        page = watched.page()
        page.goto(f"{chinese_server}/s/masjid")
        assert page.evaluate("document.documentElement.lang") == "zh-Hans"
        assert page.locator("h1").inner_text() == "廖内苏丹大清真寺"
        assert page.evaluate(FONT_OF, "body") == CJK_FONT_STACK
        assert page.evaluate(FONT_OF, ".legs small") == CJK_FONT_STACK
        # The narration was built offline by eSpeak NG's Mandarin voice.
        assert page.evaluate("document.querySelector('audio').src").endswith(".mp3")
        page.goto(f"{chinese_server}/id/masjid")
        assert page.evaluate(FONT_OF, "body").startswith("system-ui")
        assert page.evaluate(FONT_OF, 'p.note[lang="zh-Hans"]') == CJK_FONT_STACK
        assert page.evaluate(FONT_OF, 'a[hreflang="zh-Hans"]') == CJK_FONT_STACK
    finally:
        context.close()
    assert watched.errors == []  # no console error, no CSP violation
    assert watched.off_site() == []  # no web font or anything else from elsewhere
