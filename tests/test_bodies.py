"""Posted bodies: a malformed one answers 400 with one line, a stalled one 408, never a 500."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from tour.staff.words import staff_words
from tour.web import create_app

from .conftest import AiohttpClient
from .staff import Client, create_account, hidden_csrf, log_in, studio_settings

STATIC_COPY = "https://copy.example"
STOP = "masjid-raya"
TRUNCATED_MULTIPART = (
    b'--b\r\nContent-Disposition: form-data; name="csrf"\r\n\r\nabc\r\n--b\r\nContent-Disposi'
)
MALFORMED = {
    "truncated multipart": (
        TRUNCATED_MULTIPART,
        {"Content-Type": "multipart/form-data; boundary=b"},
    ),
    "gzip that is not gzip": (
        b"csrf=abc&code=x",
        {"Content-Type": "application/x-www-form-urlencoded", "Content-Encoding": "gzip"},
    ),
}
READ_BEFORE_LOGIN = {"/api/scan", "/admin/login", "/admin/language"}
"""The POST routes that read the body before asking who is there."""


def post_paths(app: web.Application) -> list[str]:
    """Every POST route of the app, its placeholders filled with a real stop."""
    paths = []
    for route in app.router.routes():
        if route.method == "POST" and route.resource is not None:
            paths.append(re.sub(r"\{[^}]+\}", STOP, route.resource.canonical))
    return paths


@pytest.fixture
async def app_client(aiohttp_client: AiohttpClient, tmp_path: Path) -> Client:
    settings = studio_settings(tmp_path, scan_origins=(STATIC_COPY,), body_timeout_s=0.5)
    await create_account(settings.db_path, "ana", "admin")
    return await aiohttp_client(create_app(settings))


def assert_one_line_logged(caplog: pytest.LogCaptureFixture, path: str, reason: str) -> None:
    """One warning naming the request, and no traceback anywhere in the log."""
    assert [record for record in caplog.records if record.exc_info] == []
    assert "Traceback" not in caplog.text
    lines = [r.getMessage() for r in caplog.records if r.name == "tour.web.common.bodies"]
    assert len(lines) == 1, lines
    # No visitor's address is kept, in the log neither (tour serve has no access log).
    assert lines[0].startswith(f"POST {path}: {reason}"), lines
    caplog.clear()


@pytest.mark.parametrize("logged_in", [False, True], ids=["visitor", "logged-in"])
@pytest.mark.parametrize("kind", list(MALFORMED))
async def test_every_post_route_answers_a_malformed_body_with_400_and_one_log_line(
    app_client: Client, caplog: pytest.LogCaptureFixture, kind: str, logged_in: bool
) -> None:
    if logged_in:
        assert (await log_in(app_client, "ana")).status == 303
    body, headers = MALFORMED[kind]
    paths = post_paths(app_client.app)
    assert {"/api/scan", "/admin/login", f"/admin/stops/{STOP}"} <= set(paths)
    caplog.set_level(logging.INFO)
    caplog.clear()
    said = staff_words()["id"]["error_body_malformed"]
    for path in paths:
        response = await app_client.post(
            path, data=body, headers=headers | {"Origin": STATIC_COPY}, allow_redirects=False
        )
        text = await response.text()
        if not logged_in and path not in READ_BEFORE_LOGIN:
            # Refused before the body is read: sent to the login form.
            assert response.status == 303, (path, text)
            assert response.headers["Location"] == "/admin/login"
            continue
        assert response.status == 400, (path, text)
        if path == "/api/scan":
            assert text.startswith("The form could not be read ("), text
            assert "\n" not in text
        else:
            assert f'<p class="alert" role="alert">{said}</p>' in text, (path, text)
        assert response.headers["Connection"] == "close"
        assert_one_line_logged(caplog, path, "malformed body")


async def test_the_staff_line_is_in_the_language_chosen_on_the_login_page(
    app_client: Client,
) -> None:
    form = await app_client.get("/admin/login")
    csrf = hidden_csrf(await form.text())
    chosen = await app_client.post(
        "/admin/language", data={"csrf": csrf, "lang": "en"}, allow_redirects=False
    )
    assert chosen.status == 303, await chosen.text()
    body, headers = MALFORMED["gzip that is not gzip"]
    response = await app_client.post("/admin/login", data=body, headers=headers)
    assert response.status == 400
    assert staff_words()["en"]["error_body_malformed"] in await response.text()


async def test_the_server_keeps_serving_after_malformed_bodies(app_client: Client) -> None:
    body, headers = MALFORMED["truncated multipart"]
    for _ in range(3):
        assert (await app_client.post("/admin/login", data=body, headers=headers)).status == 400
    assert (await log_in(app_client, "ana")).status == 303


@contextlib.asynccontextmanager
async def half_a_body(client: Client, path: str) -> AsyncIterator[asyncio.StreamReader]:
    """A raw connection that has sent the headers and half the declared body, then stalls."""
    reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: {STATIC_COPY}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n"
    )
    writer.write(head.encode("ascii") + b"code=" + b"x" * 45)
    await writer.drain()
    try:
        yield reader
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


@pytest.mark.parametrize("path", ["/api/scan", "/admin/login"])
async def test_a_body_stalled_halfway_gets_408_within_the_setting_while_others_are_served(
    app_client: Client, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    caplog.set_level(logging.INFO)
    async with half_a_body(app_client, path) as reader:
        sent = time.monotonic()
        # Meanwhile the server serves everyone else.
        for _ in range(3):
            assert (await app_client.get("/healthz")).status == 200
        assert time.monotonic() - sent < 0.5, "the other requests waited for the stalled one"
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
        waited = time.monotonic() - sent
    assert head.startswith(b"HTTP/1.1 408 "), head
    assert b"\r\nConnection: close\r\n" in head
    # The setting is 0.5 s: answered after it, and well before a stalled client would give up.
    assert 0.5 <= waited < 3, waited
    assert_one_line_logged(caplog, path, "the body stalled for 0.5 s")


@pytest.mark.parametrize(
    "request_head",
    [b"GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n", b"GET / HTTP/1.1\r\nBad Header\r\n\r\n"],
    ids=["request line", "header"],
)
async def test_a_request_the_parser_refuses_is_one_log_line_without_the_address(
    app_client: Client, caplog: pytest.LogCaptureFixture, request_head: bytes
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", app_client.port)
    with caplog.at_level(logging.DEBUG, "aiohttp.server"):
        writer.write(request_head)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 10)
        writer.close()
    assert re.match(rb"HTTP/1\.[01] 400 ", answer), answer
    lines = [record for record in caplog.records if record.name == "aiohttp.server"]
    assert lines, caplog.text
    for record in lines:
        assert record.getMessage().startswith("a malformed request was refused: "), record
        assert record.exc_info is None
        assert "127.0.0.1" not in record.getMessage()
