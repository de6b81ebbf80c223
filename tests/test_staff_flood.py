"""A megabyte in any field of any staff form: a clear answer at once, and the service stays up.

While the forms are posted, another task asks /healthz every 50 ms on the same event
loop as the server: any work that holds the loop shows as a slow health answer.
"""

from __future__ import annotations

import asyncio
import html
import io
import re
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient

from tour.core.settings import Settings
from tour.staff.database import StaffDatabase
from tour.staff.editing import file_hash
from tour.staff.limits import field_limit
from tour.staff.revisions import save_draft
from tour.staff.words import staff_words
from tour.web.studio.auth import LANGUAGE_COOKIE

from . import staff
from .conftest import AiohttpClient
from .test_studio_pages import form_values

Client = TestClient[web.Request, web.Application]
STOP = "masjid-raya"
BODY_CAP = 1024 * 1024
"""aiohttp's client_max_size: a staff form over it is refused before it is read."""
OVER_CAP = BODY_CAP + 1
FITS = BODY_CAP - 8 * 1024
"""A value that leaves room for the form's other fields under the body cap."""
HEALTH_EVERY_S = 0.05
HEALTH_MOST_S = 0.2
POST_MOST_S = 1.0


@dataclass
class Heartbeat:
    """/healthz asked every 50 ms while the test runs; the slowest answers."""

    client: Client
    slowest: float = 0.0
    answers: int = 0
    failures: list[int] = field(default_factory=list)

    async def run(self) -> None:
        while True:
            started = time.perf_counter()
            response = await self.client.get("/healthz")
            await response.read()
            self.slowest = max(self.slowest, time.perf_counter() - started)
            self.answers += 1
            if response.status != 200:
                self.failures.append(response.status)
            await asyncio.sleep(HEALTH_EVERY_S)


