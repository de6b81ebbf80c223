"""What narration and photo builds share: their report, their progress lines, and writes
that a cancelled build waits for."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar, TypeVarTuple

Result = TypeVar("Result")
Args = TypeVarTuple("Args")
Progress = Callable[[str], None]
"""Where a build says what it does, one line at a time (print, a staff page's log)."""


@dataclass(slots=True)
class BuildReport:
    what: str
    """What was built, as the summary names it: "photos", "narration (espeak)"."""
    built: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    """(item, reason) for each item that could not be built; its previous files are kept."""
    removed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        return (
            f"{self.what}: {len(self.built)} built, {len(self.kept)} kept, "
            f"{len(self.failed)} failed, {len(self.removed)} old file(s) removed"
        )


async def run_writes(write: Callable[[*Args], Result], *args: *Args) -> Result:
    """Run blocking file writes in a thread, and never leave them running behind us.

    A thread cannot be stopped. If the build is cancelled while it writes, wait for
    the write to finish before the cancellation goes on: the build lock is released
    only then, so a build started right after cannot have its manifest overwritten
    by this one's last save.
    """
    done = asyncio.get_running_loop().run_in_executor(None, write, *args)
    try:
        return await asyncio.shield(done)
    except asyncio.CancelledError:
        while not done.done():
            with contextlib.suppress(asyncio.CancelledError):  # cancelled again: still wait
                await asyncio.wait([done])
        if not done.cancelled():
            done.exception()  # the build is stopping: a late failure of its write is moot
        raise
