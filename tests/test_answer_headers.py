"""Every answer carries the security headers: redirects, plain-text errors, aiohttp's own 405."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from aiohttp import ClientResponse

from tour.web import create_app
from tour.web.common.policy import STAFF_POLICY
from tour.web.keys import site_key

from .conftest import AiohttpClient
from .staff import Client, create_account, log_in, page_csrf, studio_settings

STATIC_COPY = "https://copy.example"
TOO_LARGE = b"code=" + b"x" * (1024 * 1024 + 1)
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
BAD_GZIP = {
    "Content-Type": "application/x-www-form-urlencoded",
    "Content-Encoding": "gzip",
    "Origin": STATIC_COPY,
}


@pytest.fixture
async def app_client(aiohttp_client: AiohttpClient, tmp_path: Path) -> Client:
    settings = studio_settings(tmp_path, scan_origins=(STATIC_COPY,))
    await create_account(settings.db_path, "ana", "admin", lang="en")
    return await aiohttp_client(create_app(settings))


def visitor_policy(client: Client) -> str:
    return client.app[site_key].current.security_headers["Content-Security-Policy"]


async def post_too_large(client: Client, path: str) -> ClientResponse:
    # A stream: aiohttp warns about large raw bodies.
    headers = FORM | {"Origin": STATIC_COPY}
    return await client.post(path, data=io.BytesIO(TOO_LARGE), headers=headers)


def assert_secured(response: ClientResponse, policy: str) -> None:
    headers = response.headers
    assert headers["Content-Security-Policy"] == policy, (response.url, response.status)
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Permissions-Policy"].startswith("geolocation=(self)")


async def test_plain_visitor_answers_carry_the_pages_headers(app_client: Client) -> None:
    answers = [
        (405, await app_client.post("/healthz")),
        (301, await app_client.get("/en", allow_redirects=False)),
        (404, await app_client.get("/nowhere")),
        (400, await app_client.post("/api/scan", data=b"code=x", headers=BAD_GZIP)),
        (403, await app_client.post("/api/scan", headers={"Origin": "https://elsewhere.example"})),
        (413, await post_too_large(app_client, "/api/scan")),
    ]
    for status, response in answers:
        assert response.status == status, (response.url, await response.text())
        assert_secured(response, visitor_policy(app_client))
        assert "no-store" not in response.headers.get("Cache-Control", "")


async def test_plain_staff_answers_carry_the_staff_headers_and_are_never_cached(
    app_client: Client,
) -> None:
    answers = [
        (303, await app_client.get("/admin", allow_redirects=False)),
        (405, await app_client.put("/admin/login")),
        # The login form's nonce is missing: a plain line, before anyone is logged in.
        (403, await app_client.post("/admin/login", data={"user": "ana"})),
        (400, await app_client.post("/admin/login", data=b"csrf=x", headers=BAD_GZIP)),
        (413, await post_too_large(app_client, "/admin/login")),
    ]
    assert (await log_in(app_client, "ana")).status == 303
    csrf = await page_csrf(app_client)
    answers += [
        (303, await app_client.get("/admin/login", allow_redirects=False)),
        (400, await app_client.post("/admin/language", data={"csrf": csrf, "lang": "xx"})),
        (405, await app_client.delete("/admin/stops")),
    ]
    for status, response in answers:
        assert response.status == status, (response.url, await response.text())
        assert_secured(response, STAFF_POLICY)
        assert response.headers["Cache-Control"] == "no-store", response.url


async def test_answers_with_headers_of_their_own_keep_them(app_client: Client) -> None:
    page = await app_client.get("/en/")
    assert page.status == 200
    assert page.headers["Content-Security-Policy"] == visitor_policy(app_client)
    assert page.headers["Cache-Control"] == "public, no-cache"
    health = await app_client.get("/healthz")
    assert health.headers["Cache-Control"] == "no-store"
    script = await app_client.get("/admin/static/admin.js")
    assert script.status == 200
    # A staff script may be revalidated from the browser's cache: not no-store.
    assert script.headers["Cache-Control"] == "no-cache"
    assert script.headers["Content-Security-Policy"] == visitor_policy(app_client)
