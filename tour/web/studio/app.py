"""The studio as its own aiohttp application, mounted at /admin on the tour's.

`mount_studio` builds it from the route table (`routes.ROUTES`) with the access
middleware, gives it the tour's settings, pages and scan log (the same objects, so a
reload is seen on both sides) and its own state. The staff database opens in a cleanup
context of the tour's app, the last, so the background jobs stop first when the server stops.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator

from aiohttp import web

from tour.catalog import Problem
from tour.core.errors import TourError
from tour.scans.store import StoreError
from tour.staff.changes import finish_pending
from tour.staff.database import StaffDatabase
from tour.web.common.policy import STAFF_PREFIX
from tour.web.keys import not_found_key, recorder_key, settings_key, site_key, staff_db_key
from tour.web.studio.access import add_staff_routes, staff_access, unknown_path
from tour.web.studio.keys import studio_key
from tour.web.studio.routes import ROUTES
from tour.web.studio.state import create_studio_state

log = logging.getLogger(__name__)


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
        await app[studio_key].jobs.stop()
    finally:
        await db.close()


async def finish_pending_at_start(app: web.Application) -> None:
    """Record a change a crash interrupted, before any staff page can read the history."""
    db = app[staff_db_key]
    if not db.is_open:
        return
    try:
        await finish_pending(db, app[settings_key].stops_dir)
    except (sqlite3.Error, OSError, TourError) as error:
        log.warning("the unfinished studio change is not recorded yet (%s); it stays", error)


def create_studio_app(tour_app: web.Application, secure_cookies: bool) -> web.Application:
    """The studio's application: its routes, its middleware, the tour's shared objects."""
    studio = web.Application(middlewares=[staff_access])
    studio[settings_key] = tour_app[settings_key]
    studio[site_key] = tour_app[site_key]
    studio[recorder_key] = tour_app[recorder_key]
    studio[not_found_key] = tour_app[not_found_key]
    studio[studio_key] = create_studio_state(secure_cookies=secure_cookies)
    studio[staff_db_key] = StaffDatabase(tour_app[settings_key].db_path)
    add_staff_routes(studio, ROUTES)
    # Last: any other path under /admin gets the tour's 404 page, as before the sub-app.
    studio.router.add_get("/{path:.*}", unknown_path, name="unknown")
    return studio


def mount_studio(
    tour_app: web.Application, secure_cookies: bool, start_problems: list[Problem]
) -> web.Application:
    """Mount the studio at /admin; the tour's app keeps its state too.

    The tour's app needs the publish lock and the staff database for a reload by
    SIGHUP (lifecycle.reload_on_sighup), as the dashboard's Reload does.
    """
    studio = create_studio_app(tour_app, secure_cookies)
    # The dashboard shows why the last good version is served, as after a refused reload.
    studio[studio_key].reload_problems = start_problems
    tour_app[studio_key] = studio[studio_key]
    tour_app[staff_db_key] = studio[staff_db_key]
    # In the tour's app, after its own contexts: aiohttp ends a sub-app's contexts after
    # its parent's, and the jobs must stop while the scan log, the manifest watcher and
    # the SIGHUP handler still run.
    tour_app.cleanup_ctx.append(staff_jobs)
    tour_app.add_subapp(STAFF_PREFIX, studio)
    return studio
