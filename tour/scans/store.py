"""The scan log in SQLite: counts per hour, stop, language and source, and nothing else.

A scan stores no IP address, no user agent and no visitor identifier. Scans wait in
memory and are written in one transaction at least once a second, so the request
path never waits on the disk. A database that cannot be written never breaks the
pages: scans are then dropped, counted and logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import aiosqlite

from tour.core.errors import TourError

log = logging.getLogger(__name__)

SOURCES = ("qr", "link")
FLUSH_INTERVAL_S = 1.0
FLUSH_SOON_AT = 500
"""Pending scans that trigger a flush before the second is up."""

# Each entry moves the schema one version up, as statements run in one transaction;
# PRAGMA user_version records how far a database file has come.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """
        CREATE TABLE scans (
            hour TEXT NOT NULL,              -- UTC, to the hour: 2026-11-28T09
            stop TEXT NOT NULL,              -- stop id
            lang TEXT NOT NULL,
            source TEXT NOT NULL CHECK (source IN ('qr', 'link')),
            count INTEGER NOT NULL CHECK (count > 0),
            PRIMARY KEY (hour, stop, lang, source)
        ) WITHOUT ROWID
        """,
    ),
    # 2: the staff studio. Times are Unix seconds (UTC); pages show them in the tour's zone.
    (
        """
        CREATE TABLE staff (
            name TEXT PRIMARY KEY,           -- login name: a-z, 0-9, '.', '_', '-'
            role TEXT NOT NULL CHECK (role IN ('editor', 'publisher', 'admin')),
            password_hash TEXT NOT NULL,     -- Argon2id, in its PHC string form
            lang TEXT NOT NULL DEFAULT 'id', -- the language of this person's staff pages
            created REAL NOT NULL
        )
        """,
        """
        CREATE TABLE sessions (
            token_hash TEXT PRIMARY KEY,     -- SHA-256 of the cookie: a leaked table logs no one in
            name TEXT NOT NULL REFERENCES staff (name) ON DELETE CASCADE,
            csrf TEXT NOT NULL,
            created REAL NOT NULL,
            expires REAL NOT NULL
        )
        """,
        "CREATE INDEX sessions_by_name ON sessions (name)",
        """
        CREATE TABLE audit (
            id INTEGER PRIMARY KEY,
            at REAL NOT NULL,
            who TEXT NOT NULL,               -- a staff name, or 'tour staff' for the command
            action TEXT NOT NULL,            -- publish, restore, rebuild, account-add, ...
            detail TEXT NOT NULL DEFAULT ''
        )
        """,
        """
        CREATE TABLE revisions (
            id INTEGER PRIMARY KEY,
            file TEXT NOT NULL,              -- in the stops folder: masjid-raya.toml, tour.toml
            at REAL NOT NULL,
            who TEXT NOT NULL,               -- a staff name, or '' for a hand edit found on disk
            kind TEXT NOT NULL,              -- found, hand-edit, publish, restore, add, retire, ...
            note TEXT NOT NULL DEFAULT '',
            content TEXT NOT NULL,           -- the whole file as it was after this revision
            sha256 TEXT NOT NULL
        )
        """,
        "CREATE INDEX revisions_by_file ON revisions (file, id)",
        """
        CREATE TABLE drafts (
            stop TEXT PRIMARY KEY,           -- stop id (the file name without .toml)
            content TEXT NOT NULL,           -- the whole stop file as the draft has it
            base TEXT NOT NULL,              -- SHA-256 of the file the draft began from; '' if new
            who TEXT NOT NULL,
            at REAL NOT NULL
        )
        """,
    ),
    # 3: the studio's journal (staff/journal.py) names each change, so a change replayed
    # after a crash never records its revisions or its audit line twice.
    (
        "ALTER TABLE revisions ADD COLUMN change_id TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE audit ADD COLUMN change_id TEXT NOT NULL DEFAULT ''",
        "CREATE INDEX revisions_by_change ON revisions (change_id) WHERE change_id != ''",
        "CREATE INDEX audit_by_change ON audit (change_id) WHERE change_id != ''",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)

ScanKey = tuple[str, str, str, str]
"""(hour, stop id, language, source)."""


class StoreError(TourError):
    """The scan database cannot be used as asked."""


def hour_of(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H")


async def connect(path: Path, *, create: bool = True) -> aiosqlite.Connection:
    """Open the database, switch on WAL and bring the schema up to date."""
    await asyncio.to_thread(_prepare_path, path, create)
    connection = await aiosqlite.connect(path, isolation_level=None)
    try:
        await connection.execute("PRAGMA busy_timeout = 2000")
        await connection.execute("PRAGMA journal_mode = WAL")
        await connection.execute("PRAGMA synchronous = NORMAL")
        # Per connection in SQLite: removing an account must take its sessions with it.
        await connection.execute("PRAGMA foreign_keys = ON")
        await migrate(connection)
    except BaseException:
        await connection.close()
        raise
    return connection


def _prepare_path(path: Path, create: bool) -> None:
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    elif not path.exists():
        raise StoreError(f"{path}: no scan database yet; it is created when 'tour serve' runs")


async def migrate(connection: aiosqlite.Connection) -> None:
    async with connection.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    version = int(row[0]) if row else 0
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"the scan database has schema version {version}, newer than this program's "
            f"{SCHEMA_VERSION}; upgrade the tour software"
        )
    for number in range(version, SCHEMA_VERSION):
        await connection.execute("BEGIN IMMEDIATE")
        try:
            for statement in MIGRATIONS[number]:
                await connection.execute(statement)
            await connection.execute(f"PRAGMA user_version = {number + 1}")
            await connection.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                await connection.execute("ROLLBACK")
            raise


async def add_counts(connection: aiosqlite.Connection, counts: Counter[ScanKey]) -> None:
    """Add pending counts in one transaction."""
    await connection.execute("BEGIN IMMEDIATE")
    try:
        await connection.executemany(
            "INSERT INTO scans (hour, stop, lang, source, count) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (hour, stop, lang, source) DO UPDATE SET count = count + excluded.count",
            [(*key, count) for key, count in counts.items()],
        )
        await connection.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            await connection.execute("ROLLBACK")
        raise


# --- reading ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DailyCount:
    day: str
    stop: str
    lang: str
    scans: int


async def daily_counts(
    connection: aiosqlite.Connection, since: date, until: date | None = None
) -> list[DailyCount]:
    """Scans per day, stop and language from `since` (inclusive) to `until` (exclusive)."""
    end = (until or date.max).isoformat()
    query = (
        "SELECT substr(hour, 1, 10) AS day, stop, lang, SUM(count) FROM scans "
        "WHERE hour >= ? AND hour < ? GROUP BY day, stop, lang ORDER BY day, stop, lang"
    )
    async with connection.execute(query, (since.isoformat(), end)) as cursor:
        rows = await cursor.fetchall()
    return [
        DailyCount(str(day), str(stop), str(lang), int(scans)) for day, stop, lang, scans in rows
    ]


@contextlib.asynccontextmanager
async def reading(path: Path) -> AsyncIterator[aiosqlite.Connection]:
    connection = await connect(path, create=False)
    try:
        yield connection
    finally:
        await connection.close()


# --- the recorder on the request path -----------------------------------------------------


class ScanRecorder:
    """Count scans in memory and write them in batches, off the request path."""

    def __init__(self, path: Path, flush_interval_s: float = FLUSH_INTERVAL_S) -> None:
        self.path = path
        self.flush_interval_s = flush_interval_s
        self.pending: Counter[ScanKey] = Counter()
        self.pending_total = 0
        self.written = 0
        self.dropped = 0
        self.enabled = True
        self._connection: aiosqlite.Connection | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # One flush at a time: the timer, a full queue, the dashboard and the stop all flush.
        self._flushing = asyncio.Lock()
        self._stopping = False
        self._hour = ""
        self._hour_ends = 0.0

    def record(self, stop: str, lang: str, source: str) -> None:
        """Count one scan. Constant time, no I/O: safe on the request path."""
        if not self.enabled:
            return
        now = time.time()
        if now >= self._hour_ends:
            # Format the hour once an hour, not once a scan: this runs on every QR scan.
            self._hour = hour_of(datetime.fromtimestamp(now, UTC))
            self._hour_ends = (now // 3600 + 1) * 3600
        self.pending[(self._hour, stop, lang, source)] += 1
        self.pending_total += 1
        if self.pending_total >= FLUSH_SOON_AT:
            self._wake.set()

    async def start(self) -> None:
        try:
            self._connection = await connect(self.path)
        except (sqlite3.Error, OSError, StoreError) as error:
            # The pages matter more than the counts: serve on, and say why nothing is counted.
            log.warning(
                "scan log %s cannot be opened (%s); scans will not be counted", self.path, error
            )
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.flush_interval_s)
            self._wake.clear()
            try:
                await self.flush()
            except Exception:
                # A flush that fails in an unforeseen way must not end the loop: scans
                # would then pile up in memory until the server stops.
                log.exception("writing scans failed; trying again in %g s", self.flush_interval_s)

    async def flush(self) -> None:
        """Write everything pending in one transaction; drop it with a warning on failure."""
        async with self._flushing:
            if not self.pending:
                return
            batch, self.pending = self.pending, Counter()
            scans, self.pending_total = self.pending_total, 0
            if self._connection is None:
                self._drop(scans, "the scan log is not open")
                return
            try:
                await add_counts(self._connection, batch)
            except (sqlite3.Error, OSError) as error:
                self._drop(scans, str(error))
                return
            except asyncio.CancelledError:
                # Interrupted, not refused: keep the scans for the next flush.
                self.pending.update(batch)
                self.pending_total += scans
                raise
            except Exception:
                # A fault of this program, not of the disk: count the loss; the caller logs it.
                self._drop(scans, "an unexpected error")
                raise
            self.written += scans

    def _drop(self, scans: int, reason: str) -> None:
        self.dropped += scans
        log.warning(
            "dropped %d scan(s): %s (%d dropped since start); the pages are unaffected",
            scans,
            reason,
            self.dropped,
        )

    async def read_daily(self, since: date) -> list[DailyCount]:
        """Return daily counts since `since`, including scans not yet written."""
        await self.flush()
        if self._connection is None:
            return []
        try:
            return await daily_counts(self._connection, since)
        except sqlite3.Error as error:
            log.warning("scan log %s cannot be read (%s)", self.path, error)
            return []

    async def stop(self) -> None:
        """Flush what is pending and close: called on a graceful stop (SIGTERM, SIGINT)."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task  # it ends after the flush it is in, never halfway through
        await self.flush()
        if self._connection is not None:
            await self._connection.close()
            self._connection = None


def days_back(days: int, today: date | None = None) -> date:
    return (today or datetime.now(UTC).date()) - timedelta(days=days - 1)
