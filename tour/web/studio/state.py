"""What the studio keeps between requests: the publish lock and its background jobs."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tour.staff.listen import DraftListen


@dataclass
class ListenJob:
    """A draft's narration being built on request, for one stop and some languages."""

    stop: str
    languages: tuple[str, ...]
    listen: DraftListen | None = None
    """Set once the voice is chosen."""
    error: str = ""
    """One line when the job could not run (no voice, a fault)."""
    finished: bool = False

    def status(self) -> dict[str, Any]:
        status: dict[str, Any] = {"done": 0, "total": len(self.languages), "lines": []}
        status.update({"summary": "", "failed": False})
        if self.listen is not None:
            status.update(self.listen.status())
        # The listen's status lists its failures; pages want a flag and one line.
        failures = status["failed"] if isinstance(status["failed"], list) else []
        error = self.error or "; ".join(failures)
        status.update(running=not self.finished, stop=self.stop, languages=list(self.languages))
        status.update(failed=bool(error), error=error)
        return status


@dataclass
class StudioState:
    publish_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Held by every change of files on disk: two publishers never interleave."""
    narration_queue: list[str] = field(default_factory=list)
    """Published stops waiting for their narration build, oldest first."""
    narration_task: asyncio.Task[None] | None = None
    narration_failures: dict[str, dict[str, str]] = field(default_factory=dict)
    """Stop id → language → why its last narration build after a publish failed
    ("" when the whole build stopped), so the stop list can mark it."""
    listen: ListenJob | None = None
    """The draft narration being built, or the last one built, for its progress."""
    listen_task: asyncio.Task[None] | None = None

    @property
    def listening(self) -> bool:
        return self.listen_task is not None and not self.listen_task.done()

    async def stop_jobs(self) -> None:
        """Cancel the background jobs and wait for them, so none outlives the application.

        The queue goes first, so its loop starts no build once the running one stops;
        the running build itself is the dashboard's job (AdminState.stop_rebuild).
        """
        self.narration_queue.clear()
        tasks = [task for task in (self.narration_task, self.listen_task) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
