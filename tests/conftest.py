"""Shared fixtures: a small valid tour on disk, settings and a test client."""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from tour.catalog import bundled_stops_dir
from tour.settings import Settings
from tour.web import create_app

AiohttpClient = Callable[[web.Application], Awaitable[TestClient[web.Request, web.Application]]]

TOUR_HEAD = """\
languages = ["id", "en"]
default_language = "id"
base_url = "https://tour.example"
order = [
    "alpha",
    "beta",
]

[title]
id = "Tur Uji"
en = "Test Tour"

[bounds]
south = 0.9
north = 1.0
west = 104.3
east = 104.5

"""

STOP_TEMPLATE = """\
code = "{code}"

[location]
lat = {lat}
lon = 104.4
coord_source = "osm"

[name]
id = "Nama {code}"
en = "Name {code}"

[text]
id = \"\"\"
Teks tentang {code}.
\"\"\"
en = \"\"\"
Text about {code}.
\"\"\"
"""


def toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def toml_string(value: str) -> str:
    """Quote `value` as a TOML basic string, keeping its letters as written."""
    return json.dumps(value, ensure_ascii=False)  # JSON's escapes are valid in TOML


def bundled_ui_tables() -> str:
    """Return the [ui.*] and [pronounce.*] tables of the bundled tour, so fixtures keep up."""
    with (bundled_stops_dir() / "tour.toml").open("rb") as handle:
        bundled = tomllib.load(handle)
    lines = []
    for table in ("ui", "pronounce"):
        for lang, values in bundled[table].items():
            lines.append(f"[{table}.{lang}]")
            # JSON string escapes are valid in TOML basic strings.
            lines += [f"{toml_key(key)} = {json.dumps(value)}" for key, value in values.items()]
            lines.append("")
    return "\n".join(lines)


def write_small_tour(folder: Path) -> Path:
    """Write a valid two-stop tour into `folder` and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tour.toml").write_text(TOUR_HEAD + bundled_ui_tables(), encoding="utf-8")
    (folder / "alpha.toml").write_text(STOP_TEMPLATE.format(code="alpha", lat=0.95), "utf-8")
    (folder / "beta.toml").write_text(STOP_TEMPLATE.format(code="beta", lat=0.951), "utf-8")
    return folder


@pytest.fixture
def small_tour(tmp_path: Path) -> Path:
    return write_small_tour(tmp_path / "stops")


# Test data for a third language, Simplified Chinese: short names and texts, not tour content.
CHINESE_NAMES = {
    "jetty": "Penyengat 码头",
    "masjid-raya": "Masjid Raya Sultan Riau（苏丹清真寺）",
    "gedung-tabib": "御医之家",
    "engku-puteri": "Engku Puteri Hamidah 之墓",
    "raja-ali-haji": "Raja Ali Haji 之墓",
    "raja-haji-fisabilillah": "Raja Haji Fisabilillah 之墓",
    "raja-jaafar": "Raja Ja'far 之墓",
    "engku-bilik": "Engku Bilik 宫",
    "istana-kantor": "办公宫",
    "gudang-mesiu": "火药库",
    "raja-abdurrahman": "Raja Abdurrahman 之墓",
    "perigi-puteri": "公主井",
    "bukit-kursi": "Bukit Kursi 炮台",
    "balai-adat": "马来习俗馆",
}
CHINESE_UI = {
    "language_name": "中文",
    "language_label": "语言",
    "stops_heading": "游览地点",
    "stop_label": "站点",
    "of": "/",
    "previous": "上一站",
    "next": "下一站",
    "walk": "步行",
    "minutes": "分钟",
    "from_previous": "距上一站",
    "compass": "北,东北,东,东南,南,西南,西,西北",
    "decimal_mark": ".",
    "listen": "收听",
    "plaque_call": "扫码阅读和收听故事",
    "up_next": "下一站",
    "map_heading": "地图",
    "nearest": "最近的地点",
    "save_tour": "保存整个导览，无信号时也能使用",
    "places": "处地点",
}


def add_chinese(stops: Path) -> Path:
    """Add Simplified Chinese to a copy of the bundled tour, as a writer would."""
    tour_file = stops / "tour.toml"
    tour = tour_file.read_text("utf-8")
    with tour_file.open("rb") as handle:
        english_ui = tomllib.load(handle)["ui"]["en"]
    ui = {**english_ui, **CHINESE_UI}
    tour = tour.replace('languages = ["id", "en"]', 'languages = ["id", "en", "zh"]', 1)
    tour = tour.replace("[title]\n", '[title]\nzh = "Penyengat 岛文化之旅"\n', 1)
    tour = tour.replace("[[notes]]\n", '[[notes]]\nzh = "请衣着得体。"\n')
    tour += "\n[ui.zh]\n" + "".join(f"{key} = {toml_string(value)}\n" for key, value in ui.items())
    tour_file.write_text(tour, "utf-8")
    for stop_id, name in CHINESE_NAMES.items():
        path = stops / f"{stop_id}.toml"
        text = path.read_text("utf-8")
        text = text.replace("[name]\n", f"[name]\nzh = {toml_string(name)}\n", 1)
        story = f"这里是{name}。岛上的历史建筑静静地讲述着往昔的故事。"
        text = text.replace("[text]\n", f"[text]\nzh = {toml_string(story)}\n", 1)
        path.write_text(text, "utf-8")
    return stops


def write_chinese_tour(folder: Path) -> Path:
    """Copy the bundled tour into `folder` and add Chinese to it."""
    shutil.copytree(bundled_stops_dir(), folder)
    return add_chinese(folder)


@pytest.fixture
def chinese_tour(tmp_path: Path) -> Path:
    """The bundled tour with a third language, Simplified Chinese."""
    return write_chinese_tour(tmp_path / "stops")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        stops_dir=bundled_stops_dir(),
        media_dir=tmp_path / "media",
        db_path=tmp_path / "var" / "tour.sqlite3",
    )


@pytest.fixture
async def client(
    aiohttp_client: AiohttpClient, settings: Settings
) -> TestClient[web.Request, web.Application]:
    return await aiohttp_client(create_app(settings))
