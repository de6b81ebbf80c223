"""Staff pages: the dashboard, rebuilds and reloads, and the login around them.

Accounts, sessions, roles and the staff language have their own tests in test_staff_auth.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from tour.catalog import Problem
from tour.core.model import Tour
from tour.core.settings import Settings
from tour.staff.last_good import check_files
from tour.voice.manifest import audio_dir, build_lock
from tour.voice.speech import TimedAudio
from tour.web import create_app, lifecycle
from tour.web.lifecycle import reload_logging_errors
from tour.web.studio.keys import studio_key
from tour.web.studio.publishing import publish_lock

from .conftest import AiohttpClient
from .staff import PASSWORD, create_account, hidden_csrf, log_in, rows, studio_settings
from .voices import CountingVoice

Client = TestClient[web.Request, web.Application]
STATIC_COPY = "https://static.example"


@pytest.fixture
def admin_settings(small_tour: Path, tmp_path: Path) -> Settings:
    """Studio settings whose scans are written at once and may come from a static copy."""
    return studio_settings(tmp_path, small_tour, scan_flush_s=0.05, scan_origins=(STATIC_COPY,))


@pytest.fixture
async def staff(aiohttp_client: AiohttpClient, admin_settings: Settings) -> Client:
    """A client of the staff pages, not logged in; the account `ana` (admin) exists."""
    await create_account(admin_settings.db_path, "ana", "admin", lang="en")
    client = await aiohttp_client(create_app(admin_settings))
    client.session.cookie_jar.update_cookies({"tour_admin_lang": "en"})  # the login page's
    return client


REVISIONS = "SELECT file, kind, who, content FROM revisions ORDER BY id"


async def dashboard_csrf(client: Client) -> str:
    response = await client.get("/admin")
    assert response.status == 200
    return hidden_csrf(await response.text())


async def test_no_account_means_no_staff_pages(client: Client) -> None:
    for method, path in [("GET", "/admin"), ("GET", "/admin/login"), ("POST", "/admin/login")]:
        response = await client.request(method, path)
        assert response.status == 404, (method, path)


async def test_dashboard_needs_a_login(staff: Client) -> None:
    response = await staff.get("/admin", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/admin/login"
    assert (await staff.get("/admin/scans.csv", allow_redirects=False)).status == 303


async def test_wrong_passwords_and_unknown_names_get_the_same_401(staff: Client) -> None:
    answers = []
    for name, password in [
        ("ana", ""),
        ("ana", "x"),
        ("ana", PASSWORD + "!"),
        ("nobody", PASSWORD),
    ]:
        response = await log_in(staff, name, password)
        assert response.status == 401
        body = await response.text()
        # the form's fresh nonce and the name typed (kept in the form) differ
        answers.append(re.sub(r'value="[^"]*"', "", body))
    assert len(set(answers)) == 1
    assert "The user name or password is incorrect." in answers[0]
    assert PASSWORD not in answers[0]


async def test_login_sets_a_strict_httponly_session(staff: Client) -> None:
    form = await (await staff.get("/admin/login")).text()
    response = await staff.post(
        "/admin/login",
        data={"csrf": hidden_csrf(form), "user": "ana", "password": PASSWORD},
        allow_redirects=False,
    )
    assert response.status == 303
    assert response.headers["Location"] == "/admin"
    cookie = response.cookies["tour_admin"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == "/admin"
    assert not cookie["secure"]  # this tour's public address is http
    assert (await staff.get("/admin")).status == 200


async def test_session_cookie_is_secure_for_an_https_address(
    aiohttp_client: AiohttpClient, admin_settings: Settings
) -> None:
    await create_account(admin_settings.db_path, "ana", "admin")
    client = await aiohttp_client(
        create_app(replace(admin_settings, base_url="https://tour.example"))
    )
    # As behind nginx: the public name arrives in Host (proxy_set_header Host $host).
    public = {"Host": "tour.example"}
    page = await client.get("/admin/login", headers=public)
    assert "Secure" in page.headers["Set-Cookie"]
    nonce = hidden_csrf(await page.text())
    # A client keeps Secure cookies for https only; this test server speaks http.
    response = await client.post(
        "/admin/login",
        data={"csrf": nonce, "user": "ana", "password": PASSWORD},
        headers={"Cookie": f"tour_admin_login={nonce}", **public},
        allow_redirects=False,
    )
    assert response.status == 303
    assert "Secure" in response.headers["Set-Cookie"]


async def test_a_proxy_speaking_https_keeps_the_cookies_secure_whatever_host_it_passes(
    aiohttp_client: AiohttpClient, admin_settings: Settings
) -> None:
    """A proxy that does not pass Host on (Apache's default) still says https."""
    await create_account(admin_settings.db_path, "ana", "admin")
    client = await aiohttp_client(
        create_app(replace(admin_settings, base_url="https://tour.example"))
    )
    proxied = {"Host": "127.0.0.1:8080", "X-Forwarded-Proto": "https"}
    page = await client.get("/admin/login", headers=proxied)
    assert "Secure" in page.headers["Set-Cookie"]


@pytest.mark.parametrize("host", ["127.0.0.1:8080", "localhost:8080", "[::1]:8080"])
async def test_staff_on_this_machine_log_in_over_http_with_an_https_address(
    aiohttp_client: AiohttpClient, admin_settings: Settings, host: str
) -> None:
    """`make run` serves http://127.0.0.1:8080 while tour.toml names the https address."""
    await create_account(admin_settings.db_path, "ana", "admin")
    client = await aiohttp_client(
        create_app(replace(admin_settings, base_url="https://tour.example"))
    )
    page = await client.get("/admin/login", headers={"Host": host})
    assert "Secure" not in page.headers["Set-Cookie"]
    nonce = hidden_csrf(await page.text())
    response = await client.post(
        "/admin/login",
        data={"csrf": nonce, "user": "ana", "password": PASSWORD},
        headers={"Host": host},
        allow_redirects=False,
    )
    assert response.status == 303, await response.text()
    assert "Secure" not in response.headers["Set-Cookie"]
    assert (await client.get("/admin", headers={"Host": host})).status == 200


async def test_login_without_its_csrf_nonce_is_403(staff: Client) -> None:
    response = await staff.post(
        "/admin/login", data={"user": "ana", "password": PASSWORD}, allow_redirects=False
    )
    assert response.status == 403


async def test_failed_logins_are_limited(staff: Client) -> None:
    for _ in range(5):
        assert (await log_in(staff, "ana", "wrong password")).status == 401
    response = await log_in(staff, "ana")  # even the right password waits now
    assert response.status == 429
    assert "Too many wrong attempts. Wait five minutes and try again." in await response.text()


@pytest.mark.parametrize("path", ["/admin/rebuild", "/admin/reload", "/admin/logout"])
async def test_every_post_needs_the_csrf_token(staff: Client, path: str) -> None:
    await log_in(staff, "ana")
    response = await staff.post(path, data={"stop": "all"}, allow_redirects=False)
    assert response.status == 403
    response = await staff.post(path, data={"stop": "all", "csrf": "forged"}, allow_redirects=False)
    assert response.status == 403


async def test_dashboard_shows_scans_chart_and_audio_status(staff: Client) -> None:
    days = {datetime.now(UTC).date()}  # and the day after, should UTC midnight pass meanwhile
    for visitor, path in enumerate(["/s/alpha", "/s/alpha", "/s/beta"]):
        headers = {"Accept-Language": "en", "X-Real-IP": f"192.0.2.{visitor}"}
        assert (await staff.get(path, headers=headers)).status == 200
    await log_in(staff, "ana")
    response = await staff.get("/admin")
    html = await response.text()
    days.add(datetime.now(UTC).date())
    assert response.headers["Cache-Control"] == "no-store"
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    assert "Scans, last 30 days: 3" in html
    assert html.count("<rect ") == 30
    assert any(f"<title>{day}: 3</title>" in html for day in days), days
    assert html.count('class="missing">missing</td>') == 4  # no narration built yet
    assert "No plaque stands out" in html


async def test_csv_export(staff: Client) -> None:
    await staff.get("/s/beta", headers={"Accept-Language": "id"})
    await log_in(staff, "ana")
    response = await staff.get("/admin/scans.csv")
    assert response.headers["Content-Type"].startswith("text/csv")
    lines = (await response.text()).splitlines()
    assert lines[0] == "day,stop,lang,scans"
    assert lines[1].endswith(",beta,id,1")


async def test_rebuild_runs_in_the_background_and_switches_pages(staff: Client) -> None:
    assert "<audio" not in await (await staff.get("/en/alpha")).text()
    await log_in(staff, "ana")
    csrf = await dashboard_csrf(staff)
    response = await staff.post(
        "/admin/rebuild", data={"csrf": csrf, "stop": "all"}, allow_redirects=False
    )
    assert response.status == 303
    status: dict[str, object] = {}
    for _ in range(300):  # bounded wait for the build of four short narrations
        status = await (await staff.get("/admin/rebuild/status")).json()
        if not status["running"]:
            break
        await asyncio.sleep(0.05)
    assert status["running"] is False
    assert status["failed"] is False
    assert status["done"] == status["total"] == 4
    assert "4 built" in str(status["summary"])
    assert "<audio" in await (await staff.get("/en/alpha")).text()
    html = await (await staff.get("/admin")).text()
    assert html.count('class="current">current</td>') == 4


@pytest.mark.parametrize(
    "value",
    ["x'; DROP TABLE scans; --", '" OR 1=1 --', "alpha' --", "../../etc/passwd", "%00"],
)
async def test_sql_metacharacters_do_no_harm(
    staff: Client, admin_settings: Settings, value: str
) -> None:
    await staff.get("/s/alpha")
    await log_in(staff, "ana")
    csrf = await dashboard_csrf(staff)
    response = await staff.post("/admin/rebuild", data={"csrf": csrf, "stop": value})
    assert response.status == 400
    assert "Unknown stop" in await response.text()
    assert (await staff.get(f"/s/{value}")).status == 404
    assert (await staff.get("/admin", params={"stop": value})).status == 200
    headers = {
        "Accept-Language": value,
        "Cookie": f"lang={value}",
        "Referer": value,
        "X-Real-IP": "192.0.2.2",  # a second visitor: the same one would count once
    }
    assert (await staff.get("/s/alpha", headers=headers)).status == 200
    csv = await (await staff.get("/admin/scans.csv")).text()
    assert csv.splitlines()[1].endswith(",alpha,id,2")  # both scans counted, in Indonesian
    with contextlib.closing(sqlite3.connect(admin_settings.db_path)) as connection:
        tables = connection.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
        staff_names = connection.execute("SELECT name FROM staff").fetchall()
    assert sorted(tables) == [
        ("audit",),
        ("drafts",),
        ("revisions",),
        ("scans",),
        ("sessions",),
        ("staff",),
    ]
    assert staff_names == [("ana",)]


async def test_reload_keeps_the_live_tour_on_a_bad_edit(staff: Client, small_tour: Path) -> None:
    await log_in(staff, "ana")
    alpha = small_tour / "alpha.toml"
    alpha.write_text(alpha.read_text("utf-8").replace("lat = 0.95", "lat = 95.0"), "utf-8")
    csrf = await dashboard_csrf(staff)
    response = await staff.post("/admin/reload", data={"csrf": csrf})
    html = await response.text()
    assert "the tour that was live stays live" in html
    assert "alpha.toml:4: location.lat: 95.0 is out of range" in html
    assert (await staff.get("/en/alpha")).status == 200

    alpha.write_text(
        alpha.read_text("utf-8")
        .replace("lat = 95.0", "lat = 0.95")
        .replace("Text about alpha.", "Edited text about alpha."),
        "utf-8",
    )
    response = await staff.post("/admin/reload", data={"csrf": csrf})
    assert "Reloaded at" in await response.text()
    assert "Edited text about alpha." in await (await staff.get("/en/alpha")).text()


async def test_logout_ends_the_session(staff: Client) -> None:
    await log_in(staff, "ana")
    csrf = await dashboard_csrf(staff)
    response = await staff.post("/admin/logout", data={"csrf": csrf}, allow_redirects=False)
    assert response.status == 303
    assert (await staff.get("/admin", allow_redirects=False)).status == 303


async def test_login_limit_is_per_client_behind_the_proxy(staff: Client) -> None:
    async def attempt(name: str, password: str, client: str) -> int:
        form = await (await staff.get("/admin/login")).text()
        response = await staff.post(
            "/admin/login",
            data={"csrf": hidden_csrf(form), "user": name, "password": password},
            headers={"X-Real-IP": client},
            allow_redirects=False,
        )
        return response.status

    # A guesser trying many names (so no one account's limit is reached) ...
    for number in range(5):
        assert await attempt(f"guess{number}", "wrong password", "203.0.113.7") == 401
    assert await attempt("ana", PASSWORD, "203.0.113.7") == 429
    # ... cannot lock the staff out: another client still logs in
    assert await attempt("ana", PASSWORD, "198.51.100.20") == 303
    staff.session.cookie_jar.clear()  # logged out again
    # an IPv6 guesser is locked out by its /64, whichever address in it it picks
    for number in range(5):
        assert await attempt(f"guess{number}", "wrong", f"2001:db8:1:2::{number + 1:x}") == 401
    assert await attempt("ana", PASSWORD, "2001:db8:1:2::ffff") == 429
    assert await attempt("ana", PASSWORD, "2001:db8:1:3::1") == 303


@pytest.mark.parametrize(
    ("method", "path", "data", "headers", "status"),
    [
        ("GET", "/admin", None, {"Cookie": "tour_admin=1.2.é"}, 303),
        (
            "POST",
            "/admin/login",
            {"csrf": "é", "user": "ana", "password": "x"},
            {"Cookie": "tour_admin_login=ü"},
            403,
        ),
        (
            "POST",
            "/api/scan",
            "--x--",
            {"Content-Type": "multipart/form-data", "Origin": STATIC_COPY},
            400,
        ),
        (
            "POST",
            "/api/scan",
            "code=é",
            {"Content-Type": "text/plain; charset=bogus", "Origin": STATIC_COPY},
            400,
        ),
        (
            "POST",
            "/api/scan",
            "a=b",
            {
                "Content-Type": "application/x-www-form-urlencoded; charset=bogus",
                "Origin": STATIC_COPY,
            },
            400,
        ),
    ],
)
async def test_odd_input_is_never_a_500(
    staff: Client,
    method: str,
    path: str,
    data: dict[str, str] | str | None,
    headers: dict[str, str],
    status: int,
) -> None:
    response = await staff.request(method, path, data=data, headers=headers, allow_redirects=False)
    assert response.status == status


async def test_non_ascii_csrf_in_a_session_is_403(staff: Client) -> None:
    await log_in(staff, "ana")
    response = await staff.post("/admin/reload", data={"csrf": "é"}, allow_redirects=False)
    assert response.status == 403


async def test_reload_and_narration_rebuild_never_undo_each_other(
    staff: Client, small_tour: Path
) -> None:
    from tour.web.lifecycle import rebuild_site, reload_site

    alpha = small_tour / "alpha.toml"
    alpha.write_text(alpha.read_text("utf-8").replace("Text about alpha.", "Fresh text."), "utf-8")
    app = staff.app
    assert app is not None
    await asyncio.gather(rebuild_site(app), reload_site(app), rebuild_site(app))
    assert "Fresh text." in await (await staff.get("/en/alpha")).text()


@dataclass
class StuckVoice(CountingVoice):
    """A voice whose first call hangs until released, as a stalled network call does."""

    entered: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    left: threading.Event = field(default_factory=threading.Event)

    def synthesize_sentences(self, sentences: Sequence[str], lang: str) -> TimedAudio:
        self.entered.set()
        self.release.wait(timeout=60)
        self.left.set()
        return super().synthesize_sentences(sentences, lang)


async def test_server_stop_awaits_the_cancelled_rebuild_without_waiting_for_the_voice(
    staff: Client, admin_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    voice = StuckVoice()
    monkeypatch.setattr(
        "tour.web.studio.publishing.choose_voice", lambda engine: (voice, "a stuck voice")
    )
    app = staff.app
    assert app is not None
    jobs = app[studio_key].jobs
    await log_in(staff, "ana")
    csrf = await dashboard_csrf(staff)
    response = await staff.post(
        "/admin/rebuild", data={"csrf": csrf, "stop": "all"}, allow_redirects=False
    )
    assert response.status == 303
    for _ in range(500):  # bounded wait until the build is inside the voice
        if voice.entered.is_set():
            break
        await asyncio.sleep(0.01)
    assert voice.entered.is_set()
    try:
        await staff.close()  # the app's cleanup cancels the rebuild and waits for it
        assert jobs.build_task is not None
        assert jobs.build_task.done()
        assert jobs.build is not None
        assert jobs.build.finished
        assert jobs.build.summary == "the build was stopped; the narration built so far is kept"
        assert not voice.left.is_set()  # the event loop never waited on the voice's thread
        with build_lock(audio_dir(admin_settings.media_dir)):
            pass  # the build lock is free again: this would raise otherwise
    finally:
        voice.release.set()
        assert voice.left.wait(timeout=60)


async def test_a_reload_that_fails_unexpectedly_says_so_and_the_next_one_works(
    staff: Client, small_tour: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Path] = []

    def fails_once(stops_dir: Path) -> tuple[Tour | None, list[Problem], dict[str, str]]:
        calls.append(stops_dir)
        if len(calls) == 1:
            raise RuntimeError("a fault while reloading")
        return check_files(stops_dir)

    monkeypatch.setattr("tour.web.lifecycle.check_files", fails_once)
    await log_in(staff, "ana")
    csrf = await dashboard_csrf(staff)
    response = await staff.post("/admin/reload", data={"csrf": csrf})
    assert response.status == 200
    assert (
        "The reload failed (a fault while reloading); the tour that was live stays live."
        in await response.text()
    )
    response = await staff.post("/admin/reload", data={"csrf": csrf})
    assert "Reloaded at" in await response.text()


def tour_file_names(stops_dir: Path) -> list[str]:
    return sorted(path.name for path in stops_dir.glob("*.toml"))


async def test_a_reload_keeps_hand_edits_in_the_history(
    staff: Client, small_tour: Path, admin_settings: Settings
) -> None:
    await log_in(staff, "ana")
    csrf = await dashboard_csrf(staff)
    assert (await staff.post("/admin/reload", data={"csrf": csrf})).status == 200
    found = {
        (row[0], row[1])
        for row in rows(
            admin_settings, "SELECT file, kind, who, content FROM revisions ORDER BY id"
        )
    }
    names = tour_file_names(small_tour)
    assert found == {(name, "found") for name in names}
    alpha = small_tour / "alpha.toml"
    edited = alpha.read_text("utf-8").replace("Text about alpha.", "Edited by hand.")
    alpha.write_text(edited, "utf-8")
    assert (await staff.post("/admin/reload", data={"csrf": csrf})).status == 200
    assert rows(admin_settings, REVISIONS)[len(names) :] == [
        ("alpha.toml", "hand-edit", "", edited)
    ]
    # A refused reload keeps nothing: the edit is not live.
    alpha.write_text(edited.replace("lat = 0.95", "lat = 95.0"), "utf-8")
    assert (await staff.post("/admin/reload", data={"csrf": csrf})).status == 200
    assert len(rows(admin_settings, REVISIONS)) == len(names) + 1
    # SIGHUP keeps them too.
    fixed = edited.replace("Edited by hand.", "Edited again, then kill -HUP.")
    alpha.write_text(fixed, "utf-8")
    assert staff.app is not None
    await reload_logging_errors(staff.app)
    assert rows(admin_settings, REVISIONS)[-1] == ("alpha.toml", "hand-edit", "", fixed)


async def test_reloads_wait_for_a_publish_in_progress(
    staff: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    await log_in(staff, "ana")
    csrf = await dashboard_csrf(staff)
    app = staff.app
    assert app is not None
    lock_held: list[bool] = []

    def checked_under_the_lock(
        stops_dir: Path,
    ) -> tuple[Tour | None, list[Problem], dict[str, str]]:
        lock_held.append(publish_lock(app).locked())
        return check_files(stops_dir)

    monkeypatch.setattr(lifecycle, "check_files", checked_under_the_lock)
    assert (await staff.post("/admin/reload", data={"csrf": csrf})).status == 200
    await reload_logging_errors(app)  # what SIGHUP runs
    assert lock_held == [True, True]
