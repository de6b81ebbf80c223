"""Drafts and revisions of the tour's files, kept in the staff database."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

import aiosqlite


class StaffDatabase(Protocol):
    """What these functions need of tour.staff.database.StaffDatabase."""

    def transaction(self) -> AbstractAsyncContextManager[aiosqlite.Connection]: ...

    async def fetch_all(self, sql: str, params: Sequence[object] = ()) -> list[Any]: ...


@dataclass(frozen=True, slots=True)
class Draft:
    stop: str
    content: str
    base: str
    """The hash of the file on disk when the draft was started."""
    who: str
    at: float


@dataclass(frozen=True, slots=True)
class Revision:
    id: int
    file: str
    at: float
    who: str
    kind: str
    """'found', 'hand-edit', 'publish', 'restore', 'add-stop', 'reorder', 'retire'."""
    note: str
    content: str
    sha256: str


async def save_draft(db: StaffDatabase, stop_id: str, content: str, base: str, who: str) -> None:
    raise NotImplementedError


async def get_draft(db: StaffDatabase, stop_id: str) -> Draft | None:
    raise NotImplementedError


async def drop_draft(db: StaffDatabase, stop_id: str) -> None:
    raise NotImplementedError


async def list_drafts(db: StaffDatabase) -> dict[str, Draft]:
    raise NotImplementedError


async def note_disk_version(db: StaffDatabase, file: str, content: str) -> None:
    """Keep a file as found on disk: 'found' the first time, 'hand-edit' when it changed."""
    raise NotImplementedError


async def add_revision(
    db: StaffDatabase, file: str, content: str, who: str, kind: str, note: str = ""
) -> int:
    raise NotImplementedError


async def history(db: StaffDatabase, file: str) -> list[tuple[Revision, list[str]]]:
    """Return a file's revisions, newest first, each with its diff from the one before."""
    raise NotImplementedError


async def get_revision(db: StaffDatabase, revision_id: int) -> Revision | None:
    raise NotImplementedError
