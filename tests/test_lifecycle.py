"""Replacing what the server serves while it runs: once per narration build, through errors."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from aiohttp import web

from tour.catalog import Problem
from tour.core.model import Tour
from tour.core.settings import Settings
from tour.render.links import Links
from tour.staff.last_good import check_files, read_tour_files
from tour.voice.manifest import AudioEntry, Manifest, audio_dir, build_lock, save_manifest
from tour.web import create_app, lifecycle
from tour.web.keys import site_key
from tour.web.lifecycle import (
    FAULT_REPEAT_LINE_S,
    reload_logging_errors,
    router_links,
    watch_manifest,
)
from tour.web.live_site import ManifestStamp, Site, SiteHolder, build_site, manifest_stamp

from .conftest import AiohttpClient
from .running import until

POLL_S = 0.01


@dataclass
class Watched:
    holder: SiteHolder
    media: Path
    builds: list[Path]
    """The media folder of each build_site call the watcher made."""


@pytest.fixture
def counted_builds(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    builds: list[Path] = []

    def counting(tour: Tour, media_dir: Path, links: Links) -> Site:
        builds.append(media_dir)
        return build_site(tour, media_dir, links)

    monkeypatch.setattr(lifecycle, "build_site", counting)
    return builds


@contextlib.asynccontextmanager
async def watching(
    settings: Settings,
    builds: list[Path],
    settle_s: float,
    clock: Callable[[], float] | None = None,
) -> AsyncIterator[Watched]:
    app = create_app(settings)
    holder = app[site_key]
    audio_dir(settings.media_dir).mkdir(parents=True, exist_ok=True)
    task = asyncio.create_task(
        watch_manifest(holder, settings.media_dir, router_links(app), POLL_S, settle_s, clock)
    )
    try:
        yield Watched(holder, settings.media_dir, builds)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def write_manifest(media: Path, files: int) -> None:
    """Write a manifest as a build does after each file: one more entry each time."""
    entry = AudioEntry("x.mp3", "0" * 16, "espeak", "", 1.0, 1000, 32, "2026-11-28T12:00:00")
    entries = {
        (f"stop-{number}", "en"): replace(entry, file=f"stop-{number}.en.{'a' * 16}.mp3")
        for number in range(files)
    }
    save_manifest(media, Manifest(entries))


async def look_a_few_times() -> None:
    await asyncio.sleep(10 * POLL_S)


async def test_a_narration_build_re_renders_the_site_once(
    settings: Settings, counted_builds: list[Path]
) -> None:
    async with watching(settings, counted_builds, settle_s=3600) as watched:
        with build_lock(audio_dir(watched.media)):
            for files in range(1, 11):  # the manifest is written once per file built
                write_manifest(watched.media, files)
                await asyncio.sleep(3 * POLL_S)
            assert counted_builds == []  # nothing re-rendered while the build runs
        final = manifest_stamp(watched.media)
        await until(lambda: watched.holder.current.manifest_stamp == final)
        await look_a_few_times()
        assert counted_builds == [watched.media]
        assert len(watched.holder.current.audio_files) == 10


async def test_a_slow_voice_build_re_renders_once_with_the_default_settle_time(
    settings: Settings, counted_builds: list[Path]
) -> None:
    seconds = [0.0]
    async with watching(
        settings, counted_builds, settings.manifest_settle_s, clock=lambda: seconds[0]
    ) as watched:
        with build_lock(audio_dir(watched.media)):
            for files in range(1, 6):
                write_manifest(watched.media, files)
                await asyncio.sleep(3 * POLL_S)  # the watcher sees the new manifest
                seconds[0] += 20.0  # Google, sentence by sentence, on the next file
                await asyncio.sleep(3 * POLL_S)  # the watcher looks while the manifest rests
            assert counted_builds == []  # no new service worker per file
        final = manifest_stamp(watched.media)
        await until(lambda: watched.holder.current.manifest_stamp == final)
        await look_a_few_times()
        assert counted_builds == [watched.media]  # one, as soon as the lock is released


async def test_a_long_build_is_picked_up_once_the_manifest_rests(
    settings: Settings, counted_builds: list[Path]
) -> None:
    async with watching(settings, counted_builds, settle_s=0.05) as watched:
        with build_lock(audio_dir(watched.media)):
            write_manifest(watched.media, 3)
            final = manifest_stamp(watched.media)
            await until(lambda: watched.holder.current.manifest_stamp == final)
            await look_a_few_times()
        assert counted_builds == [watched.media]


async def test_the_watcher_survives_a_failed_look(
    settings: Settings,
    counted_builds: list[Path],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    real_stamp = manifest_stamp
    looks: list[Path] = []

    def fails_once(media_dir: Path) -> ManifestStamp:
        looks.append(media_dir)
        if len(looks) == 1:
            raise RuntimeError("a fault while looking")
        return real_stamp(media_dir)

    monkeypatch.setattr(lifecycle, "manifest_stamp", fails_once)
    async with watching(settings, counted_builds, settle_s=3600) as watched:
        await until(lambda: len(looks) > 1)
        write_manifest(watched.media, 2)
        final = real_stamp(watched.media)
        await until(lambda: watched.holder.current.manifest_stamp == final)
    assert counted_builds == [watched.media]
    [failure] = [record for record in caplog.records if record.exc_info]
    assert failure.getMessage() == "checking the narration manifest failed; trying again"
    assert failure.levelno == logging.ERROR


async def test_a_fault_that_keeps_happening_logs_its_traceback_once(
    settings: Settings,
    counted_builds: list[Path],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fault = ["the disk is gone"]
    looks: list[Path] = []

    def always_fails(media_dir: Path) -> ManifestStamp:
        looks.append(media_dir)
        raise RuntimeError(fault[0])

    def errors() -> list[logging.LogRecord]:
        return [record for record in caplog.records if record.levelno == logging.ERROR]

    monkeypatch.setattr(lifecycle, "manifest_stamp", always_fails)
    seconds = [0.0]
    async with watching(settings, counted_builds, 3600, clock=lambda: seconds[0]):
        await until(lambda: len(looks) >= 20)
        [first] = errors()
        assert first.exc_info is not None
        assert str(first.exc_info[1]) == "the disk is gone"
        seconds[0] += FAULT_REPEAT_LINE_S  # a minute later, still failing
        await until(lambda: len(errors()) == 2)
        repeat = errors()[1]
        assert repeat.exc_info is None
        assert re.fullmatch(
            r"checking the narration manifest failed; trying again "
            r"\(\d+ more times, last: RuntimeError: the disk is gone\)",
            repeat.getMessage(),
        )
        fault[0] = "another fault"  # a new error is logged in full at once
        await until(lambda: len(errors()) == 3)
        new = errors()[2]
        assert new.exc_info is not None
        assert str(new.exc_info[1]) == "another fault"
        fault[0] = "the disk is gone"  # back to the first: already logged in full
        before = len(looks)
        await until(lambda: len(looks) >= before + 20)
    assert len(errors()) == 3


async def test_a_reload_still_running_is_cancelled_at_shutdown(
    aiohttp_client: AiohttpClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []

    async def stalled_reload(app: web.Application) -> list[Problem]:
        events.append("started")
        try:
            await asyncio.Event().wait()  # a reload that would never end by itself
        finally:
            events.append("stopped")
        return []

    monkeypatch.setattr(lifecycle, "reload_site", stalled_reload)
    client = await aiohttp_client(create_app(settings))
    os.kill(os.getpid(), signal.SIGHUP)
    await until(lambda: events == ["started"])
    await client.close()
    assert events == ["started", "stopped"]  # cancelled and awaited, not left pending


async def test_a_failed_reload_is_logged_and_the_next_one_works(
    small_tour: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = Settings(stops_dir=small_tour, media_dir=tmp_path / "media", db_path=tmp_path / "db")
    app = create_app(settings)
    real_check = check_files
    calls: list[Path] = []

    def fails_once(stops_dir: Path) -> tuple[Tour | None, list[Problem], dict[str, str]]:
        calls.append(stops_dir)
        if len(calls) == 1:
            raise RuntimeError("a fault while reloading")
        return real_check(stops_dir)

    monkeypatch.setattr(lifecycle, "check_files", fails_once)
    alpha = small_tour / "alpha.toml"
    alpha.write_text(alpha.read_text("utf-8").replace("Text about alpha.", "Fresh text."), "utf-8")
    await reload_logging_errors(app)  # what SIGHUP runs: it must not end in an unseen error
    [failure] = [record for record in caplog.records if record.exc_info]
    assert failure.getMessage() == "reload failed; the tour that was live stays live"
    assert b"Fresh text." not in app[site_key].current.pages.stops[("en", "alpha")].body
    await reload_logging_errors(app)
    assert b"Fresh text." in app[site_key].current.pages.stops[("en", "alpha")].body


def test_tour_files_are_read_with_their_own_line_ends(small_tour: Path) -> None:
    """History compares these texts with what publishing reads: a CRLF file stays CRLF."""
    alpha = small_tour / "alpha.toml"
    alpha.write_bytes(alpha.read_bytes().replace(b"\n", b"\r\n"))
    texts = read_tour_files(small_tour)
    assert texts["alpha.toml"].encode("utf-8") == alpha.read_bytes()
    assert "\r\n" in texts["alpha.toml"]
