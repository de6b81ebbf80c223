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
from tour.scans.store import ScanRecorder
from tour.staff.accounts import record
from tour.web.studio.jobs import (
    STOPPED_BUILD,
    BuildJob,
    BuildRunning,
    JobRunner,
    ListenJob,
    ListenRunning,
    run_job,
)
from tour.web.studio.keys import studio_key

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

    # The dashboard's rebuild and a publish's builds both build through publishing.
    monkeypatch.setattr(tour.web.studio.publishing, "NarrationBuilder", FakeBuilder)
    monkeypatch.setattr(tour.web.studio.publishing, "choose_voice", fake_voice)
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
    await until(lambda: app[studio_key].jobs.queue_task is not None)
    task = app[studio_key].jobs.queue_task
    assert task is not None
    await task
    assert builds.started == [(), ("alpha",)]  # the dashboard's first, then the queued one
    assert builds.most_at_once == 1
    job = app[studio_key].jobs.build
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
    assert app[studio_key].jobs.queue == []
    assert not app[studio_key].jobs.building
    job = app[studio_key].jobs.build
    assert job is not None
    assert job.summary == "the build was stopped; the narration built so far is kept"


async def test_a_job_that_breaks_ends_with_its_line_and_one_logged_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken() -> None:
        raise OSError("disk gone")

    build, listen = BuildJob("alpha", 0.0, failures={}), ListenJob("alpha", ("en",))
    await run_job(build, broken(), "narration build after a publish")
    await run_job(listen, broken(), "draft narration of alpha")
    assert (build.finished, build.failed, build.summary) == (
        True,
        True,
        "the build stopped: disk gone",
    )
    assert build.failures == {"": "the build stopped: disk gone"}
    assert (listen.finished, listen.status()["error"]) == (True, "disk gone")
    logged = [(r.getMessage(), bool(r.exc_info)) for r in caplog.records]
    assert logged == [
        ("narration build after a publish failed", True),
        ("draft narration of alpha failed", True),
    ]


async def test_one_listen_at_a_time_and_none_after_stop() -> None:
    runner = JobRunner()
    may_end = asyncio.Event()
    started: list[str] = []

    async def listening(job: ListenJob) -> None:
        started.append(job.stop)
        await run_job(job, may_end.wait(), f"draft narration of {job.stop}")

    first = ListenJob("alpha", ("en",))
    runner.start_listen(first, listening)
    second = ListenJob("beta", ("en",))
    with pytest.raises(ListenRunning):
        runner.start_listen(second, listening)
    assert runner.listen is first
    await until(lambda: started == ["alpha"])
    await runner.stop()
    assert not runner.listening
    assert (first.finished, first.error) == (True, "stopped before it finished")
    assert (second.finished, started) == (False, ["alpha"])
    # Once stopped, as the server stops, no job starts.
    with pytest.raises(ListenRunning):
        runner.start_listen(ListenJob("gamma", ("en",)), listening)
    with pytest.raises(BuildRunning):
        runner.start_build(BuildJob("alpha", 0.0), lambda job: asyncio.sleep(0))
    runner.enqueue(["alpha"], lambda job: asyncio.sleep(0))
    assert (runner.queue, runner.queue_task, started) == ([], None, ["alpha"])


async def test_stop_empties_the_queue_before_the_running_build_lets_go() -> None:
    runner = JobRunner()
    may_end = asyncio.Event()
    built: list[str] = []

    async def build(job: BuildJob) -> None:
        built.append(job.scope)
        await run_job(job, may_end.wait(), "test build")

    runner.enqueue(["alpha", "beta"], build)
    await until(lambda: built == ["alpha"])
    with pytest.raises(BuildRunning):
        runner.start_build(BuildJob("all", 0.0), build)
    await runner.stop()
    assert built == ["alpha"]  # beta, still queued, never started
    assert runner.queue == []
    assert not runner.building
    assert runner.build is not None
    assert runner.build.status()["summary"] == STOPPED_BUILD


async def test_at_shutdown_the_jobs_stop_while_the_scan_log_and_sighup_handler_still_run(
    aiohttp_client: AiohttpClient, staff_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    stopped: list[str] = []
    real_jobs_stop, real_recorder_stop = JobRunner.stop, ScanRecorder.stop

    async def jobs_stop(self: JobRunner) -> None:
        stopped.append("jobs")
        await real_jobs_stop(self)

    async def recorder_stop(self: ScanRecorder) -> None:
        stopped.append("scan log")
        await real_recorder_stop(self)

    monkeypatch.setattr(JobRunner, "stop", jobs_stop)
    monkeypatch.setattr(ScanRecorder, "stop", recorder_stop)
    client = await staff_client(aiohttp_client, staff_settings, "ana", "admin")
    await client.close()
    assert stopped == ["jobs", "scan log"]
