"""Typed keys for what the studio keeps between requests."""

from aiohttp import web

from tour.web.studio.state import StudioState

studio_key = web.AppKey("studio", StudioState)