@pytest.fixture(params=["id", "en"])
def lang(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return staff.studio_settings(tmp_path)


@pytest.fixture
async def admin(aiohttp_client: AiohttpClient, settings: Settings, lang: str) -> Client:
    """An admin (so every form, accounts too, is theirs to post) speaking `lang`."""
    return await staff.staff_client(aiohttp_client, settings, "adi", "admin", lang=lang)


@pytest.fixture
async def heartbeat(admin: Client) -> AsyncIterator[Heartbeat]:
    beat = Heartbeat(admin)
    task = asyncio.create_task(beat.run())
    yield beat
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert beat.answers > 0
    assert beat.failures == []
    assert beat.slowest <= HEALTH_MOST_S, f"/healthz took {beat.slowest:.3f} s"


async def post(client: Client, path: str, fields: Mapping[str, str]) -> tuple[ClientResponse, str]:
    """Post a form as a browser does, timed; a stream, as aiohttp warns about big raw bodies."""
    body = io.BytesIO(urlencode(fields).encode("ascii"))
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    started = time.perf_counter()
    response = await client.post(path, data=body, headers=headers, allow_redirects=False)
    text = await response.text()
    took = time.perf_counter() - started
    assert took <= POST_MOST_S, f"{path} took {took:.3f} s"
    return response, text


def alert_of(page: str) -> str:
    """The page's one alert line, as the person reads it."""
    found = re.search(r'<p class="alert" role="alert">(.*?)</p>', page, re.S)
    assert found, page[:2000]
    return html.unescape(found[1])


async def staff_forms(client: Client) -> dict[str, dict[str, str]]:
    """Every staff form, by the path it posts to, with the fields a browser sends."""
    csrf = await staff.page_csrf(client)
    stop_page = await (await client.get(f"/admin/stops/{STOP}")).text()
    stop_form = form_values(stop_page) | {"note": "", "csrf": csrf}
    walk = await (await client.get("/admin/walk")).text()
    base = re.search(r'name="base" value="([0-9a-f]*)"', walk)
    assert base, walk[:2000]
    walk_base = {"csrf": csrf, "base": base[1]}
    return {
        f"/admin/stops/{STOP}": stop_form | {"action": "save"},
        f"/admin/stops/{STOP}#publish": stop_form | {"action": "publish"},
        f"/admin/stops/{STOP}/check": stop_form,
        f"/admin/stops/{STOP}/listen": {"csrf": csrf, "lang": "all"},
        f"/admin/stops/{STOP}/history": {"csrf": csrf, "revision": "1", "note": "", "base": ""},
        "/admin/walk/add": {"csrf": csrf, "file": "rumah-baru", "code": "baru"},
        "/admin/walk/order": walk_base | {"stop": STOP, "action": "up"},
        "/admin/walk/retire": walk_base
        | {"stop": STOP, "mode": "moved", "moved_to": "jetty", "action": ""},
        "/admin/accounts": {
            "csrf": csrf,
            "action": "add",
            "name": "baru",
            "role": "editor",
            "password": "kata sandi baru 2026",
        },
        "/admin/language": {"csrf": csrf, "lang": "en"},
        "/admin/plaques.pdf": {"csrf": csrf, "stop": STOP, "size": "a6"},
        "/admin/rebuild": {"csrf": csrf, "stop": STOP},
        "/admin/reload": {"csrf": csrf},
    }


async def login_form(client: Client, lang: str) -> dict[str, str]:
    """The login form of someone who chose `lang` on the login page (a cookie)."""
    client.session.cookie_jar.update_cookies({LANGUAGE_COOKIE: lang}, client.make_url("/admin"))
    page = await (await client.get("/admin/login")).text()
    return {"csrf": staff.hidden_csrf(page), "user": "adi", "password": staff.PASSWORD}


async def test_a_megabyte_in_any_field_of_any_staff_form_is_refused_at_once(
    admin: Client, heartbeat: Heartbeat, lang: str
) -> None:
    words = staff_words()[lang]
    forms = await staff_forms(admin)
    forms["/admin/login"] = await login_form(admin, lang)
    posted = 0
    for target, fields in forms.items():
        path = target.partition("#")[0]
        # One form over the body cap: refused before it is read, in the person's language.
        first = next(iter(fields))
        response, page = await post(admin, path, fields | {first: "a" * OVER_CAP})
        assert response.status == 413, (target, page[:2000])
        assert alert_of(page) == words["error_form_too_large"]
        # Every field at the largest size that is read: its limit is named, not its value.
        for name in fields:
            response, page = await post(admin, path, fields | {name: "a" * FITS})
            assert response.status == 400, (target, name, page[:2000])
            line = words["error_field_too_long"].format(
                field=name, length=FITS, limit=field_limit(name)
            )
            assert alert_of(page) == line
            assert "a" * 200 not in page
            posted += 1
    assert posted > 40
    # The session and the forms still work: nothing was changed, nobody was logged out.
    assert (await admin.get("/admin/stops")).status == 200
    assert (await admin.get("/admin/accounts")).status == 200


async def test_a_field_just_over_its_limit_names_the_field_and_the_limit(
    admin: Client, lang: str
) -> None:
    forms = await staff_forms(admin)
    fields = forms[f"/admin/stops/{STOP}/check"]
    typed = "x" * 101
    response = await admin.post(f"/admin/stops/{STOP}/check", data=fields | {"code": typed})
    page = await response.text()
    assert response.status == 400
    assert typed not in page
    line = staff_words()[lang]["error_field_too_long"]
    assert alert_of(page) == line.format(field="code", length=101, limit=100)
    # At the limit the form is checked as before: the code's own problem, as JSON.
    response = await admin.post(f"/admin/stops/{STOP}/check", data=fields | {"code": "x" * 100})
    assert response.status == 200
    problems = await response.json()
    assert len(problems["code"]) == 1
    assert "x" * 61 not in problems["code"][0]


async def test_a_huge_code_in_a_saved_draft_does_not_slow_the_stop_list(
    admin: Client, settings: Settings
) -> None:
    text = (settings.stops_dir / f"{STOP}.toml").read_text(encoding="utf-8")
    huge = "k" * 20_000
    drafted = re.sub(r'(?m)^code = "[^"]*"', f'code = "{huge}"', text, count=1)
    assert huge in drafted
    async with StaffDatabase(settings.db_path) as db:
        await save_draft(db, STOP, drafted, file_hash(text), "adi")
    for _ in range(3):
        started = time.perf_counter()
        response = await admin.get("/admin/stops")
        page = await response.text()
        took = time.perf_counter() - started
        assert response.status == 200, page[:2000]
        assert took <= POST_MOST_S, f"/admin/stops took {took:.3f} s"
    assert huge[:100] not in page
    row = page[page.index(f'id="stop-{STOP}"') :]
    row = row[: row.index("</tr>")]
    assert "k" * 60 + "…" in html.unescape(row)
