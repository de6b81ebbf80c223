"""The studio's stop pages: the list of stops, the stop form, preview and listen."""

from __future__ import annotations

from aiohttp import web


def add_studio_routes(app: web.Application) -> None:
    """Add the studio's routes under /admin/stops."""
