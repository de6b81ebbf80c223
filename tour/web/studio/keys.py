"""Typed keys for what the studio keeps between requests."""

from aiohttp import web

from tour.web.studio.admin_state import AdminState
from tour.web.studio.state import StudioState

admin_key = web.AppKey("admin", AdminState)
studio_key = web.AppKey("studio", StudioState)
