"""Shared fixtures: a small valid tour on disk, settings and a test client."""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from argon2 import PasswordHasher

from tour.catalog import bundled_stops_dir
from tour.core.settings import Settings
from tour.staff import accounts
from tour.web import create_app

from . import narration_cache

# The staff fixtures (staff_settings) live beside the staff helpers they use.
pytest_plugins = ["tests.staff"]

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


def pytest_configure(config: pytest.Config) -> None:
    narration_cache.open_cache()


# Tests are marked by what they start, so `make test-fast` can leave those out and a new
# test is marked without anyone remembering to: a fixture in the chain says it all.
MARKED_BY_FIXTURE = {"browser": "browser", "deployment": "nginx"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        for fixture, marker in MARKED_BY_FIXTURE.items():
            if fixture in fixtures:
                item.add_marker(marker)


TEST_HASHER = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
"""Argon2id at the lowest cost: a production hash takes a tenth of a second, and the
suite makes hundreds. The tests marked production_hashing keep the real cost."""


@pytest.fixture(autouse=True)
def test_cost_password_hashing(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    if request.node.get_closest_marker("production_hashing") is None:
        monkeypatch.setattr(accounts, "_hasher", TEST_HASHER)
    # The hash checked for unknown names is made with whichever hasher is in force.
    accounts._dummy_hash.cache_clear()
    yield
    accounts._dummy_hash.cache_clear()


def pytest_unconfigure(config: pytest.Config) -> None:
    narration_cache.close_cache()


@pytest.fixture
def small_tour(tmp_path: Path) -> Path:
    return write_small_tour(tmp_path / "stops")


def write_chinese_tour(folder: Path) -> Path:
    """Copy the bundled tour, which has Simplified Chinese, into `folder` to edit it."""
    shutil.copytree(bundled_stops_dir(), folder)
    return folder


@pytest.fixture
def chinese_tour(tmp_path: Path) -> Path:
    """A copy of the bundled tour, with its third language, Simplified Chinese."""
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
