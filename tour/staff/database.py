"""The staff pages' connection to the SQLite database, one transaction at a time."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from tour.scans.store import connect


class StaffDatabase:
    """One aiosqlite connection for the staff pages; transactions never interleave.

    Every staff library function takes one of these and runs its own transaction, so
    an account removed while its session is being read is either wholly there or gone.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._connection: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        if self._connection is None:
            self._connection = await connect(self.path)

    @property
    def is_open(self) -> bool:
        return self._connection is not None

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()

    async def __aenter__(self) -> StaffDatabase:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def _opened(self) -> aiosqlite.Connection:
        if self._connection is None:
            raise RuntimeError(f"{self.path}: the staff database is not open; call open() first")
        return self._connection

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """Run the block in one write transaction: all of it is committed, or none."""
        connection = self._opened()
        async with self._lock:
            # BEGIN and COMMIT are inside the try: cancelled while aiosqlite's thread runs
            # either, the transaction is still rolled back and the next one can begin.
            try:
                # IMMEDIATE takes the write lock at once: two writers wait, never deadlock.
                await connection.execute("BEGIN IMMEDIATE")
                yield connection
                await connection.execute("COMMIT")
            except BaseException:
                # No transaction may be open (BEGIN failed, or COMMIT ended it): that is fine.
                with contextlib.suppress(sqlite3.Error):
                    await connection.execute("ROLLBACK")
                raise

    async def fetch_all(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        """Read rows outside any transaction of ours (WAL: readers never wait for writers)."""
        connection = self._opened()
        async with self._lock:
            cursor = await connection.execute(sql, tuple(params))
            rows = await cursor.fetchall()
            await cursor.close()
        return list(rows)
