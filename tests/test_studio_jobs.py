"""Narration builds from the dashboard and after a publish: one at a time, none after shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

import tour.web.studio.dashboard
import tour.web.studio.publishing
from tour.core.builds import BuildReport
from tour.core.settings import Settings
from tour.staff.accounts import record
from tour.web.studio.keys import admin_key, studio_key

from .conftest import AiohttpClient
from .running import until
from .staff import (
    page_csrf,
    staff_client,
)


class FakeVoice:
    name = "fake"


class Builds:
    """What the fake builders did: which stops, how many at once at most."""

    def __init__(self) -> None:
        self.running: list[tuple[str, ...]] = []
        self.started: list[tuple[str, ...]] = []
        self.most_at_once = 0
        self.release = asyncio.Event()
        """Builds hold until the test sets this."""


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> Builds:
    seen = Builds()

    class FakeBuilder:
        def __init__(self, *args: object, **kwargs: object) -> None:
            self.report = BuildReport("narration (fake)")
            self.pending_count = 1

        async def build(
            self, stops: Sequence[str] = (), langs: Sequence[str] = (), force: bool = False
        ) -> BuildReport:
            scope = tuple(stops)
            seen.started.append(scope)
            seen.running.append(scope)
            seen.most_at_once = max(seen.most_at_once, len(seen.running))
            try:
                await seen.release.wait()
            finally:
                seen.running.remove(scope)
            return self.report

    def fake_voice(engine: str) -> tuple[FakeVoice, str]:
        return FakeVoice(), "fake"

    for module in (tour.web.studio.dashboard, tour.web.studio.publishing):
        monkeypatch.setattr(module, "NarrationBuilder", FakeBuilder)
        monkeypatch.setattr(module, "choose_voice", fake_voice)
    return seen


async def test_a_dashboard_rebuild_and_a_publishs_builds_never_run_at_once(
    aiohttp_client: AiohttpClient,
    staff_settings: Settings,
    builds: Builds,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = await staff_client(aiohttp_client, staff_settings, "ana", "admin")
    app = client.app
    csrf = await page_csrf(client)
    in_audit = asyncio.Event()
    audit_may_end = asyncio.Event()

    async def slow_record(*args: Any, **kwargs: Any) -> None:
        in_audit.set()
        await audit_may_end.wait()  # the audit write waits for the database meanwhile
        await record(*args, **kwargs)

    monkeypatch.setattr(tour.web.studio.dashboard, "record", slow_record)
    rebuild = asyncio.create_task(
        client.post("/admin/rebuild", data={"csrf": csrf, "stop": "all"}, allow_redirects=False)
    )
    await in_audit.wait()
    tour.web.studio.publishing.queue_narration(app, ["alpha"])  # a publish ends meanwhile
    await until(lambda: builds.started == [()])
    audit_may_end.set()
    assert (await rebuild).status == 303
    # A second rebuild while one runs is refused, not started beside it.
    again = await client.post("/admin/rebuild", data={"csrf": csrf, "stop": "all"})
    assert again.status == 409
    builds.release.set()
    await until(lambda: app[studio_key].narration_task is not None)
    task = app[studio_key].narration_task
    assert task is not None
    await task
    assert builds.started == [(), ("alpha",)]  # the dashboard's first, then the queued one
    assert builds.most_at_once == 1
    job = app[admin_key].job
    assert job is not None
    assert (job.scope, job.finished) == ("alpha", True)


async def test_no_build_outlives_shutdown(
    aiohttp_client: AiohttpClient, staff_settings: Settings, builds: Builds
) -> None:
    client = await staff_client(aiohttp_client, staff_settings, "ana", "admin")
    app = client.app
    tour.web.studio.publishing.queue_narration(app, ["alpha", "beta"])
    await until(lambda: builds.running == [("alpha",)])
    await client.close()  # runs the cleanup contexts
    assert builds.running == []
    assert builds.started == [("alpha",)]  # beta, still queued, was never started
    assert app[studio_key].narration_queue == []
    assert not app[admin_key].building
    job = app[admin_key].job
    assert job is not None
    assert job.summary == "the build was stopped; the narration built so far is kept"
