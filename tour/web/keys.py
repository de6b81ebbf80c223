"""Typed keys for everything the application stores."""

from aiohttp import web

from tour.model import Tour
from tour.settings import Settings
from tour.web.pages import PageSet

settings_key = web.AppKey("settings", Settings)
tour_key = web.AppKey("tour", Tour)
pages_key = web.AppKey("pages", PageSet)
