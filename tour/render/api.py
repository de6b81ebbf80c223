"""The tour as data, for the city's smart-city portal and map tools."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tour.core.model import Stop, Tour
from tour.photos.manifest import PhotoEntry, media_type
from tour.render.links import Links
from tour.voice.manifest import AudioEntry


def narration_documents(
    tour: Tour,
    stop: Stop,
    links: Links,
    audio: Mapping[tuple[str, str], AudioEntry],
    audio_folder: Path | None,
) -> dict[str, dict[str, Any]]:
    """One stop's narration per language: its address, length, size and captions."""
    base = tour.base_url
    narration: dict[str, dict[str, Any]] = {}
    for lang in tour.languages:
        entry = audio.get((stop.id, lang))
        if entry is None:
            continue
        path = links.audio(entry.file)
        narration[lang] = {
            "path": path,
            "url": base + path,
            "duration_s": entry.duration_s,
            "size": entry.size,
            "voice": entry.voice,
        }
        if entry.captions:
            narration[lang]["captions"] = links.audio(entry.captions)
            size = file_size(audio_folder / entry.captions) if audio_folder else None
            if size is not None:
                narration[lang]["captions_size"] = size
    return narration


def tour_document(
    tour: Tour,
    links: Links,
    audio: Mapping[tuple[str, str], AudioEntry],
    photos: Mapping[str, PhotoEntry] | None = None,
    audio_folder: Path | None = None,
) -> dict[str, Any]:
    """Return /api/tour.json: every stop with its names, texts, links, narration and photos.

    With `audio_folder`, each narration's captions come with their size in bytes, so the
    page can tell a visitor how much saving the whole tour takes.
    """
    base = tour.base_url
    stops = []
    for number, stop in enumerate(tour.stops, start=1):
        narration = narration_documents(tour, stop, links, audio, audio_folder)
        stops.append(
            {
                "id": stop.id,
                "code": stop.code,
                "number": number,
                "name": dict(stop.name),
                "text": dict(stop.text),
                "location": {
                    "lat": stop.location.lat,
                    "lon": stop.location.lon,
                    "coord_source": stop.location.coord_source,
                },
                "scan_url": f"{base}/s/{stop.code}",
                "pages": {
                    lang: {
                        "path": links.stop(lang, stop.code),
                        "url": base + links.stop(lang, stop.code),
                    }
                    for lang in tour.languages
                },
                "audio": narration,
                "photos": photo_documents(stop, links, base, photos or {}),
            }
        )
    return {
        "title": dict(tour.title),
        "languages": list(tour.languages),
        "default_language": tour.default_language,
        "base_url": base,
        "stops": stops,
    }


def file_size(path: Path) -> int | None:
    """The file's size in bytes; None for a missing file, which is then served as 404."""
    try:
        return path.stat().st_size
    except OSError:
        return None


def photo_documents(
    stop: Stop, links: Links, base: str, photos: Mapping[str, PhotoEntry]
) -> list[dict[str, Any]]:
    """The stop's built photos; `path` and `size` are of the version saved for offline use."""
    documents = []
    for photo in stop.photos:
        entry = photos.get(photo.file)
        if entry is None:
            continue
        saved = links.photo(entry.offline.file)
        documents.append(
            {
                "path": saved,
                "url": base + saved,
                "size": entry.offline.size,
                "width": entry.width,
                "height": entry.height,
                "alt": dict(photo.alt),
                "credit": photo.credit,
                "licence": photo.licence,
                "files": [
                    {
                        "path": links.photo(file.file),
                        "type": media_type(file.format),
                        "width": file.width,
                        "height": file.height,
                        "size": file.size,
                    }
                    for file in entry.files
                ],
            }
        )
    return documents


def stops_geojson(tour: Tour, links: Links) -> dict[str, Any]:
    """Return /api/stops.geojson: an RFC 7946 FeatureCollection, longitude before latitude."""
    features = []
    for number, stop in enumerate(tour.stops, start=1):
        features.append(
            {
                "type": "Feature",
                "id": stop.id,
                "geometry": {
                    "type": "Point",
                    "coordinates": [stop.location.lon, stop.location.lat],
                },
                "properties": {
                    "code": stop.code,
                    "number": number,
                    **{f"name_{lang}": stop.name[lang] for lang in tour.languages},
                    "coord_source": stop.location.coord_source,
                    "url": f"{tour.base_url}/s/{stop.code}",
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def web_app_manifest(tour: Tour) -> dict[str, Any]:
    """Return the manifest that lets visitors add the tour to their home screen."""
    lang = tour.default_language
    return {
        "name": tour.title[lang],
        "short_name": tour.ui[lang]["app_name"],
        "lang": lang,
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#0a3a8c",
        "icons": [
            {"src": "/icons/icon.svg", "sizes": "any", "type": "image/svg+xml"},
            {"src": "/icons/icon-192.png", "sizes": "192x192", "type": "image/png"},
            {
                "src": "/icons/icon-512.png",
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "any maskable",
            },
        ],
    }
