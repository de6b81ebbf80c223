"""Typed keys for everything the application stores."""

from aiohttp import web

from tour.settings import Settings
from tour.web.site import SiteHolder

settings_key = web.AppKey("settings", Settings)
site_key = web.AppKey("site", SiteHolder)
