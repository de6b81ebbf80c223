"""Replacing what the server serves while it runs: new narration, edited stop files."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from aiohttp import web

from tour.catalog import Problem
from tour.core.model import Tour
from tour.core.settings import apply_settings
from tour.render.links import PATH_LINKS, Links
from tour.staff.changes import finish_pending
from tour.staff.last_good import check_files, keep_last_good, last_good_path, read_tour_files
from tour.staff.revisions import note_disk_version
from tour.voice.manifest import audio_dir, build_running
from tour.web.keys import settings_key, site_key, staff_db_key
from tour.web.live_site import ManifestStamp, SiteHolder, build_site, manifest_stamp
from tour.web.studio.keys import studio_key

log = logging.getLogger(__name__)

FAULT_REPEAT_LINE_S = 60.0
"""A fault that keeps happening is logged once with its traceback, then a line a minute."""
MAX_FAULT_TRACEBACKS = 10
"""Distinct errors logged in full between two successes: a message that changes every
time (a counter in it) must not bring back a traceback per poll."""


def router_links(app: web.Application) -> Links:
    """Return the links pages carry: the renderer's plain paths.

    `create_app` has checked with `check_routes` that this app's router serves them.
    """
    return PATH_LINKS


def check_routes(app: web.Application, tour: Tour, links: Links) -> None:
    """Fail at start-up, naming the route, if the router and the rendered links disagree."""
    router = app.router
    audio = "masjid-raya.id.0123456789ab.mp3"  # as narration names its files
    photo = "0123456789abcdef-480.avif"  # as `tour photos` names its files
    expected = [
        ("audio", str(router["audio"].url_for(name=audio)), links.audio(audio)),
        ("photo", str(router["photo"].url_for(name=photo)), links.photo(photo)),
    ]
    for lang in tour.languages:
        expected.append(("index", str(router["index"].url_for(lang=lang)), links.index(lang)))
        for stop in tour.stops:
            routed = str(router["stop"].url_for(lang=lang, code=stop.code))
            expected.append(("stop", routed, links.stop(lang, stop.code)))
    for name, routed, linked in expected:
        if routed != linked:
            raise RuntimeError(f"route '{name}' serves {routed} but pages link to {linked}")


async def rebuild_site(app: web.Application) -> None:
    """Re-read the narration manifest and switch every page to it at once."""
    holder = app[site_key]
    settings = app[settings_key]
    async with holder.rebuilding:
        holder.current = await asyncio.to_thread(
            build_site, holder.current.tour, settings.media_dir, router_links(app)
        )


async def reload_site(app: web.Application) -> list[Problem]:
    """Reload the stop files; on any problem keep the live tour and return the problems."""
    settings = app[settings_key]
    holder = app[site_key]
    async with holder.rebuilding:
        tour, problems, texts = await asyncio.to_thread(check_files, settings.stops_dir)
        if tour is None:
            for problem in problems:
                log.warning("reload refused: %s", problem)
            return problems
        # What loads cleanly is what a start serves should the files break later.
        await asyncio.to_thread(
            keep_last_good, last_good_path(settings.db_path), settings.stops_dir, texts
        )
        tour = apply_settings(tour, settings)
        holder.current = await asyncio.to_thread(
            build_site, tour, settings.media_dir, router_links(app)
        )
    log.info("reloaded %d stops from %s", len(tour.stops), settings.stops_dir)
    return []


async def reload_stop_files(app: web.Application) -> list[Problem]:
    """Reload the stop files by hand (the dashboard's Reload, SIGHUP) and keep hand edits.

    Under the publish lock (publishing.publish_lock), so a reload never loads a publish
    half-written across several files. When the new tour is live, every stop file and
    tour.toml that differs from its newest revision goes into the history as a
    'hand-edit' ('found' when it has none), even if nobody opens its history page.
    """
    async with app[studio_key].publish_lock:
        try:
            # A change a crash interrupted is recorded as the studio's, not as a hand edit.
            await finish_pending(app[staff_db_key], app[settings_key].stops_dir)
        except Exception:
            log.exception("the unfinished studio change could not be recorded; it stays")
        problems = await reload_site(app)
        if not problems:
            try:
                await note_hand_edits(app)
            except Exception:  # the reload itself worked: say so, and log what did not
                log.exception("the reloaded stop files could not be kept in the history")
    return problems


async def note_hand_edits(app: web.Application) -> None:
    """Keep the disk version of each file the tour is read from, where it changed."""
    texts = await asyncio.to_thread(read_tour_files, app[settings_key].stops_dir)
    for name, text in texts.items():
        await note_disk_version(app[staff_db_key], name, text)


async def refresh_narration(holder: SiteHolder, media_dir: Path, links: Links) -> bool:
    """Switch every page to the manifest on disk, unless it is the one already served."""
    async with holder.rebuilding:
        if manifest_stamp(media_dir) == holder.current.manifest_stamp:
            return False
        holder.current = await asyncio.to_thread(build_site, holder.current.tour, media_dir, links)
    log.info(
        "narration manifest changed: %d audio files now served", len(holder.current.audio_files)
    )
    return True


async def watch_manifest(
    holder: SiteHolder,
    media_dir: Path,
    links: Links,
    interval_s: float,
    settle_s: float,
    clock: Callable[[], float] | None = None,
) -> None:
    """Re-render the pages for new narration once per build, not once per file.

    A build rewrites the manifest after every file, and each new set of pages is a
    new service worker that online visitors install. So while a build holds its
    lock, wait for it to end: the pages are re-rendered as soon as the lock is
    released. `settle_s` only bounds a build that stalls: if the manifest rests that
    long while the lock is still held, what it lists is served. It must be longer
    than the slowest voice takes for one file (a minute by default), or visitors
    get a new service worker per file. `clock` (the loop's by default) measures it.
    """
    now = clock or asyncio.get_running_loop().time
    seen: ManifestStamp = holder.current.manifest_stamp
    seen_since = now()
    faults = FaultLog("checking the narration manifest failed; trying again", now)
    while True:
        await asyncio.sleep(interval_s)
        try:
            stamp = manifest_stamp(media_dir)
            if stamp != seen:
                seen, seen_since = stamp, now()
            if stamp != holder.current.manifest_stamp:
                settled = now() - seen_since >= settle_s
                if settled or not build_running(audio_dir(media_dir)):
                    await refresh_narration(holder, media_dir, links)
        except Exception as error:
            # One failed look must not stop the next: new narration would never be served.
            faults.failed(error)
        else:
            faults.succeeded()


class FaultLog:
    """Log a fault that repeats every poll without filling the log.

    Each distinct error (by its message) is logged once with its traceback; while
    faults keep happening, one line a minute counts them. A success starts afresh.
    """

    def __init__(self, message: str, clock: Callable[[], float]) -> None:
        self.message = message
        self._clock = clock
        self._logged: set[str] = set()
        self._repeats = 0
        self._next_line = 0.0

    def failed(self, error: Exception) -> None:
        text = f"{type(error).__name__}: {error}"
        now = self._clock()
        if text not in self._logged and len(self._logged) < MAX_FAULT_TRACEBACKS:
            log.error(self.message, exc_info=error)
            self._logged.add(text)
            self._next_line = now + FAULT_REPEAT_LINE_S
            return
        self._repeats += 1
        if now >= self._next_line:
            log.error("%s (%d more times, last: %s)", self.message, self._repeats, text)
            self._repeats = 0
            self._next_line = now + FAULT_REPEAT_LINE_S

    def succeeded(self) -> None:
        """Forget the faults: if one comes back, its traceback is logged again."""
        self._logged.clear()
        self._repeats = 0


async def manifest_watcher(app: web.Application) -> AsyncIterator[None]:
    """Pick up narration that `tour audio` builds while the server runs."""
    settings = app[settings_key]
    task = asyncio.create_task(
        watch_manifest(
            app[site_key],
            settings.media_dir,
            router_links(app),
            settings.manifest_poll_s,
            settings.manifest_settle_s,
        )
    )
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def reload_logging_errors(app: web.Application) -> None:
    """Reload the stop files for SIGHUP, where nobody waits for the result but the log."""
    try:
        await reload_stop_files(app)
    except Exception:
        log.exception("reload failed; the tour that was live stays live")


async def reload_on_sighup(app: web.Application) -> AsyncIterator[None]:
    """`kill -HUP` reloads the stop files, as the staff page's Reload button does."""
    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task[None]] = set()

    def start_reload() -> None:
        task = asyncio.create_task(reload_logging_errors(app))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    try:
        loop.add_signal_handler(signal.SIGHUP, start_reload)
        installed = True
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or Windows
        installed = False
    yield
    if installed:
        loop.remove_signal_handler(signal.SIGHUP)
    # A reload still running must not outlive the application it would change.
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
