"""Password checks under a flood: past a few waiting checks a login is refused at once (429)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import pytest

from tour.staff import accounts
from tour.staff.database import StaffDatabase
from tour.staff.words import staff_words
from tour.web import create_app

from .conftest import AiohttpClient
from .staff import Client, create_account, hidden_csrf, log_in, studio_settings

WAITING = 2
FLOOD = 30


@pytest.fixture
async def app_client(aiohttp_client: AiohttpClient, tmp_path: Path) -> Client:
    settings = studio_settings(tmp_path)
    await create_account(settings.db_path, "ana", "admin", lang="en")
    return await aiohttp_client(create_app(settings))


async def test_a_login_flood_is_refused_at_once_past_the_bound_and_a_real_login_then_works(
    app_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(accounts, "LOGIN_CHECKS_WAITING", WAITING)
    seen: list[int] = []
    real_verify = accounts._verify

    def slow_verify(stored: str | None, password: str) -> tuple[bool, bool]:
        # Each check as slow as on a busy server, noting how many checks were taken then.
        seen.append(accounts.login_checks.count)
        time.sleep(0.05)
        return real_verify(stored, password)

    monkeypatch.setattr(accounts, "_verify", slow_verify)
    form = await app_client.get("/admin/login")
    nonce = form.cookies["tour_admin_login"].value
    csrf = hidden_csrf(await form.text())
    assert csrf == nonce
    # A browser per address: no cookie jar, so each keeps the nonce it was given.
    async with aiohttp.ClientSession(
        str(app_client.make_url("/")), cookie_jar=aiohttp.DummyCookieJar()
    ) as flood:

        async def wrong_login(number: int) -> tuple[int, str, float]:
            started = time.monotonic()
            answer = await flood.post(
                "/admin/login",
                data={"csrf": csrf, "user": f"guess{number}", "password": "wrong password"},
                headers={"Cookie": f"tour_admin_login={nonce}", "X-Real-IP": f"10.0.0.{number}"},
            )
            return answer.status, await answer.text(), time.monotonic() - started

        answers = await asyncio.gather(*(wrong_login(number) for number in range(FLOOD)))
    statuses = [status for status, _, _ in answers]
    assert set(statuses) == {401, 429}, statuses
    busy = [(text, took) for status, text, took in answers if status == 429]
    assert len(busy) >= 5, statuses
    line = staff_words()["id"]["login_busy"]
    assert all(line in text for text, _ in busy)
    # Refused without a check: sooner than the checks they were not queued behind.
    assert min(took for _, took in busy) < 0.05 * FLOOD / accounts.HASHING_THREADS
    assert len(seen) == statuses.count(401)
    assert max(seen) <= accounts.HASHING_THREADS + WAITING, seen
    assert accounts.login_checks.count == 0
    # The flood is over: a real login goes through, and the busy answers counted no failure.
    assert (await log_in(app_client, "ana")).status == 303


async def test_a_busy_check_is_refused_before_any_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(accounts, "LOGIN_CHECKS_WAITING", 0)
    monkeypatch.setattr(accounts.login_checks, "count", accounts.HASHING_THREADS)
    async with StaffDatabase(tmp_path / "tour.sqlite3") as db:
        with pytest.raises(accounts.LoginsBusy, match="too many logins are being checked"):
            await accounts.verify_login(db, "ana", "kata sandi panjang 2026")
    assert accounts.login_checks.count == accounts.HASHING_THREADS
