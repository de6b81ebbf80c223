"""Replacing what the server serves while it runs: new narration, edited stop files."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator

from aiohttp import web

from tour.catalog import Problem, check_tour
from tour.model import Tour
from tour.render.links import PATH_LINKS, Links
from tour.settings import apply_settings
from tour.web.keys import settings_key, site_key
from tour.web.site import build_site, watch_manifest

log = logging.getLogger(__name__)


def router_links(app: web.Application) -> Links:
    """Return the links pages carry: the renderer's plain paths.

    `create_app` has checked with `check_routes` that this app's router serves them.
    """
    return PATH_LINKS


def check_routes(app: web.Application, tour: Tour, links: Links) -> None:
    """Fail at start-up, naming the route, if the router and the rendered links disagree."""
    router = app.router
    audio = "masjid-raya.id.0123456789ab.mp3"  # as narration names its files
    photo = "0123456789abcdef-480.avif"  # as `tour photos` names its files
    expected = [
        ("audio", str(router["audio"].url_for(name=audio)), links.audio(audio)),
        ("photo", str(router["photo"].url_for(name=photo)), links.photo(photo)),
    ]
    for lang in tour.languages:
        expected.append(("index", str(router["index"].url_for(lang=lang)), links.index(lang)))
        for stop in tour.stops:
            routed = str(router["stop"].url_for(lang=lang, code=stop.code))
            expected.append(("stop", routed, links.stop(lang, stop.code)))
    for name, routed, linked in expected:
        if routed != linked:
            raise RuntimeError(f"route '{name}' serves {routed} but pages link to {linked}")


async def rebuild_site(app: web.Application) -> None:
    """Re-read the narration manifest and switch every page to it at once."""
    holder = app[site_key]
    settings = app[settings_key]
    async with holder.rebuilding:
        holder.current = await asyncio.to_thread(
            build_site, holder.current.tour, settings.media_dir, router_links(app)
        )


async def reload_site(app: web.Application) -> list[Problem]:
    """Reload the stop files; on any problem keep the live tour and return the problems."""
    settings = app[settings_key]
    holder = app[site_key]
    async with holder.rebuilding:
        tour, problems = await asyncio.to_thread(check_tour, settings.stops_dir)
        if tour is None:
            for problem in problems:
                log.warning("reload refused: %s", problem)
            return problems
        tour = apply_settings(tour, settings)
        holder.current = await asyncio.to_thread(
            build_site, tour, settings.media_dir, router_links(app)
        )
    log.info("reloaded %d stops from %s", len(tour.stops), settings.stops_dir)
    return []


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


async def reload_on_sighup(app: web.Application) -> AsyncIterator[None]:
    """`kill -HUP` reloads the stop files, as the staff page's Reload button does."""
    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task[list[Problem]]] = set()

    def start_reload() -> None:
        task = asyncio.create_task(reload_site(app))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    try:
        loop.add_signal_handler(signal.SIGHUP, start_reload)
        installed = True
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or Windows
        installed = False
    yield
    if installed:
        loop.remove_signal_handler(signal.SIGHUP)
