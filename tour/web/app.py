"""Build the web application: `create_app(settings)`."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator

from aiohttp import web

from tour.catalog import CatalogError, Problem
from tour.errors import TourError
from tour.model import Tour
from tour.render.offline import SHELL
from tour.settings import Settings, apply_settings
from tour.staff.changes import finish_pending, replay_at_start
from tour.staff.database import StaffDatabase
from tour.staff.last_good import check_files, keep_last_good, last_good_path, load_last_good
from tour.store import ScanRecorder, StoreError
from tour.web import views
from tour.web.admin import add_admin_routes
from tour.web.admin_state import create_admin_state
from tour.web.answer_headers import guard_every_answer
from tour.web.bodies import quiet_parser_errors
from tour.web.clients import RateLimit
from tour.web.keys import (
    admin_key,
    beacon_limit_key,
    recorder_key,
    scan_limit_key,
    settings_key,
    site_key,
    staff_db_key,
    studio_key,
    visits_key,
)
from tour.web.lifecycle import check_routes, manifest_watcher, reload_on_sighup, router_links
from tour.web.site import SiteHolder, build_site
from tour.web.studio_state import StudioState
from tour.web.visits import VisitLog

log = logging.getLogger(__name__)


def add_routes(app: web.Application, tour: Tour) -> None:
    router = app.router
    # Every QR scan lands here: a plain path per stop is the router's fastest match.
    # Codes added by a later reload, and codes in capitals, take the general route.
    for stop in tour.stops:
        router.add_get(f"/s/{stop.code}", views.scan_of(stop.code))
    router.add_get("/healthz", views.healthz, name="healthz")
    for path in (*SHELL, "/sw.js"):
        router.add_get(path, views.asset)
    router.add_get("/robots.txt", views.robots, name="robots")
    router.add_post("/api/scan", views.scan_beacon, name="scan_beacon")
    router.add_get("/api/{name}", views.api_document, name="api")
    router.add_get("/media/audio/{name}", views.audio_file, name="audio")
    router.add_get("/media/photos/{name}", views.photo_file, name="photo")
    router.add_get("/s/{code}", views.scan, name="scan")
    # The staff pages answer 404 until an account exists (checked as each request comes).
    add_admin_routes(app)
    router.add_get("/", views.index, name="home")
    router.add_get("/{lang:[a-z]{2}}", views.language_root, name="language_root")
    router.add_get("/{lang:[a-z]{2}}/", views.index, name="index")
    router.add_get("/{lang:[a-z]{2}}/{code}", views.stop_page, name="stop")
    # Last: every other path gets the tour's 404 page (cheaper than a middleware on each request).
    router.add_get("/{path:.*}", views.unknown_path, name="unknown")


async def scan_log(app: web.Application) -> AsyncIterator[None]:
    """Open the scan log; on a graceful stop, write every pending scan before closing."""
    recorder = app[recorder_key]
    if app[settings_key].count_scans:
        await recorder.start()
    else:
        recorder.enabled = False
    yield
    await recorder.stop()


async def staff_jobs(app: web.Application) -> AsyncIterator[None]:
    """Open the staff database; stop every narration build before the server stops."""
    db = app[staff_db_key]
    try:
        await db.open()
    except (sqlite3.Error, OSError, StoreError) as error:
        # The visitor pages matter more than the staff pages: serve on, and say why.
        log.warning(
            "staff database %s cannot be opened (%s); the staff pages answer 503", db.path, error
        )
    await finish_pending_at_start(app)
    try:
        yield
        # The queue and its loop first: stopped the other way round, the loop would start
        # the next queued build as soon as the running one let go.
        await app[studio_key].stop_jobs()
        await app[admin_key].stop_rebuild()
    finally:
        await db.close()


def load_start_tour(settings: Settings) -> tuple[Tour, list[Problem]]:
    """Return the tour to serve at start-up and the problems of the stop files.

    A studio change a crash interrupted is completed first. Stop files with problems
    (a broken hand edit) give the last good version with their problems, so the
    visitor pages stay up; CatalogError only when there is no good version at all.
    """
    stops_dir = settings.stops_dir
    try:
        replay_at_start(stops_dir)
    except (OSError, TourError, ValueError) as error:
        log.error("the unfinished studio change in %s cannot be completed: %s", stops_dir, error)
    tour, problems, texts = check_files(stops_dir)
    kept = last_good_path(settings.db_path)
    if tour is not None:
        keep_last_good(kept, stops_dir, texts)
        return tour, []
    fallback = load_last_good(stops_dir, kept)
    if fallback is None:
        raise CatalogError(problems)
    log.error(
        "the stop files have %d problem(s) (first: %s); serving the last good version "
        "kept in %s; 'tour check' lists them: fix them, then reload",
        len(problems),
        problems[0],
        kept,
    )
    return fallback, problems


async def finish_pending_at_start(app: web.Application) -> None:
    """Record a change a crash interrupted, before any staff page can read the history."""
    db = app[staff_db_key]
    if not db.is_open:
        return
    try:
        await finish_pending(db, app[settings_key].stops_dir)
    except (sqlite3.Error, OSError, TourError) as error:
        log.warning("the unfinished studio change is not recorded yet (%s); it stays", error)


def create_app(settings: Settings) -> web.Application:
    """Load the tour, render every page and return the application.

    Raises CatalogError when the stop files have problems and no good version of them
    was ever kept (see load_start_tour), before anything serves.
    """
    loaded, start_problems = load_start_tour(settings)
    tour = apply_settings(loaded, settings)
    app = web.Application()
    app[settings_key] = settings
    add_routes(app, tour)
    links = router_links(app)
    check_routes(app, tour, links)
    app[site_key] = SiteHolder(build_site(tour, settings.media_dir, links))
    app[recorder_key] = ScanRecorder(settings.db_path, settings.scan_flush_s)
    app[visits_key] = VisitLog()
    app[beacon_limit_key] = RateLimit(views.BEACONS_PER_CLIENT, views.BEACON_WINDOW_S)
    app[scan_limit_key] = RateLimit(views.NEW_VISITS_PER_CLIENT, views.NEW_VISIT_WINDOW_S)
    app.cleanup_ctx.append(scan_log)
    app.cleanup_ctx.append(manifest_watcher)
    app.cleanup_ctx.append(reload_on_sighup)
    app[admin_key] = create_admin_state(secure_cookies=tour.base_url.startswith("https://"))
    # The dashboard shows why the last good version is served, as after a refused reload.
    app[admin_key].reload_problems = start_problems
    app[studio_key] = StudioState()
    app[staff_db_key] = StaffDatabase(settings.db_path)
    app.cleanup_ctx.append(staff_jobs)
    guard_every_answer(app)  # the security headers, and the end of a body that failed
    quiet_parser_errors()
    return app
