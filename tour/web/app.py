"""Build the web application: `create_app(settings)`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace

from aiohttp import web

from tour.catalog import load_tour, validate_base_url
from tour.errors import SettingsError
from tour.model import Tour
from tour.settings import Settings
from tour.web import views
from tour.web.keys import settings_key, site_key
from tour.web.pages import Links
from tour.web.site import SiteHolder, build_site, watch_manifest


def add_routes(app: web.Application) -> None:
    router = app.router
    router.add_get("/healthz", views.healthz, name="healthz")
    router.add_get("/robots.txt", views.robots, name="robots")
    router.add_get("/api/{name}", views.api_document, name="api")
    router.add_get("/media/audio/{name}", views.audio_file, name="audio")
    router.add_get("/s/{code}", views.scan, name="scan")
    router.add_get("/", views.index, name="home")
    router.add_get("/{lang:[a-z]{2}}", views.language_root, name="language_root")
    router.add_get("/{lang:[a-z]{2}}/", views.index, name="index")
    router.add_get("/{lang:[a-z]{2}}/{code}", views.stop_page, name="stop")
    # Last: every other path gets the tour's 404 page (cheaper than a middleware on each request).
    router.add_get("/{path:.*}", views.unknown_path, name="unknown")


def router_links(app: web.Application) -> Links:
    """Build page links from the router, so templates never assemble URLs by hand."""
    router = app.router
    return Links(
        index=lambda lang: str(router["index"].url_for(lang=lang)),
        stop=lambda lang, code: str(router["stop"].url_for(lang=lang, code=code)),
        audio=lambda name: str(router["audio"].url_for(name=name)),
    )


def apply_settings(tour: Tour, settings: Settings) -> Tour:
    """Let the deployment's TOUR_BASE_URL override the base URL of tour.toml."""
    if settings.base_url is None:
        return tour
    reason = validate_base_url(settings.base_url)
    if reason:
        raise SettingsError(f"TOUR_BASE_URL: '{settings.base_url}' {reason}")
    return replace(tour, base_url=settings.base_url.rstrip("/"))


async def manifest_watcher(app: web.Application) -> AsyncIterator[None]:
    """Pick up narration that `tour audio` builds while the server runs."""
    settings = app[settings_key]
    task = asyncio.create_task(
        watch_manifest(
            app[site_key], settings.media_dir, router_links(app), settings.manifest_poll_s
        )
    )
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def create_app(settings: Settings) -> web.Application:
    """Load the tour, render every page and return the application.

    Raises CatalogError when the stop files have problems, before anything serves.
    """
    tour = apply_settings(load_tour(settings.stops_dir), settings)
    app = web.Application()
    app[settings_key] = settings
    add_routes(app)
    app[site_key] = SiteHolder(build_site(tour, settings.media_dir, router_links(app)))
    app.cleanup_ctx.append(manifest_watcher)
    return app
