"""Staff accounts for tests: create one straight in the database, then log in by the form.

client = await staff_client(aiohttp_client, settings, "ana", "editor")
csrf = await page_csrf(client)  # the session's CSRF token, for POST forms
"""

from __future__ import annotations

import re
from pathlib import Path

from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient

from tour.settings import Settings
from tour.staff.accounts import Account, add_account
from tour.staff.database import StaffDatabase
from tour.web import create_app

from .conftest import AiohttpClient

Client = TestClient[web.Request, web.Application]
PASSWORD = "kata sandi panjang 2026"


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
