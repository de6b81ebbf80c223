"""The studio's walk pages: history and restore, adding, reordering and retiring stops."""

from __future__ import annotations

from aiohttp import web


def add_walk_routes(app: web.Application) -> None:
    """Add the walk's routes under /admin/stops and /admin/plaques."""
