"""The scan log: exact counts, nothing lost on a graceful stop, little on a crash."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import aiosqlite
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from tour.catalog import bundled_stops_dir, load_tour
from tour.cli import main
from tour.core.settings import Settings
from tour.scans.stats import PLAQUE_WARNING, plaque_health
from tour.scans.store import (
    SCHEMA_VERSION,
    DailyCount,
    ScanKey,
    ScanRecorder,
    StoreError,
    add_counts,
    connect,
)
from tour.web import create_app
from tour.web.keys import recorder_key

from .conftest import AiohttpClient
from .net import free_port, wait_until_up

Client = TestClient[web.Request, web.Application]


def scan_rows(path: Path) -> list[tuple[str, str, str, str, int]]:
    with contextlib.closing(sqlite3.connect(path)) as connection:
        return connection.execute(
            "SELECT hour, stop, lang, source, count FROM scans ORDER BY stop, lang, source"
        ).fetchall()


def total(path: Path) -> int:
    return sum(row[-1] for row in scan_rows(path))


@pytest.fixture
def scan_settings(tmp_path: Path) -> Settings:
    return Settings(
        stops_dir=bundled_stops_dir(),
        media_dir=tmp_path / "media",
        db_path=tmp_path / "var" / "scans.db",
        scan_flush_s=0.05,
    )


async def test_concurrent_scans_are_counted_exactly(
    aiohttp_client: AiohttpClient, scan_settings: Settings
) -> None:
    client = await aiohttp_client(create_app(scan_settings))

    async def visitor(number: int) -> None:
        lang = "en" if number % 2 else "id"
        for scan in range(40):
            # 2000 phones behind the proxy: each one a visitor of its own.
            headers = {"Accept-Language": lang, "X-Real-IP": f"10.0.{number}.{scan}"}
            response = await client.get("/s/masjid", headers=headers)
            assert response.status == 200
            await response.read()

    await asyncio.gather(*(visitor(number) for number in range(50)))
    await client.close()  # a graceful stop: the app's cleanup flushes what is pending
    rows = scan_rows(scan_settings.db_path)
    assert total(scan_settings.db_path) == 2000
    hour = datetime.now(UTC).strftime("%Y-%m-%dT%H")
    assert {(row[1], row[2], row[3]) for row in rows} == {
        ("masjid-raya", "en", "qr"),
        ("masjid-raya", "id", "qr"),
    }
    assert all(
        row[0] in (hour, (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H"))
        for row in rows
    )


async def test_what_is_stored_and_what_is_not_counted(
    aiohttp_client: AiohttpClient, scan_settings: Settings
) -> None:
    client = await aiohttp_client(create_app(scan_settings))
    await client.get("/s/kursi", headers={"Accept-Language": "en"})  # a QR scan
    # a link, followed by another visitor
    await client.get(
        "/s/kursi", headers={"Referer": "https://example.org/", "X-Real-IP": "192.0.2.2"}
    )
    await client.head("/s/kursi")  # HEAD: not a visit
    await client.get("/s/kursi", headers={"User-Agent": "Googlebot/2.1"})
    await client.get("/s/kursi", headers={"User-Agent": "WhatsApp/2.23 A"})  # link preview
    await client.get("/en/kursi")  # reading a page is not a scan
    await client.get("/s/nowhere")  # no such stop
    await client.close()
    rows = scan_rows(scan_settings.db_path)
    assert [row[1:] for row in rows] == [
        ("bukit-kursi", "en", "qr", 1),
        ("bukit-kursi", "id", "link", 1),
    ]
    with contextlib.closing(sqlite3.connect(scan_settings.db_path)) as connection:
        columns = [row[1] for row in connection.execute("PRAGMA table_info(scans)")]
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert connection.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    assert columns == ["hour", "stop", "lang", "source", "count"]  # no address, agent or id


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "scans.db"
    with contextlib.closing(sqlite3.connect(path)) as connection:
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer than this program's"):
        await connect(path)


async def test_recorder_flushes_sooner_when_many_wait(tmp_path: Path) -> None:
    recorder = ScanRecorder(tmp_path / "scans.db", flush_interval_s=60)
    await recorder.start()
    for _ in range(600):
        recorder.record("jetty", "id", "qr")
    for _ in range(100):  # bounded: the batch is written well before the minute is up
        if recorder.written:
            break
        await asyncio.sleep(0.02)
    assert recorder.written >= 500
    await recorder.stop()
    assert total(tmp_path / "scans.db") == 600


@pytest.fixture
def read_only_db(tmp_path: Path) -> Iterator[Path]:
    """A scan database on a real read-only filesystem (a tmpfs remounted ro).

    File permissions would not do: the tests run as root, which ignores them.
    """
    folder = tmp_path / "ro"
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(folder)], check=True)
    try:
        path = folder / "scans.db"
        with contextlib.closing(sqlite3.connect(path)) as connection:  # made while writable
            connection.execute("PRAGMA journal_mode = WAL")
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        yield path
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


async def test_read_only_database_never_breaks_the_pages(
    aiohttp_client: AiohttpClient,
    scan_settings: Settings,
    read_only_db: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = Settings(
        stops_dir=scan_settings.stops_dir,
        media_dir=scan_settings.media_dir,
        db_path=read_only_db,
        scan_flush_s=0.05,
    )
    caplog.set_level(logging.WARNING, logger="tour.scans.store")
    app = create_app(settings)
    client = await aiohttp_client(app)
    for visitor in range(3):
        response = await client.get("/s/masjid", headers={"X-Real-IP": f"192.0.2.{visitor}"})
        assert response.status == 200
    # The staff pages share the database: they say why they are out of order, in the
    # staff language, and send no traceback.
    staff_page = await client.get("/admin/login")
    assert staff_page.status == 503
    text = await staff_page.text()
    assert "basis datanya tidak dapat dibuka" in text
    assert "Halaman pengunjung tetap berjalan" in text
    assert str(read_only_db) not in text  # the path and the reason go to the log only
    await client.close()
    assert app[recorder_key].dropped == 3
    assert any("scan" in record.getMessage() for record in caplog.records)


def serve(db: Path, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tour", "--db", str(db), "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


VISITORS = itertools.count()


def scan_once(url: str) -> bool:
    """Scan as a new visitor each time: the same one would count once per half hour."""
    visitor = next(VISITORS)
    address = f"10.{visitor >> 16 & 255}.{visitor >> 8 & 255}.{visitor & 255}"
    headers = {"User-Agent": "Mozilla/5.0", "X-Real-IP": address}
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            response.read()
            status: int = response.status
            return status == 200
    except OSError:
        return False


def test_graceful_stop_loses_no_scan(tmp_path: Path) -> None:
    db = tmp_path / "scans.db"
    port = free_port()
    server = serve(db, port)
    base = f"http://127.0.0.1:{port}"
    wait_until_up(base + "/healthz")
    ok = sum(scan_once(f"{base}/s/tabib") for _ in range(150))
    server.send_signal(signal.SIGTERM)
    _, stderr = server.communicate(timeout=30)
    assert b"Traceback" not in stderr
    assert ok == 150
    assert total(db) == 150


def test_crash_loses_at_most_the_last_second(tmp_path: Path) -> None:
    db = tmp_path / "scans.db"
    port = free_port()
    server = serve(db, port)
    base = f"http://127.0.0.1:{port}"
    wait_until_up(base + "/healthz")
    done: list[float] = []
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            if scan_once(f"{base}/s/kursi"):
                done.append(time.monotonic())

    workers = [threading.Thread(target=load) for _ in range(4)]
    for worker in workers:
        worker.start()
    # Killed once well over a hundred scans were answered, however busy the machine is.
    deadline = time.monotonic() + 60
    while len(done) < 150 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.send_signal(signal.SIGKILL)
    killed = time.monotonic()
    stop.set()
    for worker in workers:
        worker.join(timeout=30)
    server.communicate(timeout=30)
    counted = total(db)
    answered = len(done)
    last_second = sum(1 for moment in done if moment > killed - 1.2)
    assert answered > 100
    assert answered - counted <= last_second, (answered, counted, last_second)
    with contextlib.closing(sqlite3.connect(db)) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)


async def seed(path: Path, rows: list[tuple[str, str, str, str, int]]) -> None:
    connection = await connect(path)
    counts: Counter[tuple[str, str, str, str]] = Counter()
    for hour, stop, lang, source, count in rows:
        counts[(hour, stop, lang, source)] += count
    await add_counts(connection, counts)
    await connection.close()


def test_stats_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "scans.db"
    today = datetime.now(UTC).date()
    yesterday = today - timedelta(days=1)
    asyncio.run(
        seed(
            db,
            [
                (f"{today}T09", "masjid-raya", "id", "qr", 5),
                (f"{today}T10", "masjid-raya", "en", "qr", 2),
                (f"{yesterday}T11", "jetty", "id", "link", 3),
                (f"{today - timedelta(days=40)}T11", "jetty", "id", "qr", 9),  # too old
            ],
        )
    )
    assert main(["--db", str(db), "stats", "--days", "7"]) == 0
    out = capsys.readouterr().out
    assert f"Scans from {today - timedelta(days=6)} to {today}: 10" in out
    assert " 1. jetty                         3      3      0" in out
    assert " 2. masjid-raya                   7      5      2" in out
    assert "By language: id 8 (80%), en 2 (20%)" in out
    assert main(["--db", str(db), "stats", "--days", "7", "--csv"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "day,stop,lang,scans",
        f"{yesterday},jetty,id,3",
        f"{today},masjid-raya,en,2",
        f"{today},masjid-raya,id,5",
    ]


def test_stats_bad_days_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["stats", "--days", "zero"])
    assert raised.value.code == 1
    assert "argument --days: 'zero' is not a number of days; use 1-3650" in capsys.readouterr().err


def test_plaque_health_flags_a_stop_that_went_quiet() -> None:
    tour = load_tour(bundled_stops_dir())
    today = date(2026, 11, 28)
    rows = []
    for offset in range(70):
        day = (today - timedelta(days=offset)).isoformat()
        recent = offset < 14
        for stop in tour.stops:
            scans = 10
            if stop.id == "gedung-tabib" and recent:
                scans = 1  # the plaque at the physician's house stopped being scanned
            rows.append(DailyCount(day, stop.id, "id", scans))
    [flag] = plaque_health(tour, rows, today)
    assert flag.stop == "gedung-tabib"
    assert flag.message == PLAQUE_WARNING == "check this plaque: faded, damaged or missing?"
    assert flag.recent_share < flag.usual_share / 5


def test_plaque_health_ignores_a_quiet_stretch_of_the_walk() -> None:
    tour = load_tour(bundled_stops_dir())
    today = date(2026, 11, 28)
    quiet = {"masjid-raya", "gedung-tabib", "engku-puteri"}  # a closed path, not a plaque
    rows = [
        DailyCount(
            (today - timedelta(days=offset)).isoformat(),
            stop.id,
            "en",
            1 if stop.id in quiet and offset < 14 else 10,
        )
        for offset in range(70)
        for stop in tour.stops
    ]
    assert [flag.stop for flag in plaque_health(tour, rows, today)] == []


async def test_overlapping_flushes_lose_nothing(tmp_path: Path) -> None:
    recorder = ScanRecorder(tmp_path / "scans.db", flush_interval_s=60)
    await recorder.start()
    for round_number in range(5):
        for _ in range(300):
            recorder.record("jetty", "id", "qr")
        # the dashboard and the timer flush at the same moment
        await asyncio.gather(
            recorder.flush(), recorder.flush(), recorder.read_daily(date(2000, 1, 1))
        )
        assert recorder.dropped == 0, round_number
    await recorder.stop()
    assert total(tmp_path / "scans.db") == 1500


async def test_stop_during_a_flush_keeps_every_scan(tmp_path: Path) -> None:
    recorder = ScanRecorder(tmp_path / "scans.db", flush_interval_s=60)
    await recorder.start()
    stops = ["jetty", "masjid-raya", "gedung-tabib"]
    for number in range(60_000):
        recorder.record(stops[number % 3], "id" if number % 2 else "en", "qr")
    flushing = asyncio.create_task(recorder.flush())
    await asyncio.sleep(0)  # the flush has begun
    await recorder.stop()
    await flushing
    assert recorder.dropped == 0
    assert total(tmp_path / "scans.db") == 60_000


async def test_flush_loop_survives_an_unexpected_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real_add_counts = add_counts
    calls: list[int] = []

    async def fails_once(connection: aiosqlite.Connection, counts: Counter[ScanKey]) -> None:
        calls.append(sum(counts.values()))
        if len(calls) == 1:
            raise RuntimeError("a fault in the flush")
        await real_add_counts(connection, counts)

    monkeypatch.setattr("tour.scans.store.add_counts", fails_once)
    recorder = ScanRecorder(tmp_path / "scans.db", flush_interval_s=0.01)
    await recorder.start()
    recorder.record("jetty", "id", "qr")
    for _ in range(500):  # bounded: the loop flushes every 10 ms
        if recorder.dropped:
            break
        await asyncio.sleep(0.01)
    recorder.record("jetty", "en", "qr")
    for _ in range(500):
        if recorder.written:
            break
        await asyncio.sleep(0.01)
    await recorder.stop()
    assert (recorder.dropped, recorder.written) == (1, 1)
    assert [row[1:] for row in scan_rows(tmp_path / "scans.db")] == [("jetty", "en", "qr", 1)]
    [failure] = [record for record in caplog.records if record.exc_info]
    assert failure.getMessage() == "writing scans failed; trying again in 0.01 s"
    assert failure.exc_text is not None
    assert "RuntimeError: a fault in the flush" in failure.exc_text
