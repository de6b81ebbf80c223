"""Render a whole tour: the model and its narration manifest in, every file's bytes out.

`tour serve` keeps the result in memory and `tour export` writes it to disk, so both
send the very same bytes.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tour.core.errors import TourError
from tour.core.model import Tour
from tour.photos.manifest import PhotoEntry, PhotoManifest, load_photo_manifest, photos_dir
from tour.render.api import file_size, stops_geojson, tour_document
from tour.render.links import Links
from tour.render.offline import offline_assets
from tour.render.pages import AudioLink, PageSet, render_pages
from tour.render.stored import StoredResponse
from tour.voice.manifest import AudioEntry, Manifest, audio_dir, is_current, load_manifest

log = logging.getLogger(__name__)

ROBOTS_TXT = "User-agent: *\nAllow: /\n"


@dataclass(frozen=True, slots=True)
class RenderedSite:
    tour: Tour
    manifest: Manifest
    pages: PageSet
    api: Mapping[str, StoredResponse]
    """The tour as data, by file name under /api/."""
    assets: Mapping[str, StoredResponse]
    """The service worker, its script, the web app manifest and icons, by path."""
    audio_files: Mapping[str, Path]
    """Every audio file the manifest names, by file name: the only ones served."""
    photo_files: Mapping[str, Path]
    """Every file of the tour's built photos, by file name: the only ones served."""


def format_duration(seconds: float) -> str:
    whole = math.ceil(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def read_manifest(media_dir: Path) -> Manifest:
    """Read the narration manifest; an unreadable one leaves the pages without narration."""
    try:
        return load_manifest(media_dir)
    except TourError as error:
        log.warning("%s; serving pages without narration", error)
        return Manifest()


def read_photo_manifest(media_dir: Path) -> PhotoManifest:
    """Read the photo manifest; an unreadable one leaves the pages without photos."""
    try:
        return load_photo_manifest(media_dir)
    except TourError as error:
        log.warning("%s; serving pages without photos", error)
        return PhotoManifest()


def render_site(
    tour: Tour,
    manifest: Manifest,
    media_dir: Path,
    links: Links,
    photo_manifest: PhotoManifest | None = None,
) -> RenderedSite:
    """Render every page with the audio that matches its text, and the photos built."""
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
            captions=links.audio(entry.captions) if entry.captions else "",
            captions_size=(file_size(folder / entry.captions) or 0) if entry.captions else 0,
        )
        for key, entry in current.items()
    }
    built = photo_manifest.entries if photo_manifest is not None else {}
    photos: dict[str, PhotoEntry] = {
        photo.file: built[photo.file]
        for stop in tour.stops
        for photo in stop.photos
        if photo.file in built
    }
    pages = render_pages(tour, links, audio, photos=photos)
    api = {
        "tour.json": StoredResponse.from_json(tour_document(tour, links, current, photos, folder)),
        "stops.geojson": StoredResponse.from_json(
            stops_geojson(tour, links), "application/geo+json"
        ),
    }
    return RenderedSite(
        tour=tour,
        manifest=manifest,
        pages=pages,
        api=api,
        assets=offline_assets(
            tour,
            pages,
            api,
            [url for link in audio.values() for url in (link.url, link.captions) if url],
        ),
        audio_files={name: folder / name for name in manifest.files()},
        photo_files={
            file.file: photos_dir(media_dir) / file.file
            for entry in photos.values()
            for file in entry.files
        },
    )
