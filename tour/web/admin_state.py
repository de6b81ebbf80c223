"""What the staff pages keep between requests: auth, the running rebuild, reload results."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass, field
from typing import Any

import jinja2

from tour.catalog import Problem
from tour.narration import NarrationBuilder
from tour.render.pages import content_security_policy, make_environment
from tour.web.clients import RateLimit

log = logging.getLogger(__name__)

SESSION_SECONDS = 12 * 3600
FAILED_LOGIN_LIMIT = 5
FAILED_LOGIN_WINDOW_S = 300.0
REBUILD_STOP_S = 10.0
"""How long a stopped rebuild may take to let go: its voice call runs on in a thread."""


class AdminAuth:
    """Token check, signed sessions, CSRF tokens and a limit on failed logins."""

    def __init__(self, token: str, secure_cookies: bool) -> None:
        self._token_digest = hashlib.sha256(token.encode("utf-8")).digest()
        # Sessions are signed with a key derived from the token: changing the token
        # ends every session.
        self._key = hmac.new(token.encode("utf-8"), b"tour admin sessions", "sha256").digest()
        self.secure_cookies = secure_cookies
        self._failures = RateLimit(FAILED_LOGIN_LIMIT, FAILED_LOGIN_WINDOW_S)

    def token_matches(self, given: str) -> bool:
        # Comparing fixed-length digests takes the same time whatever was typed.
        given_digest = hashlib.sha256(given.encode("utf-8")).digest()
        return hmac.compare_digest(given_digest, self._token_digest)

    def _sign(self, payload: str) -> str:
        return hmac.new(self._key, payload.encode("utf-8"), "sha256").hexdigest()

    def new_session(self, now: float) -> str:
        payload = f"{int(now) + SESSION_SECONDS}.{secrets.token_urlsafe(16)}"
        return f"{payload}.{self._sign(payload)}"

    def session_valid(self, value: str | None, now: float) -> bool:
        if not value or value.count(".") != 2:
            return False
        payload, _, signature = value.rpartition(".")
        if not hmac.compare_digest(self._sign(payload).encode(), signature.encode()):
            return False
        expires = payload.split(".", 1)[0]
        return expires.isdigit() and int(expires) > now

    def csrf_token(self, session: str) -> str:
        return self._sign(f"csrf:{session}")

    def csrf_valid(self, session: str, given: str) -> bool:
        # Bytes, not str: compare_digest refuses non-ASCII text, and input can be anything.
        return hmac.compare_digest(self.csrf_token(session).encode(), given.encode())

    def locked_out(self, client: str, now: float) -> bool:
        return self._failures.exceeded(client, now)

    def note_failure(self, client: str, now: float) -> None:
        self._failures.note(client, now)


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


@dataclass
class AdminState:
    auth: AdminAuth
    environment: jinja2.Environment
    style: str
    script: str
    policy: str
    job: RebuildJob | None = None
    task: asyncio.Task[None] | None = None
    reload_problems: list[Problem] = field(default_factory=list)
    reload_message: str = ""

    @property
    def building(self) -> bool:
        return self.job is not None and not self.job.finished

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


def create_admin_state(token: str, secure_cookies: bool) -> AdminState:
    environment = make_environment()
    loader = environment.loader
    assert loader is not None
    style = loader.get_source(environment, "page.css")[0].strip()
    style += "\n" + loader.get_source(environment, "admin/admin.css")[0].strip()
    script = loader.get_source(environment, "admin/admin.js")[0].strip()
    return AdminState(
        auth=AdminAuth(token, secure_cookies),
        environment=environment,
        style=style,
        script=script,
        policy=content_security_policy(style, script),
    )
