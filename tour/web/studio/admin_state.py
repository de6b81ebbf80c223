"""What the staff pages keep between requests: login limits, the running rebuild, reloads."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import jinja2

from tour.catalog import Problem
from tour.render.pages import make_environment
from tour.voice.narration import NarrationBuilder
from tour.web.common.clients import RateLimit

log = logging.getLogger(__name__)

FAILED_LOGIN_LIMIT = 5
FAILED_LOGIN_WINDOW_S = 300.0
"""Per client and per account name: five wrong passwords, then a five-minute wait."""
REBUILD_STOP_S = 10.0
"""How long a stopped rebuild may take to let go: its voice call runs on in a thread."""


@dataclass
class RebuildJob:
    scope: str
    started: float
    builder: NarrationBuilder | None = None
    lines: list[str] = field(default_factory=list)
    finished: bool = False
    summary: str = ""
    failed: bool = False

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


class BuildRunning(RuntimeError):
    """A narration build was asked for while another one runs."""


@dataclass
class AdminState:
    environment: jinja2.Environment
    secure_cookies: bool
    """Session cookies are Secure when the tour's public address is https."""
    client_failures: RateLimit = field(
        default_factory=lambda: RateLimit(FAILED_LOGIN_LIMIT, FAILED_LOGIN_WINDOW_S)
    )
    account_failures: RateLimit = field(
        default_factory=lambda: RateLimit(FAILED_LOGIN_LIMIT, FAILED_LOGIN_WINDOW_S)
    )
    pages_on: bool = False
    """True once an account exists: accounts are never all removed (the last admin stays)."""
    job: RebuildJob | None = None
    task: asyncio.Task[None] | None = None
    reload_problems: list[Problem] = field(default_factory=list)
    reload_message: str = ""

    @property
    def building(self) -> bool:
        return self.task is not None and not self.task.done()

    def start_build(
        self, job: RebuildJob, build: Callable[[RebuildJob], Coroutine[Any, Any, None]]
    ) -> asyncio.Task[None]:
        """Start `build(job)` as the one narration build; BuildRunning if one runs.

        The dashboard's rebuild and the builds queued after a publish both start here,
        and the look and the start are one step (no await between): two builders never
        write the one manifest at once.
        """
        if self.building:
            raise BuildRunning(f"a narration build ({self.job.scope if self.job else '?'}) runs")
        self.job = job
        self.task = asyncio.create_task(build(job))
        return self.task

    async def stop_rebuild(self, timeout_s: float = REBUILD_STOP_S) -> None:
        """Cancel the running rebuild and wait until it has stopped, `timeout_s` at most."""
        task = self.task
        if task is None or task.done():
            return
        task.cancel()
        # asyncio.wait, not wait_for: it returns at the timeout even if the task ignores it.
        done, _ = await asyncio.wait({task}, timeout=timeout_s)
        if not done:
            log.warning("the narration rebuild did not stop within %g s", timeout_s)


def create_admin_state(secure_cookies: bool) -> AdminState:
    return AdminState(environment=make_environment(), secure_cookies=secure_cookies)
