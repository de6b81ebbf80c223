"""One visit, one scan: de-duplication by hashed client and stop, in bounded memory."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from unittest import mock

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, make_mocked_request

from tour.core.settings import Settings
from tour.web import create_app
from tour.web.common.clients import RateLimit, client_address, limit_key
from tour.web.visitor.keys import visits_key
from tour.web.visitor.views import BEACONS_PER_CLIENT, NEW_VISITS_PER_CLIENT
from tour.web.visitor.visits import MAX_RECENT_VISITS, VISIT_WINDOW_S, VisitLog

from .conftest import AiohttpClient

Client = TestClient[web.Request, web.Application]
PHONE = "Mozilla/5.0 (Linux; Android 14) Mobile"
STATIC_COPY = "https://static.example"


class Clock:
    """A wall clock and a monotonic clock that tests move by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start.timestamp()
        self.elapsed = 1000.0

    def __call__(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.elapsed

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.elapsed += seconds

    def step_wall_clock(self, seconds: float) -> None:
        """Set the wall clock, as NTP does, while no time passes."""
        self.now += seconds


def noon() -> Clock:
    return Clock(datetime(2026, 11, 28, 12, 0, tzinfo=UTC))


def visit_log(clock: Clock, max_recent: int = MAX_RECENT_VISITS) -> VisitLog:
    return VisitLog(max_recent=max_recent, clock=clock, monotonic=clock.monotonic)


def counted(settings: Settings) -> list[tuple[str, str, int]]:
    with contextlib.closing(sqlite3.connect(settings.db_path)) as connection:
        return connection.execute(
            "SELECT stop, lang, SUM(count) FROM scans GROUP BY stop, lang ORDER BY stop, lang"
        ).fetchall()


# --- the visit log on its own -------------------------------------------------------------


def test_the_same_client_and_stop_count_once_within_half_an_hour() -> None:
    clock = noon()
    visits = visit_log(clock)
    assert visits.is_new("203.0.113.7", PHONE, "masjid-raya")
    clock.advance(60)  # a reload, or a second scan of the same plaque a minute later
    assert not visits.is_new("203.0.113.7", PHONE, "masjid-raya")
    assert visits.is_new("203.0.113.7", PHONE, "bukit-kursi")  # the next stop is a new visit
    assert visits.is_new("203.0.113.7", "Another browser", "masjid-raya")  # another phone
    assert visits.is_new("203.0.113.8", PHONE, "masjid-raya")
    clock.advance(VISIT_WINDOW_S - 61)
    assert not visits.is_new("203.0.113.7", PHONE, "masjid-raya")  # 29:59 after the first
    clock.advance(1)
    assert visits.is_new("203.0.113.7", PHONE, "masjid-raya")  # 30:00: a new visit


def test_each_visit_log_has_its_own_salt() -> None:
    clock = noon()
    first, second = visit_log(clock), visit_log(clock)
    assert first.is_new("203.0.113.7", PHONE, "masjid-raya")
    assert second.is_new("203.0.113.7", PHONE, "masjid-raya")  # the logs share nothing
    assert not first.is_new("203.0.113.7", PHONE, "masjid-raya")
    assert set(first._recent).isdisjoint(second._recent)  # the same client, unlinkable hashes


def test_the_salt_changes_with_the_day_and_yesterdays_is_dropped() -> None:
    clock = Clock(datetime(2026, 11, 28, 23, 0, tzinfo=UTC))
    visits = visit_log(clock)
    assert visits.is_new("203.0.113.7", PHONE, "masjid-raya")
    yesterday = set(visits._recent)
    clock.advance(3600)  # midnight
    assert visits.is_new("203.0.113.7", PHONE, "masjid-raya")  # the window has passed
    assert set(visits._recent).isdisjoint(yesterday)  # hashed with a new salt
    assert visits._previous_hasher is not None  # kept for visits that span midnight
    clock.advance(VISIT_WINDOW_S)
    assert visits.is_new("203.0.113.7", PHONE, "masjid-raya")  # the same client counts again
    assert visits._previous_hasher is None  # its grace period over, yesterday's salt is gone


def test_a_wall_clock_step_does_not_change_the_window() -> None:
    clock = noon()
    visits = visit_log(clock)
    assert visits.is_new("203.0.113.7", PHONE, "masjid-raya")
    clock.advance(60)
    clock.step_wall_clock(VISIT_WINDOW_S)  # NTP sets the clock half an hour on
    assert not visits.is_new("203.0.113.7", PHONE, "masjid-raya")
    clock.step_wall_clock(-2 * VISIT_WINDOW_S)  # and back again, further than it went
    clock.advance(VISIT_WINDOW_S - 60)
    assert visits.is_new("203.0.113.7", PHONE, "masjid-raya")  # thirty minutes did pass


def test_a_visit_across_midnight_counts_once() -> None:
    clock = Clock(datetime(2026, 11, 28, 23, 50, tzinfo=UTC))
    visits = visit_log(clock)
    assert visits.is_new("203.0.113.7", PHONE, "masjid-raya")
    clock.advance(20 * 60)  # 00:10, with a new salt
    assert not visits.is_new("203.0.113.7", PHONE, "masjid-raya")
    clock.advance(10 * 60)  # 00:20: thirty minutes after the scan that counted
    assert visits.is_new("203.0.113.7", PHONE, "masjid-raya")


def test_memory_stays_bounded() -> None:
    clock = noon()
    visits = visit_log(clock, max_recent=100)
    for number in range(1000):
        assert visits.is_new(f"198.51.100.{number}", PHONE, "masjid-raya")
    assert len(visits) == 100
    clock.advance(VISIT_WINDOW_S)
    assert visits.is_new("203.0.113.7", PHONE, "masjid-raya")
    assert len(visits) == 1  # every older visit expired


def test_header_text_that_is_not_utf8_still_hashes() -> None:
    visits = visit_log(noon())
    assert visits.is_new("203.0.113.7", "Phone \udcff", "masjid-raya")
    assert not visits.is_new("203.0.113.7", "Phone \udcff", "masjid-raya")


def test_a_new_visit_is_remembered_only_when_the_caller_counts_it() -> None:
    visits = visit_log(noon())
    visit = visits.new_visit("203.0.113.7", PHONE, "masjid-raya")
    assert visit is not None
    assert len(visits) == 0  # not counted (an address past its budget): not remembered
    assert visits.new_visit("203.0.113.7", PHONE, "masjid-raya") == visit
    visits.remember(visit)
    assert len(visits) == 1
    assert visits.new_visit("203.0.113.7", PHONE, "masjid-raya") is None
    assert not visits.is_new("203.0.113.7", PHONE, "masjid-raya")


def test_rate_limit_forgets_idle_clients_first() -> None:
    limit = RateLimit(limit=2, window_s=10.0, max_clients=3)
    limit.note("b", 0.0)
    assert limit.allow("a", 0.0)
    assert limit.allow("a", 1.0)
    assert not limit.allow("a", 2.0)
    limit.note("c", 6.0)
    assert limit.allow("a", 10.5)  # the first event left the window
    limit.note("d", 15.0)  # full: b has left the window and is forgotten
    assert len(limit) == 3
    assert limit.allow("a", 15.0)  # a's scan at 10.5 is remembered, so this is its last
    assert not limit.allow("a", 15.5)


def test_rate_limit_when_full_forgets_only_the_least_recently_active_client() -> None:
    limit = RateLimit(limit=2, window_s=300.0, max_clients=3)
    limit.note("198.51.100.1", 0.0)
    limit.note("203.0.113.7", 1.0)
    limit.note("203.0.113.7", 2.0)  # a guesser, now locked out
    limit.note("198.51.100.2", 3.0)
    limit.note("198.51.100.3", 4.0)  # full, and every client is active
    assert len(limit) == 3
    assert limit.exceeded("203.0.113.7", 5.0)  # still locked out
    assert not limit.exceeded("198.51.100.1", 5.0)  # the least recently active was forgotten


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::7", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::8", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("unknown", "unknown"),
        ("not:an:address", "not:an:address"),
    ],
)
def test_an_ipv6_client_is_limited_by_its_64(address: str, key: str) -> None:
    assert limit_key(address) == key


