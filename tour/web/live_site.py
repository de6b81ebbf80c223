"""The served state of a tour: its model, narration manifest, rendered pages and headers.

The state is replaced as a whole when the narration manifest changes, so a
request always sees pages and audio files from the same build.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

from multidict import CIMultiDict

from tour.core.model import Tour
from tour.photos.manifest import photo_manifest_path
from tour.render.headers import security_headers
from tour.render.links import Links
from tour.render.site import RenderedSite, read_manifest, read_photo_manifest, render_site
from tour.render.stored import StoredResponse
from tour.voice.manifest import manifest_path
from tour.web.common.negotiation import Negotiator

log = logging.getLogger(__name__)

ManifestStamp = tuple[tuple[int, int] | None, ...]
VARY_ENCODING = "Accept-Encoding"
VARY_NEGOTIATED = "Accept-Encoding, Accept-Language, Cookie"


@dataclass(frozen=True, slots=True)
class Site(RenderedSite):
    """What the renderer made, and what serving it over HTTP needs besides."""

    manifest_stamp: ManifestStamp
    security_headers: Mapping[str, str]
    negotiator: Negotiator
    stop_ids: Mapping[str, str]
    """Stop id by code, for counting scans."""
    _header_sets: dict[tuple[int, bool, bool, bool], CIMultiDict[str]] = field(default_factory=dict)

    def headers_for(
        self, stored: StoredResponse, use_gzip: bool, negotiated: bool, public: bool
    ) -> CIMultiDict[str]:
        """Return the full header set for sending `stored`, built once and then reused.

        A CIMultiDict, not a dict: every response copies its headers into one, and
        copying one CIMultiDict into another is several times cheaper (a QR scan's cost).
        Never changed after it is built; responses change their own copies.
        """
        key = (id(stored), use_gzip, negotiated, public)
        headers = self._header_sets.get(key)
        if headers is None:
            headers = CIMultiDict(self.security_headers)
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
    """Say when the narration and photo manifests last changed."""
    stamps: list[tuple[int, int] | None] = []
    for path in (manifest_path(media_dir), photo_manifest_path(media_dir)):
        try:
            status = path.stat()
        except OSError:
            stamps.append(None)
            continue
        stamps.append((status.st_mtime_ns, status.st_size))
    return tuple(stamps)


def build_site(tour: Tour, media_dir: Path, links: Links) -> Site:
    """Read the manifest and render every page with the audio that matches its text."""
    stamp = manifest_stamp(media_dir)
    rendered = render_site(
        tour, read_manifest(media_dir), media_dir, links, read_photo_manifest(media_dir)
    )
    return Site(
        **{field.name: getattr(rendered, field.name) for field in fields(rendered)},
        manifest_stamp=stamp,
        security_headers=security_headers(tour, rendered.pages.content_security_policy),
        negotiator=Negotiator(tour.languages, tour.default_language, tour.fallbacks),
        stop_ids={stop.code: stop.id for stop in tour.stops},
    )
