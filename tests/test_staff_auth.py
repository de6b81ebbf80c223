"""Staff accounts: the `tour staff` command, login and sessions, CSRF, roles, language, audit."""

from __future__ import annotations

import asyncio
import io
import re
import threading
import time
import tomllib
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from argon2 import PasswordHasher

from tour.cli import main
from tour.core.errors import SettingsError
from tour.core.settings import Settings
from tour.staff import accounts
from tour.staff.database import StaffDatabase
from tour.staff.dates import format_moment
from tour.staff.words import STAFF_LANGUAGES, load_words, word_files
from tour.web import create_app

from .conftest import AiohttpClient
from .staff import (
    PASSWORD,
    create_account,
    hidden_csrf,
    log_in,
    page_csrf,
    rows,
    staff_client,
)

Client = TestClient[web.Request, web.Application]
JAKARTA = ZoneInfo("Asia/Jakarta")


def staff_cli(
    db_path: Path, *args: str, stdin: str = "", capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sys.stdin", io.StringIO(stdin))
        code = main(["--db", str(db_path), "staff", *args])
    out, err = capsys.readouterr()
    return code, out, err


# --- the command line -----------------------------------------------------------------------


def test_staff_command_adds_lists_and_refuses_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "tour.sqlite3"
    assert staff_cli(db, "add", "ana", "--role", "admin", stdin=PASSWORD + "\n", capsys=capsys) == (
        0,
        "added ana (admin)\n",
        "",
    )
    refusals = [
        (
            ("add", "Ana/x", "--role", "editor"),
            PASSWORD,
            "tour: name 'Ana/x' is not allowed: "
            "use 1-32 characters from a-z, 0-9, '.', '_' and '-'\n",
        ),
        (
            ("add", "budi", "--role", "editor"),
            "short",
            "tour: the password has 5 characters; use at least 10\n",
        ),
        (
            ("add", "ana", "--role", "editor"),
            PASSWORD,
            "tour: an account named 'ana' exists already; choose another name\n",
        ),
        (
            ("add", "budi", "--role", "editor"),
            "",
            "tour: no password on standard input; give it as one line\n",
        ),
        (
            ("remove", "ana"),
            "",
            "tour: 'ana' is the last admin and cannot be removed; add another admin first\n",
        ),
        (
            ("passwd", "nobody"),
            PASSWORD,
            "tour: there is no account named 'nobody'; 'tour staff list' shows them\n",
        ),
    ]
    for args, password, error in refusals:
        stdin = password + "\n" if password else ""
        assert staff_cli(db, *args, stdin=stdin, capsys=capsys) == (1, "", error), args
    assert (
        staff_cli(db, "add", "budi", "--role", "editor", stdin="panjang sekali\n", capsys=capsys)[0]
        == 0
    )
    created = {name: float(at) for name, at in rows(db, "SELECT name, created FROM staff")}  # type: ignore[arg-type]
    code, out, _ = staff_cli(db, "list", capsys=capsys)
    assert code == 0
    assert out == (
        f"ana   admin      id  {format_moment(created['ana'], JAKARTA, 'en')}\n"
        f"budi  editor     id  {format_moment(created['budi'], JAKARTA, 'en')}\n"
    )
    assert out.splitlines()[0].endswith(" WIB")
    assert rows(db, "SELECT who, action, detail FROM audit ORDER BY id") == [
        ("tour staff", "account-add", "ana (admin)"),
        ("tour staff", "account-add", "budi (editor)"),
    ]
    assert staff_cli(db, "remove", "budi", capsys=capsys)[:2] == (
        0,
        "removed budi; their sessions have ended\n",
    )
    assert rows(db, "SELECT name FROM staff") == [("ana",)]


@pytest.mark.production_hashing
async def test_stdin_password_is_the_whole_line(
    aiohttp_client: AiohttpClient, staff_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    db = staff_settings.db_path
    added = await asyncio.to_thread(
        staff_cli,
        db,
        "add",
        "ana",
        "--role",
        "admin",
        stdin="  spaces count too  \nnext\n",
        capsys=capsys,
    )
    assert added == (0, "added ana (admin)\n", "")
    client = await aiohttp_client(create_app(staff_settings))
    assert (await log_in(client, "ana", "spaces count too")).status == 401
    assert (await log_in(client, "ana", "  spaces count too  ")).status == 303
    assert (await client.post("/admin/logout", data={"csrf": await page_csrf(client)})).ok
    changed = await asyncio.to_thread(
        staff_cli, db, "passwd", "ana", stdin="a new password\n", capsys=capsys
    )
    assert changed[0] == 0
    stored = str(rows(db, "SELECT password_hash FROM staff")[0][0])
    assert stored.startswith("$argon2id$")
    # Made at the real cost (the other tests hash cheaply), so no rehash is due.
    assert not PasswordHasher().check_needs_rehash(stored)
    assert rows(db, "SELECT action FROM audit ORDER BY id")[-1] == ("account-password",)
    assert (await log_in(client, "ana", "  spaces count too  ")).status == 401
    assert (await log_in(client, "ana", "a new password")).status == 303


def test_a_bad_time_zone_is_one_line() -> None:
    with pytest.raises(
        SettingsError,
        match=r"^TOUR_TIME_ZONE: 'Asia/Atlantis' is not a time "
        r"zone; use an IANA name such as Asia/Jakarta$",
    ):
        Settings.from_env({"TOUR_TIME_ZONE": "Asia/Atlantis"})
    assert Settings.from_env({}).time_zone == "Asia/Jakarta"


# --- dates and words ------------------------------------------------------------------------


def test_format_moment_writes_dates_as_people_there_do() -> None:
    at = datetime(2026, 11, 28, 20, 15, tzinfo=JAKARTA).timestamp()
    assert format_moment(at, JAKARTA, "id") == "28 Nov 2026 20.15 WIB"
    assert format_moment(at, JAKARTA, "en") == "28 Nov 2026 20:15 WIB"
    august = datetime(2026, 8, 5, 7, 3, tzinfo=JAKARTA).timestamp()
    assert format_moment(august, JAKARTA, "id") == "5 Agu 2026 07.03 WIB"
    assert format_moment(august, JAKARTA, "en") == "5 Aug 2026 07:03 WIB"
    assert format_moment(august, ZoneInfo("Asia/Makassar"), "id") == "5 Agu 2026 08.03 WITA"


def test_every_words_file_has_the_same_keys_in_both_languages() -> None:
    assert word_files()
    for path in word_files():
        tables = tomllib.loads(path.read_text("utf-8"))
        assert sorted(tables) == sorted(STAFF_LANGUAGES), path.name
        assert set(tables["id"]) == set(tables["en"]), path.name
    merged = load_words(word_files())
    assert set(merged["id"]) == set(merged["en"])


def test_words_files_refuse_a_missing_or_doubled_key(tmp_path: Path) -> None:
    one = tmp_path / "one.toml"
    one.write_text('[id]\nsave = "Simpan"\n[en]\nsave = "Save"\n', "utf-8")
    two = tmp_path / "two.toml"
    two.write_text('[id]\nsave = "Simpan"\n[en]\nsave = "Save"\n', "utf-8")
    with pytest.raises(ValueError, match=r"^two\.toml: 'save' is defined in one\.toml too$"):
        load_words([one, two])
    two.write_text('[id]\nopen = "Buka"\n[en]\n', "utf-8")
    with pytest.raises(ValueError, match=r"^two.toml: \[en\] differs in keys open$"):
        load_words([one, two])


# --- the web pages --------------------------------------------------------------------------


async def test_pages_are_off_until_an_account_exists_then_on_without_restart(
    aiohttp_client: AiohttpClient, staff_settings: Settings
) -> None:
    client = await aiohttp_client(create_app(staff_settings))
    for path in ("/admin", "/admin/", "/admin/login", "/admin/static/admin.css"):
        assert (await client.get(path, allow_redirects=False)).status == 404, path
    assert (await client.post("/admin/login", data={"user": "x"})).status == 404
    await create_account(staff_settings.db_path, "ana", "admin")  # as `tour staff add` does
    for path in ("/admin", "/admin/"):
        response = await client.get(path, allow_redirects=False)
        assert response.status == 303, path
        assert response.headers["Location"] == "/admin/login"
    page = await client.get("/admin/login")
    assert page.status == 200
    assert '<input id="user" name="user"' in await page.text()


async def test_logout_passwd_and_remove_end_sessions_at_once(
    aiohttp_client: AiohttpClient, staff_settings: Settings
) -> None:
    admin = await staff_client(aiohttp_client, staff_settings, "ana", "admin", lang="en")
    await create_account(staff_settings.db_path, "budi", "editor")
    editor = await aiohttp_client(create_app(staff_settings))

    async def copied_cookie_works(client: Client, cookie: str) -> bool:
        response = await client.get(
            "/admin", headers={"Cookie": f"tour_admin={cookie}"}, allow_redirects=False
        )
        if response.status == 303:
            assert response.headers["Location"] == "/admin/login"
            return False
        assert response.status == 200
        return True

    async def budi_session() -> str:
        editor.session.cookie_jar.clear()
        assert (await log_in(editor, "budi")).status == 303
        return next(c.value for c in editor.session.cookie_jar if c.key == "tour_admin")

    fresh = aiohttp_client  # a client with no cookies of its own, to replay copies
    replay = await fresh(create_app(staff_settings))
    cookie = await budi_session()
    assert await copied_cookie_works(replay, cookie)
    csrf = await page_csrf(editor)
    assert (
        await editor.post("/admin/logout", data={"csrf": csrf}, allow_redirects=False)
    ).status == 303
    assert not await copied_cookie_works(replay, cookie)

    cookie = await budi_session()
    csrf = await page_csrf(admin, "/admin/accounts")
    response = await admin.post(
        "/admin/accounts",
        data={"csrf": csrf, "action": "password", "name": "budi", "password": "another password"},
        allow_redirects=False,
    )
    assert response.status == 303
    assert not await copied_cookie_works(replay, cookie)
    assert (await log_in(editor, "budi")).status == 401  # the old password is gone
    assert (await log_in(editor, "budi", "another password")).status == 303

    cookie = next(c.value for c in editor.session.cookie_jar if c.key == "tour_admin")
    response = await admin.post(
        "/admin/accounts",
        data={"csrf": csrf, "action": "remove", "name": "budi"},
        allow_redirects=False,
    )
    assert response.status == 303
    assert not await copied_cookie_works(replay, cookie)
    assert rows(staff_settings.db_path, "SELECT name FROM sessions") == [("ana",)]


async def test_every_staff_post_refuses_a_missing_or_forged_csrf(
    aiohttp_client: AiohttpClient, staff_settings: Settings
) -> None:
    client = await staff_client(aiohttp_client, staff_settings, "ana", "admin", lang="en")
    app = client.app
    assert app is not None
    posts = sorted(
        {
            route.resource.canonical
            for route in app.router.routes()
            if route.method == "POST"
            and route.resource is not None
            and route.resource.canonical.startswith("/admin")
        }
    )
    assert {"/admin/login", "/admin/logout", "/admin/language", "/admin/accounts"} <= set(posts)
    for route_path in posts:
        # A route with a stop in it is posted for a real stop of the tour.
        path = re.sub(r"\{[^}]*\}", "alpha", route_path)
        for form in ({}, {"csrf": "forged"}, {"csrf": "é"}):
            data = {**form, "action": "add", "name": "eve", "role": "admin", "lang": "en"}
            response = await client.post(path, data=data, allow_redirects=False)
            assert response.status == 403, (path, form)
    assert rows(staff_settings.db_path, "SELECT name FROM staff") == [("ana",)]
    assert (await client.get("/admin")).status == 200  # still logged in


async def test_failed_logins_are_limited_per_account_from_any_client(
    aiohttp_client: AiohttpClient, staff_settings: Settings
) -> None:
    await create_account(staff_settings.db_path, "ana", "admin")
    await create_account(staff_settings.db_path, "budi", "editor")
    client = await aiohttp_client(create_app(staff_settings))
    client.session.cookie_jar.update_cookies({"tour_admin_lang": "en"})

    async def attempt(name: str, password: str, address: str) -> tuple[int, str]:
        form = await (await client.get("/admin/login")).text()
        response = await client.post(
            "/admin/login",
            data={"csrf": hidden_csrf(form), "user": name, "password": password},
            headers={"X-Real-IP": address},
            allow_redirects=False,
        )
        return response.status, await response.text()

    for number in range(5):  # a guesser spread over five addresses
        assert (await attempt("ana", "wrong password", f"192.0.2.{number}"))[0] == 401
    status, body = await attempt("ANA", PASSWORD, "198.51.100.9")  # names count lower-cased
    assert status == 429
    assert "Too many wrong attempts. Wait five minutes and try again." in body
    assert (await attempt("budi", PASSWORD, "198.51.100.9"))[0] == 303  # others log in


async def test_guesses_sent_at_once_are_limited_too(
    aiohttp_client: AiohttpClient, staff_settings: Settings
) -> None:
    await create_account(staff_settings.db_path, "ana", "admin")
    client = await aiohttp_client(create_app(staff_settings))
    csrf = hidden_csrf(await (await client.get("/admin/login")).text())

    async def attempt(number: int) -> int:
        response = await client.post(
            "/admin/login",
            data={"csrf": csrf, "user": "ana", "password": f"wrong guess {number}"},
            allow_redirects=False,
        )
        return response.status

    statuses = await asyncio.gather(*(attempt(number) for number in range(40)))
    # Only FAILED_LOGIN_LIMIT passwords are checked in the window; the rest wait.
    assert sorted(statuses) == [401] * 5 + [429] * 35
    assert (await log_in(client, "ana")).status == 429


async def test_right_passwords_do_not_count_as_failures(
    aiohttp_client: AiohttpClient, staff_settings: Settings
) -> None:
    await create_account(staff_settings.db_path, "ana", "admin")
    client = await aiohttp_client(create_app(staff_settings))
    for _ in range(4):
        assert (await log_in(client, "ana", "wrong password")).status == 401
    for _ in range(3):  # the office logs in again and again: never locked out by that
        assert (await log_in(client, "ana")).status == 303
        assert (await client.post("/admin/logout", data={"csrf": await page_csrf(client)})).ok
    assert (await log_in(client, "ana", "wrong password")).status == 401
    assert (await log_in(client, "ana")).status == 429  # the fifth wrong one used the window


async def test_password_checks_run_two_at_a_time_in_their_own_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    running: list[str] = []
    threads: set[str] = set()
    most = 0
    guard = threading.Lock()
    real_verify = accounts._verify

    def watched_verify(stored: str | None, password: str) -> tuple[bool, bool]:
        nonlocal most
        name = threading.current_thread().name
        with guard:
            running.append(name)
            threads.add(name)
            most = max(most, len(running))
        try:
            time.sleep(0.05)  # so that checks sent at once would overlap if they could
            return real_verify(stored, password)
        finally:
            with guard:
                running.remove(name)

    monkeypatch.setattr(accounts, "_verify", watched_verify)
    async with StaffDatabase(tmp_path / "tour.sqlite3") as db:
        await accounts.add_account(db, "ana", "admin", PASSWORD, who="tour staff")
        guesses = (accounts.verify_login(db, "ana", f"wrong guess {n}") for n in range(8))
        assert await asyncio.gather(*guesses) == [None] * 8
        assert await accounts.verify_login(db, "ana", PASSWORD) is not None
    # Not the default pool, which serves visitors' files: a flood of logins waits its turn.
    assert threads
    assert all(name.startswith("password-hash") for name in threads), threads
    assert most <= accounts.HASHING_THREADS == 2


async def test_an_editor_may_not_manage_accounts_or_rebuild(
    aiohttp_client: AiohttpClient, staff_settings: Settings
) -> None:
    await create_account(staff_settings.db_path, "ana", "admin")
    editor = await staff_client(aiohttp_client, staff_settings, "budi", "editor", lang="en")
    for path in ("/admin/accounts", "/admin/audit"):
        response = await editor.get(path)
        assert response.status == 403
        assert "This page or action needs the admin role; yours is editor." in await response.text()
    csrf = await page_csrf(editor)
    dashboard = await (await editor.get("/admin")).text()
    assert 'action="/admin/rebuild"' not in dashboard
    assert 'href="/admin/accounts"' not in dashboard
    for path in ("/admin/rebuild", "/admin/reload"):
        response = await editor.post(path, data={"csrf": csrf, "stop": "all"})
        assert response.status == 403
        assert "needs the publisher role; yours is editor" in await response.text()
    assert rows(staff_settings.db_path, "SELECT action FROM audit") == [
        ("account-add",),
        ("account-add",),
    ]


async def test_the_language_switch_changes_the_words(
    aiohttp_client: AiohttpClient, staff_settings: Settings
) -> None:
    await create_account(staff_settings.db_path, "ana", "admin")
    client = await aiohttp_client(create_app(staff_settings))
    login = await (await client.get("/admin/login")).text()
    assert '<html lang="id">' in login
    assert "Kata sandi" in login
    response = await client.post(
        "/admin/language", data={"csrf": hidden_csrf(login), "lang": "en"}, allow_redirects=False
    )
    assert response.status == 303
    login = await (await client.get("/admin/login")).text()
    assert "Password" in login
    assert "Kata sandi" not in login
    assert (await log_in(client, "ana")).status == 303
    page = await (await client.get("/admin")).text()
    assert "Keluar" in page  # ana's own choice is Indonesian, whatever the login page spoke
    response = await client.post(
        "/admin/language", data={"csrf": hidden_csrf(page), "lang": "en"}, allow_redirects=False
    )
    assert response.status == 303
    page = await (await client.get("/admin")).text()
    assert "Log out" in page
    assert "Keluar" not in page
    assert rows(staff_settings.db_path, "SELECT lang FROM staff") == [("en",)]
    response = await client.post("/admin/language", data={"csrf": hidden_csrf(page), "lang": "fr"})
    assert response.status == 400


async def test_account_changes_from_the_browser_are_audited(
    aiohttp_client: AiohttpClient, staff_settings: Settings
) -> None:
    admin = await staff_client(aiohttp_client, staff_settings, "ana", "admin", lang="en")
    csrf = await page_csrf(admin, "/admin/accounts")

    async def change(**fields: str) -> tuple[int, str]:
        response = await admin.post("/admin/accounts", data={"csrf": csrf, **fields})
        return response.status, await response.text()

    assert (await change(action="add", name="budi", role="editor", password=PASSWORD))[0] == 200
    assert (await change(action="role", name="budi", role="publisher"))[0] == 200
    assert (await change(action="password", name="budi", password="a new password"))[0] == 200
    status, page = await change(action="add", name="budi", role="admin", password=PASSWORD)
    assert status == 400
    assert "An account named &#39;budi&#39; exists already; choose another name." in page
    assert 'value="budi"' in page  # what was typed stays, except the password
    assert PASSWORD not in page
    status, page = await change(action="role", name="ana", role="editor")
    assert status == 400
    assert "&#39;ana&#39; is the last admin; make another account admin first." in page
    assert (await change(action="remove", name="budi"))[0] == 200
    assert rows(staff_settings.db_path, "SELECT who, action, detail FROM audit ORDER BY id") == [
        ("tour staff", "account-add", "ana (admin)"),
        ("ana", "account-add", "budi (editor)"),
        ("ana", "account-role", "budi: editor → publisher"),
        ("ana", "account-password", "budi"),
        ("ana", "account-remove", "budi (publisher)"),
    ]
    audit = await (await admin.get("/admin/audit")).text()
    assert audit.index("account-remove") < audit.index("account-role")  # newest first
    at = float(rows(staff_settings.db_path, "SELECT max(at) FROM audit")[0][0])  # type: ignore[arg-type]
    assert format_moment(at, JAKARTA, "en") in audit


async def test_staff_pages_allow_only_their_own_scripts_and_styles(
    aiohttp_client: AiohttpClient, staff_settings: Settings
) -> None:
    client = await staff_client(aiohttp_client, staff_settings, "ana", "admin", lang="en")
    page = await client.get("/admin")
    assert page.headers["Content-Security-Policy"] == (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "media-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
        "base-uri 'none'"
    )
    assert page.headers["Cache-Control"] == "no-store"
    html = await page.text()
    assert "<style" not in html
    assert '<script src="/admin/static/admin.js"></script>' in html
    script = await client.get("/admin/static/admin.js")
    assert script.headers["Content-Type"].startswith("text/javascript")
    assert script.headers["Cache-Control"] == "no-cache"
    assert "/admin/rebuild/status" in await script.text()
    again = await client.get(
        "/admin/static/admin.js", headers={"If-None-Match": script.headers["ETag"]}
    )
    assert again.status == 304
    for name in ("base.html", "..%2Fpage.css", "login.html"):
        assert (await client.get(f"/admin/static/{name}")).status == 404, name


async def test_account_refusals_speak_the_admins_language(
    aiohttp_client: AiohttpClient, staff_settings: Settings
) -> None:
    admin = await staff_client(aiohttp_client, staff_settings, "ana", "admin", lang="id")
    csrf = await page_csrf(admin, "/admin/accounts")
    response = await admin.post(
        "/admin/accounts",
        data={
            "csrf": csrf,
            "action": "add",
            "name": "budi",
            "role": "editor",
            "password": "pendek",
        },
    )
    assert response.status == 400
    page = await response.text()
    assert "Kata sandi ini hanya 6 karakter. Gunakan minimal 10 karakter." in page
    assert 'value="budi"' in page
    assert rows(staff_settings.db_path, "SELECT name FROM staff") == [("ana",)]
