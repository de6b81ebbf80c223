"""Staff apps for tests: settings with a staff database, accounts, logged-in clients.

settings = studio_settings(tmp_path)  # a copy of the bundled tour the studio may write to
client = await staff_client(aiohttp_client, settings, "ana", "editor")
csrf = await page_csrf(client)  # the session's CSRF token, for POST forms
"""

from __future__ import annotations

import contextlib
import re
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient

from tour.catalog import bundled_stops_dir
from tour.core.settings import Settings
from tour.staff.accounts import Account, add_account
from tour.staff.database import StaffDatabase
from tour.web import create_app

from .conftest import AiohttpClient

Client = TestClient[web.Request, web.Application]
PASSWORD = "kata sandi panjang 2026"


def rows(
    database: Settings | Path, sql: str, params: tuple[object, ...] = ()
) -> list[tuple[object, ...]]:
    """The rows `sql` selects from the staff database of these settings, or at this path."""
    path = database.db_path if isinstance(database, Settings) else database
    with contextlib.closing(sqlite3.connect(path)) as connection:
        return connection.execute(sql, params).fetchall()


def studio_settings(tmp_path: Path, stops: Path | None = None, **overrides: Any) -> Settings:
    """Settings of a staff app under `tmp_path`: `stops`, or else a fresh copy of the bundled
    tour in tmp_path/stops, a staff database in tmp_path/var, an http base URL (the test client
    sends no Secure cookies) and eSpeak NG narration; `overrides` replace any of these."""
    if stops is None:
        stops = Path(shutil.copytree(bundled_stops_dir(), tmp_path / "stops"))
    fields: dict[str, Any] = {
        "stops_dir": stops,
        "media_dir": tmp_path / "media",
        "db_path": tmp_path / "var" / "tour.sqlite3",
        "base_url": "http://tour.example",
        "audio_engine": "espeak",
    }
    return Settings(**(fields | overrides))


@pytest.fixture
def staff_settings(small_tour: Path, tmp_path: Path) -> Settings:
    """Studio settings over the small two-stop tour (a fixture everywhere: see conftest)."""
    return studio_settings(tmp_path, small_tour)


async def create_account(
    db_path: Path, name: str, role: str, password: str = PASSWORD, lang: str = "id"
) -> Account:
    """Add an account to the database at `db_path` (created if need be), as `tour staff add`."""
    async with StaffDatabase(db_path) as db:
        return await add_account(db, name, role, password, who="tour staff", lang=lang)


def hidden_csrf(html: str) -> str:
    """The first hidden `csrf` field of a page (every form on a page carries the same one)."""
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, html
    return match[1]


async def log_in(client: Client, name: str, password: str = PASSWORD) -> ClientResponse:
    """Post the real login form; return the answer (303 to /admin when it worked)."""
    form = await client.get("/admin/login")
    assert form.status == 200, await form.text()
    response = await client.post(
        "/admin/login",
        data={"csrf": hidden_csrf(await form.text()), "user": name, "password": password},
        allow_redirects=False,
    )
    return response


async def browser_session(client: Client, name: str) -> aiohttp.ClientSession:
    """Another browser on the server of `client`, logged in as `name`; the caller closes it."""
    session = aiohttp.ClientSession(
        base_url=str(client.make_url("/")), cookie_jar=aiohttp.CookieJar(unsafe=True)
    )
    form = await (await session.get("/admin/login")).text()
    data = {"csrf": hidden_csrf(form), "user": name, "password": PASSWORD}
    answer = await session.post("/admin/login", data=data, allow_redirects=False)
    assert answer.status == 303, await answer.text()
    return session


async def page_csrf(client: Client, path: str = "/admin") -> str:
    """The session's CSRF token, read from a staff page's forms."""
    response = await client.get(path)
    assert response.status == 200, await response.text()
    return hidden_csrf(await response.text())


async def staff_client(
    aiohttp_client: AiohttpClient,
    settings: Settings,
    name: str = "admin",
    role: str = "admin",
    lang: str = "id",
) -> Client:
    """A test client for the app of `settings`, logged in as a new account `name`."""
    await create_account(settings.db_path, name, role, lang=lang)
    client = await aiohttp_client(create_app(settings))
    response = await log_in(client, name)
    assert response.status == 303, await response.text()
    assert response.headers["Location"] == "/admin"
    return client