# --- who the client is --------------------------------------------------------------------


def request_from(peer: str, headers: dict[str, str]) -> web.Request:
    transport = mock.Mock()
    transport.get_extra_info.side_effect = lambda name, default=None: (
        (peer, 40000) if name == "peername" else default
    )
    return make_mocked_request("GET", "/s/masjid", headers=headers, transport=transport)


@pytest.mark.parametrize(
    ("peer", "headers", "expected"),
    [
        ("127.0.0.1", {"X-Real-IP": "203.0.113.7"}, "203.0.113.7"),  # the shipped nginx
        ("::1", {"X-Real-IP": "2001:db8::7"}, "2001:db8::7"),
        ("127.0.0.1", {}, "127.0.0.1"),
        ("::ffff:127.0.0.1", {"X-Real-IP": "203.0.113.7"}, "203.0.113.7"),  # dual-stack socket
        ("::ffff:198.51.100.9", {"X-Real-IP": "203.0.113.7"}, "198.51.100.9"),
        ("198.51.100.9", {"X-Real-IP": "203.0.113.7"}, "198.51.100.9"),  # anyone can write it
    ],
)
def test_x_real_ip_is_trusted_from_loopback_only(
    peer: str, headers: dict[str, str], expected: str
) -> None:
    assert client_address(request_from(peer, headers)) == expected


# --- through the scan path ----------------------------------------------------------------

Send = Callable[[Client, dict[str, str]], Awaitable[int]]


