"""The staff database: a cancelled or failed transaction never leaves the connection in one."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from tour.staff.accounts import record
from tour.staff.database import StaffDatabase


async def test_a_transaction_cancelled_as_it_begins_is_rolled_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with StaffDatabase(tmp_path / "tour.sqlite3") as db:
        async with db.transaction() as connection:
            pass
        real_execute = connection.execute
        begun = asyncio.Event()

        async def execute(sql: str, *args: Any) -> aiosqlite.Cursor:
            cursor = await real_execute(sql, *args)
            if sql == "BEGIN IMMEDIATE" and not begun.is_set():
                # SQLite has begun; the cancel reaches the caller before it sees that.
                begun.set()
                await asyncio.Event().wait()
            return cursor

        monkeypatch.setattr(connection, "execute", execute)
        task = asyncio.create_task(record(db, "ana", "publish", "cancelled"))
        await begun.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not connection.in_transaction
        await record(db, "ana", "publish", "kept")  # the next staff write still works
        rows = await db.fetch_all("SELECT who, action, detail FROM audit ORDER BY id")
        assert [tuple(row) for row in rows] == [("ana", "publish", "kept")]


async def test_a_failed_block_is_rolled_back_and_its_error_kept(tmp_path: Path) -> None:
    async with StaffDatabase(tmp_path / "tour.sqlite3") as db:

        async def failing_write() -> None:
            async with db.transaction() as connection:
                await connection.execute(
                    "INSERT INTO audit (at, who, action, detail) VALUES (1, 'ana', 'publish', '')"
                )
                raise ValueError("the block failed")

        with pytest.raises(ValueError, match=r"^the block failed$"):
            await failing_write()
        assert await db.fetch_all("SELECT * FROM audit") == []
        await record(db, "ana", "publish", "next")
        assert len(await db.fetch_all("SELECT * FROM audit")) == 1
