"""What the studio keeps between requests: one object, `StudioState`, under `studio_key`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import jinja2

from tour.catalog import Problem
from tour.render.pages import make_environment
from tour.web.common.clients import RateLimit
from tour.web.studio.jobs import JobRunner

FAILED_LOGIN_LIMIT = 5
FAILED_LOGIN_WINDOW_S = 300.0
"""Per client and per account name: five wrong passwords, then a five-minute wait."""


@dataclass
class StudioState:
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
    reload_problems: list[Problem] = field(default_factory=list)
    reload_message: str = ""
    publish_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Held by every change of files on disk: two publishers never interleave."""
    narration_failures: dict[str, dict[str, str]] = field(default_factory=dict)
    """Stop id → language → why its last narration build after a publish failed
    ("" when the whole build stopped), so the stop list can mark it."""
    jobs: JobRunner = field(default_factory=JobRunner)
    """The narration builds and the draft's listen, run in the background."""


def create_studio_state(secure_cookies: bool) -> StudioState:
    return StudioState(environment=make_environment(), secure_cookies=secure_cookies)
