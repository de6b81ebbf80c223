"""What the studio keeps between requests: the publish lock and its background jobs."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tour.staff.listen import DraftListen


@dataclass
class StudioState:
    publish_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Held by every change of files on disk: two publishers never interleave."""
    narration_queue: list[str] = field(default_factory=list)
    """Published stops waiting for their narration build, oldest first."""
    narration_task: asyncio.Task[None] | None = None
    listen: DraftListen | None = None
    """The draft narration being built (or last built), for its progress."""
    listen_stop: str = ""
    listen_languages: tuple[str, ...] = ()
    listen_task: asyncio.Task[None] | None = None
    narration_failures: dict[str, dict[str, str]] = field(default_factory=dict)
    """Stop id → language → why its last narration build after a publish failed
    ("" when the whole build stopped), so the stop list can mark it."""

    @property
    def listening(self) -> bool:
        return self.listen_task is not None and not self.listen_task.done()

    async def stop_jobs(self) -> None:
        """Cancel the background jobs and wait for them, so none outlives the application."""
        tasks = [task for task in (self.narration_task, self.listen_task) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