async def scan_page(client: Client, headers: dict[str, str]) -> int:
    response = await client.get("/s/masjid", headers={"User-Agent": PHONE, **headers})
    await response.read()
    return response.status


async def scan_beacon(client: Client, headers: dict[str, str]) -> int:
    response = await client.post(
        "/api/scan",
        data={"code": "masjid", "lang": "id", "source": "qr"},
        headers={"User-Agent": PHONE, "Origin": STATIC_COPY, **headers},
    )
    return response.status


@pytest.fixture
def beacon_settings(settings: Settings) -> Settings:
    return replace(settings, scan_origins=(STATIC_COPY,))


@pytest.mark.parametrize(("send", "ok"), [(scan_page, 200), (scan_beacon, 204)])
async def test_fifty_requests_from_one_client_count_once(
    aiohttp_client: AiohttpClient, beacon_settings: Settings, send: Send, ok: int
) -> None:
    client = await aiohttp_client(create_app(beacon_settings))
    for _ in range(50):
        assert await send(client, {"X-Real-IP": "203.0.113.7"}) == ok
    await client.close()
    assert counted(beacon_settings) == [("masjid-raya", "id", 1)]


async def test_a_thousand_clients_behind_the_proxy_count_a_thousand(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    client = await aiohttp_client(create_app(settings))
    for number in range(1000):
        address = f"10.0.{number // 256}.{number % 256}"
        assert await scan_page(client, {"X-Real-IP": address}) == 200
    await client.close()
    assert counted(settings) == [("masjid-raya", "id", 1000)]


async def test_one_address_rotating_user_agents_counts_at_most_its_budget(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    client = await aiohttp_client(create_app(settings))
    first = await client.get("/s/masjid", headers={"User-Agent": PHONE, "X-Real-IP": "203.0.113.7"})
    page = await first.read()
    for number in range(1, NEW_VISITS_PER_CLIENT + 50):
        headers = {"User-Agent": f"{PHONE} {number}", "X-Real-IP": "203.0.113.7"}
        response = await client.get("/s/masjid", headers=headers)
        assert response.status == 200
        assert await response.read() == page  # past the budget the page is still served
    # Past its budget an address is not even remembered: it cannot fill the visit log.
    assert len(client.app[visits_key]) == NEW_VISITS_PER_CLIENT
    await client.close()
    assert counted(settings) == [("masjid-raya", "id", NEW_VISITS_PER_CLIENT)]


async def test_reloads_spend_none_of_the_addresss_budget(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    client = await aiohttp_client(create_app(settings))
    for _ in range(NEW_VISITS_PER_CLIENT + 20):  # one phone reloading, past the budget
        assert await scan_page(client, {}) == 200
    # Another phone behind the same address is still counted: the reloads spent nothing.
    assert await scan_page(client, {"User-Agent": "Another phone"}) == 200
    await client.close()
    assert counted(settings) == [("masjid-raya", "id", 2)]


@pytest.mark.parametrize(("send", "ok"), [(scan_page, 200), (scan_beacon, 204)])
async def test_a_hundred_addresses_in_one_ipv6_64_share_one_budget(
    aiohttp_client: AiohttpClient, beacon_settings: Settings, send: Send, ok: int
) -> None:
    client = await aiohttp_client(create_app(beacon_settings))
    sent = max(BEACONS_PER_CLIENT, NEW_VISITS_PER_CLIENT) + 40
    statuses = [await send(client, {"X-Real-IP": f"2001:db8:1:2::{n:x}"}) for n in range(sent)]
    await client.close()
    if send is scan_beacon:
        assert statuses == [ok] * BEACONS_PER_CLIENT + [429] * (sent - BEACONS_PER_CLIENT)
        budget = BEACONS_PER_CLIENT
    else:
        assert statuses == [ok] * sent  # the page is always served, only the count is capped
        budget = NEW_VISITS_PER_CLIENT
    assert counted(beacon_settings) == [("masjid-raya", "id", budget)]


async def test_x_real_ip_from_a_peer_that_is_not_loopback_is_ignored(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    app = create_app(settings)

    @web.middleware
    async def from_the_internet(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        return await handler(request.clone(remote="198.51.100.9"))

    app.middlewares.append(from_the_internet)
    client = await aiohttp_client(app)
    for number in range(20):
        assert await scan_page(client, {"X-Real-IP": f"10.0.0.{number}"}) == 200
    await client.close()
    assert counted(settings) == [("masjid-raya", "id", 1)]


async def test_the_same_client_counts_again_after_half_an_hour(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    clock = noon()
    app = create_app(settings)
    app[visits_key] = visit_log(clock)
    client = await aiohttp_client(app)
    assert await scan_page(client, {}) == 200
    clock.advance(VISIT_WINDOW_S - 1)
    assert await scan_page(client, {}) == 200
    clock.advance(1)
    assert await scan_page(client, {}) == 200
    await client.close()
    assert counted(settings) == [("masjid-raya", "id", 2)]
