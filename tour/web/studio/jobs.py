"""The studio's one job runner: narration builds and a draft's listen, in the background.

Two lanes, each one job at a time: narration builds (the dashboard's rebuild, and the
builds a publish queues, run one after the other so two builders never write the one
manifest at once), and the draft narration a stop form asks to listen to. Every job
runs in `run_job`, which turns a cancellation or a fault into the job's one line and
marks it finished; `stop` cancels them all when the server stops (the studio's
cleanup context), so none outlives the application.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from tour.staff.listen import DraftListen
    from tour.voice.narration import NarrationBuilder

log = logging.getLogger(__name__)

BUILD_STOP_S = 10.0
"""How long a stopped build may take to let go: its voice call runs on in a thread."""
STOPPED_BUILD = "the build was stopped; the narration built so far is kept"


class Job(Protocol):
    finished: bool

    def stopped(self) -> None:
        """Say the job was cancelled before it finished."""

    def broke(self, error: Exception) -> None:
        """Say the job ended on `error`."""


async def run_job(job: Job, work: Awaitable[object], what: str) -> None:
    """Run `work` for `job`: a cancellation or a fault ends as the job's line, never silently."""
    try:
        await work
    except asyncio.CancelledError:
        job.stopped()
        raise
    except Exception as error:  # a staff action must end with a message, never silently
        log.exception("%s failed", what)
        job.broke(error)
    finally:
        job.finished = True


@dataclass
class BuildJob:
    """A narration build: the whole tour ("all") or one stop."""

    scope: str
    started: float
    builder: NarrationBuilder | None = None
    lines: list[str] = field(default_factory=list)
    finished: bool = False
    summary: str = ""
    failed: bool = False
    failures: dict[str, str] | None = None
    """Language → why its build failed, for a publish's build ("" when it all stopped)."""

    def stopped(self) -> None:
        self.end_failed(STOPPED_BUILD)

    def broke(self, error: Exception) -> None:
        self.end_failed(f"the build stopped: {error}")

    def end_failed(self, summary: str) -> None:
        self.summary, self.failed = summary, True
        if self.failures is not None:
            self.failures[""] = summary

    def status(self) -> dict[str, Any]:
        report = self.builder.report if self.builder else None
        done = len(report.built) + len(report.failed) if report else 0
        return {
            "scope": self.scope,
            "running": not self.finished,
            "done": done,
            "total": self.builder.pending_count if self.builder else 0,
            "lines": self.lines[-12:],
            "summary": self.summary,
            "failed": self.failed,
        }


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

    def stopped(self) -> None:
        self.error = "stopped before it finished"

    def broke(self, error: Exception) -> None:
        self.error = str(error)

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


class BuildRunning(RuntimeError):
    """A narration build was asked for while another one runs."""


class ListenRunning(RuntimeError):
    """A draft's narration was asked for while another one is built."""


BuildWork = Callable[[BuildJob], Coroutine[Any, Any, None]]
ListenWork = Callable[[ListenJob], Coroutine[Any, Any, None]]


@dataclass
class JobRunner:
    build: BuildJob | None = None
    """The narration build running, or the last one, for its progress."""
    build_task: asyncio.Task[None] | None = None
    queue: list[str] = field(default_factory=list)
    """Published stops waiting for their narration build, oldest first."""
    queue_task: asyncio.Task[None] | None = None
    listen: ListenJob | None = None
    """The draft narration being built, or the last one built, for its progress."""
    listen_task: asyncio.Task[None] | None = None
    stopped: bool = False
    """Set by stop(), as the server stops: no job starts after it."""

    @property
    def building(self) -> bool:
        return self.build_task is not None and not self.build_task.done()

    @property
    def listening(self) -> bool:
        return self.listen_task is not None and not self.listen_task.done()

    def start_build(self, job: BuildJob, work: BuildWork) -> asyncio.Task[None]:
        """Start `work(job)` as the one narration build; BuildRunning if one runs.

        The look and the start are one step (no await between): two builders never
        write the one manifest at once.
        """
        if self.building or self.stopped:
            raise BuildRunning(
                f"a narration build ({self.build.scope if self.build else '?'}) runs"
            )
        self.build = job
        self.build_task = asyncio.create_task(work(job))
        return self.build_task

    def enqueue(self, stop_ids: Sequence[str], work: BuildWork) -> None:
        """Build each stop's narration with `work` after any build already running."""
        if self.stopped:
            return
        for stop_id in stop_ids:
            if stop_id not in self.queue:
                self.queue.append(stop_id)
        if self.queue and (self.queue_task is None or self.queue_task.done()):
            self.queue_task = asyncio.create_task(self.drain(work))

    async def drain(self, work: BuildWork) -> None:
        """Run the queued builds in the build lane, so one progress shows them all."""
        while self.queue:
            # A build started from the dashboard (or the last one queued here) finishes first.
            running = self.build_task
            if running is not None and not running.done():
                await asyncio.wait({running})
                continue
            task = self.start_build(BuildJob(self.queue.pop(0), time.time()), work)
            await asyncio.wait({task})
            if task.cancelled():
                # Stopped, as at shutdown: the stops still queued are not built either.
                self.queue.clear()
                return

    def start_listen(self, job: ListenJob, work: ListenWork) -> None:
        """Start `work(job)` as the one draft narration; ListenRunning if one is built.

        As for builds, the look and the start are one step (no await between).
        """
        if self.listening or self.stopped:
            raise ListenRunning(f"the draft narration of {self.listen and self.listen.stop} runs")
        self.listen = job
        self.listen_task = asyncio.create_task(work(job))

    async def stop(self, timeout_s: float = BUILD_STOP_S) -> None:
        """Cancel every job and wait for them, the running build `timeout_s` at most.

        The queue goes first: stopped the other way round, its loop would start the
        next queued build as soon as the running one let go.
        """
        self.stopped = True
        self.queue.clear()
        tasks = [task for task in (self.queue_task, self.listen_task) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        build = self.build_task
        if build is None or build.done():
            return
        build.cancel()
        # asyncio.wait, not wait_for: it returns at the timeout even if the task ignores it.
        done, _ = await asyncio.wait({build}, timeout=timeout_s)
        if not done:
            log.warning("the narration build did not stop within %g s", timeout_s)
