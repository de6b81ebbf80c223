"""Build the web application: `create_app(settings)`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from tour.catalog import CatalogError, Problem
from tour.core.errors import TourError
from tour.core.model import Tour
from tour.core.settings import Settings, apply_settings
from tour.render.offline import SHELL
from tour.scans.store import ScanRecorder
from tour.staff.changes import replay_at_start
from tour.staff.last_good import check_files, keep_last_good, last_good_path, load_last_good
from tour.web.common.answer_headers import guard_every_answer
from tour.web.common.bodies import quiet_parser_errors
from tour.web.common.clients import RateLimit
from tour.web.keys import not_found_key, recorder_key, settings_key, site_key
from tour.web.lifecycle import check_routes, manifest_watcher, reload_on_sighup, router_links
from tour.web.live_site import SiteHolder, build_site
from tour.web.studio.app import mount_studio
from tour.web.visitor import views
from tour.web.visitor.keys import beacon_limit_key, scan_limit_key, visits_key
from tour.web.visitor.visits import VisitLog

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


def create_app(settings: Settings) -> web.Application:
    """Load the tour, render every page and return the application.

    Raises CatalogError when the stop files have problems and no good version of them
    was ever kept (see load_start_tour), before anything serves.
    """
    loaded, start_problems = load_start_tour(settings)
    tour = apply_settings(loaded, settings)
    app = web.Application()
    app[settings_key] = settings
    app[not_found_key] = views.not_found
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
    # The staff pages answer 404 until an account exists (checked as each request comes).
    mount_studio(app, tour.base_url.startswith("https://"), start_problems)
    guard_every_answer(app)  # the security headers, and the end of a body that failed
    quiet_parser_errors()
    return app
