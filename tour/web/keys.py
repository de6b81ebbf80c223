"""Typed keys for everything the application stores."""

from aiohttp import web

from tour.core.settings import Settings
from tour.scans.store import ScanRecorder
from tour.staff.database import StaffDatabase
from tour.web.admin_state import AdminState
from tour.web.clients import RateLimit
from tour.web.site import SiteHolder
from tour.web.studio_state import StudioState
from tour.web.visits import VisitLog

settings_key = web.AppKey("settings", Settings)
site_key = web.AppKey("site", SiteHolder)
recorder_key = web.AppKey("recorder", ScanRecorder)
admin_key = web.AppKey("admin", AdminState)
staff_db_key = web.AppKey("staff_db", StaffDatabase)
studio_key = web.AppKey("studio", StudioState)
visits_key = web.AppKey("visits", VisitLog)
beacon_limit_key = web.AppKey("beacon_limit", RateLimit)
scan_limit_key = web.AppKey("scan_limit", RateLimit)
