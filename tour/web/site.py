"""The served state of a tour: its model, narration manifest and rendered pages.

The state is replaced as a whole when the narration manifest changes, so a
request always sees pages and audio files from the same build.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tour.errors import TourError
from tour.model import Tour
from tour.narration import (
    AudioEntry,
    Manifest,
    audio_dir,
    is_current,
    load_manifest,
    manifest_path,
)
from tour.web.api import stops_geojson, tour_document, web_app_manifest
from tour.web.icons import ICON_SVG, icon_png
from tour.web.negotiation import Negotiator
from tour.web.pages import (
    AudioLink,
    Links,
    PageSet,
    StoredResponse,
    make_environment,
    render_pages,
)

log = logging.getLogger(__name__)

ManifestStamp = tuple[int, int] | None
VARY_ENCODING = "Accept-Encoding"
VARY_NEGOTIATED = "Accept-Encoding, Accept-Language, Cookie"


@dataclass(frozen=True, slots=True)
class Site:
    tour: Tour
    manifest: Manifest
    pages: PageSet
    api: Mapping[str, StoredResponse]
    """The tour as data, by file name under /api/."""
    assets: Mapping[str, StoredResponse]
    """The service worker, its script, the web app manifest and icons, by path."""
    audio_files: Mapping[str, Path]
    """Every audio file the manifest names, by file name: the only ones served."""
    manifest_stamp: ManifestStamp
    security_headers: Mapping[str, str]
    negotiator: Negotiator
    stop_ids: Mapping[str, str]
    """Stop id by code, for counting scans."""
    _header_sets: dict[tuple[int, bool, bool, bool], dict[str, str]] = field(default_factory=dict)

    def headers_for(
        self, stored: StoredResponse, use_gzip: bool, negotiated: bool, public: bool
    ) -> dict[str, str]:
        """Return the full header set for sending `stored`, built once and then reused."""
        key = (id(stored), use_gzip, negotiated, public)
        headers = self._header_sets.get(key)
        if headers is None:
            headers = dict(self.security_headers)
            headers["Vary"] = VARY_NEGOTIATED if negotiated else VARY_ENCODING
            headers["Cache-Control"] = "private, no-cache" if negotiated else "public, no-cache"
            if stored.lang:
                headers["Content-Language"] = stored.lang
            if public:
                headers["Access-Control-Allow-Origin"] = "*"
            headers["ETag"] = stored.gzip_etag if use_gzip else stored.etag
            headers["Content-Type"] = stored.content_type
            if use_gzip:
                headers["Content-Encoding"] = "gzip"
            self._header_sets[key] = headers
        return headers


class SiteHolder:
    """Holds the current Site; swapping `current` is atomic for request handlers."""

    def __init__(self, site: Site) -> None:
        self.current = site
        # Rebuilds (new narration, reloaded stop files) take turns, so a slow one that
        # started from the old tour can never overwrite a reload that finished meanwhile.
        self.rebuilding = asyncio.Lock()


def manifest_stamp(media_dir: Path) -> ManifestStamp:
    try:
        status = manifest_path(media_dir).stat()
    except OSError:
        return None
    return status.st_mtime_ns, status.st_size


def format_duration(seconds: float) -> str:
    whole = math.ceil(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def build_site(tour: Tour, media_dir: Path, links: Links) -> Site:
    """Read the manifest and render every page with the audio that matches its text."""
    stamp = manifest_stamp(media_dir)
    try:
        manifest = load_manifest(media_dir)
    except TourError as error:
        log.warning("%s; serving pages without narration", error)
        manifest = Manifest()
    folder = audio_dir(media_dir)
    current: dict[tuple[str, str], AudioEntry] = {}
    for stop in tour.stops:
        for lang in tour.languages:
            entry = manifest.entries.get((stop.id, lang))
            # Stale audio speaks an older text: leave it off rather than disagree with the page.
            if entry is not None and is_current(tour, stop, lang, entry):
                current[(stop.id, lang)] = entry
    audio = {
        key: AudioLink(
            url=links.audio(entry.file),
            duration=format_duration(entry.duration_s),
            size=entry.size,
        )
        for key, entry in current.items()
    }
    pages = render_pages(tour, links, audio)
    api = {
        "tour.json": StoredResponse.from_json(tour_document(tour, links, current)),
        "stops.geojson": StoredResponse.from_json(
            stops_geojson(tour, links), "application/geo+json"
        ),
    }
    return Site(
        tour=tour,
        manifest=manifest,
        pages=pages,
        api=api,
        assets=offline_assets(tour, pages, api, [link.url for link in audio.values()]),
        audio_files={name: folder / name for name in manifest.files()},
        manifest_stamp=stamp,
        security_headers=security_headers(tour, pages.content_security_policy),
        negotiator=Negotiator(tour.languages, tour.default_language, tour.fallbacks),
        stop_ids={stop.code: stop.id for stop in tour.stops},
    )


ICON_PATHS = {"/icons/icon-192.png": 192, "/icons/icon-512.png": 512}
SHELL = ("/offline.js", "/manifest.webmanifest", "/icons/icon.svg", *ICON_PATHS)


def offline_assets(
    tour: Tour,
    pages: PageSet,
    api: Mapping[str, StoredResponse],
    audio_paths: list[str],
) -> dict[str, StoredResponse]:
    """Build what makes the tour work offline and installable, all from this build."""
    environment = make_environment()
    offline_script = environment.get_template("offline.js").render()
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


def security_headers(tour: Tour, policy: str) -> dict[str, str]:
    """Headers every response carries; HSTS only when the public address is https."""
    headers = {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Permissions-Policy": "geolocation=(self), camera=(), microphone=(), payment=(), usb=()",
    }
    if tour.base_url.startswith("https://"):
        headers["Strict-Transport-Security"] = "max-age=31536000"
    return headers
