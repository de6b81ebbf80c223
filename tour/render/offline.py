"""What makes the tour work offline and installable: the service worker and its shell."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from tour.core.model import Tour
from tour.render.api import web_app_manifest
from tour.render.icons import ICON_SVG, icon_png
from tour.render.pages import PageSet, make_environment
from tour.render.stored import StoredResponse

ICON_PATHS = {"/icons/icon-192.png": 192, "/icons/icon-512.png": 512}
SHELL = ("/offline.js", "/manifest.webmanifest", "/icons/icon.svg", *ICON_PATHS)


def arrival_words(tour: Tour) -> dict[str, dict[str, str]]:
    """The arrival banner's words, by tour language (each page's `data-lang`).

    They travel in the cached script, not in every page: the first view stays as it was.
    """
    return {
        code: {
            "offer": tour.ui[code]["arrival_offer"],
            "open": tour.ui[code]["arrival_open"],
            "dismiss": tour.ui[code]["arrival_dismiss"],
        }
        for code in tour.languages
    }


def offline_assets(
    tour: Tour,
    pages: PageSet,
    api: Mapping[str, StoredResponse],
    audio_paths: list[str],
) -> dict[str, StoredResponse]:
    """Build what makes the tour work offline and installable, all from this build."""
    environment = make_environment()
    offline_script = environment.get_template("offline.js").render(
        arrival_words=arrival_words(tour)
    )
    stored = [*pages.stops.values(), *pages.indexes.values(), *api.values()]
    digest = hashlib.sha256()
    for item in stored:
        digest.update(item.etag.encode())
    digest.update(offline_script.encode())
    # A new build of pages or narration gets a new cache name; old caches are then dropped.
    version = digest.hexdigest()[:12]
    worker = environment.get_template("sw.js").render(
        version=version,
        languages=list(tour.languages),
        audio=sorted(audio_paths),
        shell=list(SHELL),
    )
    assets = {
        "/sw.js": StoredResponse.from_bytes(worker.encode(), "text/javascript; charset=utf-8"),
        "/offline.js": StoredResponse.from_bytes(
            offline_script.encode(), "text/javascript; charset=utf-8"
        ),
        "/manifest.webmanifest": StoredResponse.from_json(
            web_app_manifest(tour), "application/manifest+json"
        ),
        "/icons/icon.svg": StoredResponse.from_bytes(ICON_SVG.encode(), "image/svg+xml"),
    }
    for path, size in ICON_PATHS.items():
        assets[path] = StoredResponse.from_bytes(icon_png(size), "image/png")
    return assets
