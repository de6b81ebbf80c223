"""Typed keys for what both sides of the application share: settings, pages, scans, staff data.

Each side keeps its own keys beside it (`tour.web.visitor.keys`, `tour.web.studio.keys`),
so neither imports the other to reach its state.
"""

from collections.abc import Callable

from aiohttp import web

from tour.core.settings import Settings
from tour.scans.store import ScanRecorder
from tour.staff.database import StaffDatabase
from tour.web.live_site import SiteHolder

settings_key = web.AppKey("settings", Settings)
site_key = web.AppKey("site", SiteHolder)
recorder_key = web.AppKey("recorder", ScanRecorder)
staff_db_key = web.AppKey("staff_db", StaffDatabase)
not_found_key = web.AppKey[Callable[[web.Request], web.Response]]("not_found")
"""The tour's own 404 page in the visitor's language (the visitor side's `not_found`):
the studio answers it for what it does not serve, without importing the visitor side."""
