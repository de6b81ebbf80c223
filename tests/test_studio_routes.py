"""The studio's route table is the list of its URLs, and its middleware guards every one."""

from __future__ import annotations

import html
import re

from tour.core.settings import Settings
from tour.staff.words import staff_words
from tour.web import create_app
from tour.web.studio.access import ADMIN, ANYONE, PUBLISHER, Route
from tour.web.studio.routes import ROUTES

from .conftest import AiohttpClient
from .staff import Client, create_account, page_csrf, rows, staff_client


def real_path(route: Route) -> str:
    """The route's URL under /admin, its placeholders filled with a stop of the small tour."""
    return re.sub(r"\{[^}]+\}", "alpha", "/admin" + route.path)


async def visitor_404(client: Client) -> bytes:
    response = await client.get("/no-such-page")
    assert response.status == 404
    return await response.read()


async def test_the_route_table_lists_every_staff_url(
    aiohttp_client: AiohttpClient, staff_settings: Settings
) -> None:
    app = create_app(staff_settings)
    served = {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith("/admin")
        and route.method != "HEAD"
    }
    listed = {(route.method, "/admin" + route.path) for route in ROUTES}
    # Besides the table, only the studio's own 404 for any other path under /admin.
    assert served == listed | {("GET", "/admin/{path}")}
    assert len(listed) == len(ROUTES)  # no URL listed twice


async def test_every_staff_url_answers_the_tours_404_page_until_an_account_exists(
    aiohttp_client: AiohttpClient, staff_settings: Settings
) -> None:
    client = await aiohttp_client(create_app(staff_settings))
    page = await visitor_404(client)
    for route in ROUTES:
        response = await client.request(route.method, real_path(route), allow_redirects=False)
        assert response.status == 404, (route.method, route.path)
        assert await response.read() == page, (route.method, route.path)
    assert rows(staff_settings, "SELECT count(*) FROM staff") == [(0,)]


async def test_an_unknown_staff_path_answers_as_it_did_before_the_studio_app(
    aiohttp_client: AiohttpClient, staff_settings: Settings
) -> None:
    client = await staff_client(aiohttp_client, staff_settings, "ana", "admin", lang="en")
    page = await visitor_404(client)
    for path in ("/admin/no-such-room", "/admin/stops/", "/admin/logout"):  # logout: POST only
        response = await client.get(path, allow_redirects=False)
        assert response.status == 404, path
        assert await response.read() == page, path
    # A method no route of the path serves: aiohttp's 405, naming what is allowed.
    response = await client.post("/admin/no-such-room", allow_redirects=False)
    assert response.status == 405
    assert response.headers["Allow"] == "GET,HEAD"
    assert (await client.get("/adminx")).status == 404


async def test_every_url_with_a_role_sends_someone_not_logged_in_to_the_login_form(
    aiohttp_client: AiohttpClient, staff_settings: Settings
) -> None:
    await create_account(staff_settings.db_path, "ana", "admin")
    client = await aiohttp_client(create_app(staff_settings))
    guarded = [route for route in ROUTES if route.role is not ANYONE]
    assert len(guarded) >= 25
    for route in guarded:
        response = await client.request(route.method, real_path(route), allow_redirects=False)
        assert response.status == 303, (route.method, route.path)
        assert response.headers["Location"] == "/admin/login", (route.method, route.path)
    # The two pages open to anyone answer without a session.
    assert {route.path for route in ROUTES if route.role is ANYONE and route.method == "GET"} == {
        "/login",
        "/static/{name}",
    }
    assert (await client.get("/admin/login")).status == 200
    assert (await client.get("/admin/static/admin.css")).status == 200


async def test_an_editor_gets_a_page_naming_the_role_on_every_publisher_and_admin_url(
    aiohttp_client: AiohttpClient, staff_settings: Settings
) -> None:
    client = await staff_client(aiohttp_client, staff_settings, "budi", "editor", lang="en")
    csrf = await page_csrf(client)
    words = staff_words()["en"]
    higher = [route for route in ROUTES if route.role in (PUBLISHER, ADMIN)]
    assert {route.role for route in higher} == {PUBLISHER, ADMIN}
    for route in higher:
        data = {"csrf": csrf} if route.method == "POST" else None
        response = await client.request(
            route.method, real_path(route), data=data, allow_redirects=False
        )
        assert response.status == 403, (route.method, route.path)
        line = words["error_role_needed"].format(
            role=words[f"role_{route.role}"], yours=words["role_editor"]
        )
        assert html.escape(line, quote=False) in await response.text(), route.path
        assert response.headers["Cache-Control"] == "no-store"
    assert rows(staff_settings, "SELECT action FROM audit WHERE who = 'budi'") == []


async def test_a_staff_json_answer_carries_the_staff_headers(
    aiohttp_client: AiohttpClient, staff_settings: Settings
) -> None:
    client = await staff_client(aiohttp_client, staff_settings, "ana", "editor", lang="en")
    response = await client.get("/admin/rebuild/status")
    assert response.status == 200
    assert await response.json() == {"running": False}
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_the_roles_are_those_the_staff_were_told() -> None:
    """Who may do what, written out apart from the table, so a role changed by mistake shows."""
    roles = {(route.method, "/admin" + route.path): route.role for route in ROUTES}
    assert {url for url, role in roles.items() if role == ADMIN} == {
        ("GET", "/admin/accounts"),
        ("POST", "/admin/accounts"),
        ("GET", "/admin/audit"),
    }
    assert {url for url, role in roles.items() if role == PUBLISHER} == {
        ("POST", "/admin/rebuild"),
        ("POST", "/admin/reload"),
        ("POST", "/admin/walk/add"),
        ("POST", "/admin/walk/order"),
        ("POST", "/admin/walk/retire"),
        ("POST", "/admin/stops/{stop}/history"),
        ("POST", "/admin/plaques.pdf"),
    }
    assert {url for url, role in roles.items() if role is ANYONE} == {
        ("GET", "/admin/login"),
        ("POST", "/admin/login"),
        ("POST", "/admin/language"),
        ("GET", "/admin/static/{name}"),
    }
