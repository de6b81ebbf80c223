"""Immutable model of a tour: what the stop files say, after validation."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

EARTH_RADIUS_M = 6_371_000.0

# How a coordinate was obtained, so a field check knows which ones to verify.
COORD_SOURCES = ("surveyed", "osm", "wikipedia", "unverified", "estimated")


@dataclass(frozen=True, slots=True)
class Location:
    lat: float
    lon: float
    coord_source: str
    coord_note: str = ""

    @property
    def is_estimated(self) -> bool:
        return self.coord_source == "estimated"

    def distance_m(self, other: Location) -> float:
        """Return the great-circle (haversine) distance in metres."""
        lat1, lat2 = math.radians(self.lat), math.radians(other.lat)
        dlat = lat2 - lat1
        dlon = math.radians(other.lon - self.lon)
        a = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
        return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))

    def bearing_deg(self, other: Location) -> float:
        """Return the initial compass bearing towards `other`, 0–360 degrees."""
        lat1, lat2 = math.radians(self.lat), math.radians(other.lat)
        dlon = math.radians(other.lon - self.lon)
        x = math.sin(dlon) * math.cos(lat2)
        y = math.cos(lat1) * math.sin(lat2) - math.sin(lat1) * math.cos(lat2) * math.cos(dlon)
        return (math.degrees(math.atan2(x, y)) + 360.0) % 360.0


@dataclass(frozen=True, slots=True)
class Bounds:
    south: float
    west: float
    north: float
    east: float

    def contains(self, lat: float, lon: float) -> bool:
        return self.south <= lat <= self.north and self.west <= lon <= self.east


@dataclass(frozen=True, slots=True)
class LengthRange:
    """How long a stop's text should be, in its language's unit (words or characters)."""

    low: int
    high: int


@dataclass(frozen=True, slots=True)
class Photo:
    """A photo of a stop, with what the page must say about it."""

    file: str
    """The image, relative to the stops folder, as a normalised POSIX path."""
    alt: Mapping[str, str]
    """Per tour language, what the photo shows, for visitors who cannot see it."""
    credit: str
    licence: str


@dataclass(frozen=True, slots=True)
class Stop:
    id: str
    code: str
    location: Location
    name: Mapping[str, str]
    text: Mapping[str, str]
    spoken: Mapping[str, str]
    sources: tuple[str, ...] = ()
    photos: tuple[Photo, ...] = ()
    """The first is shown under the title, the others in a strip further down."""

    def paragraphs(self, lang: str) -> list[str]:
        """Split the text into paragraphs at blank lines, folding line breaks."""
        blocks = self.text[lang].strip().split("\n\n")
        return [" ".join(block.split()) for block in blocks if block.strip()]


@dataclass(frozen=True, slots=True)
class Note:
    """A practical note (dress code, photography, the boat back) shown at some stops."""

    stops: tuple[str, ...]
    """Stop ids where the note applies."""
    text: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Tour:
    title: Mapping[str, str]
    languages: tuple[str, ...]
    default_language: str
    base_url: str
    bounds: Bounds
    walking_speed_kmh: float
    stops: tuple[Stop, ...]
    """The stops in walking order."""
    ui: Mapping[str, Mapping[str, str]]
    """Interface strings per language, so a new language is a data edit."""
    pronounce: Mapping[str, Mapping[str, str]]
    """Per language, word → how the voice should say it."""
    qr_error_correction: str
    """QR error correction level, L, M, Q or H; H survives more damage on exposed plaques."""
    scan_distance_m: float
    """How far from a plaque a visitor should be able to scan it."""
    fallbacks: Mapping[str, str]
    """A visitor language the tour lacks → the tour language to offer instead (ms → id)."""
    notes: tuple[Note, ...]
    text_length: Mapping[str, LengthRange] = field(default_factory=lambda: MappingProxyType({}))
    """Per unit ("words", "characters"), the length a stop's text should have."""
    scan_beacon_origins: tuple[str, ...] = ()
    """Origins of static copies (`tour export --scan-endpoint`) allowed to report scans."""
    retired: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """Codes no stop has any more → the stop id they moved to, or "" when the stop closed.

    Plaques stay on walls, so an old code keeps answering with a short page."""

    def stop_by_code(self, code: str) -> Stop | None:
        for stop in self.stops:
            if stop.code == code:
                return stop
        return None

    def stop_by_id(self, stop_id: str) -> Stop | None:
        for stop in self.stops:
            if stop.id == stop_id:
                return stop
        return None

    def position(self, stop: Stop) -> int:
        """Return the 1-based place of `stop` in the walking order."""
        return self.stops.index(stop) + 1

    def neighbours(self, stop: Stop) -> tuple[Stop | None, Stop | None]:
        """Return the previous and next stops in walking order."""
        index = self.stops.index(stop)
        previous = self.stops[index - 1] if index > 0 else None
        following = self.stops[index + 1] if index + 1 < len(self.stops) else None
        return previous, following

    def notes_for(self, stop: Stop) -> list[Note]:
        return [note for note in self.notes if stop.id in note.stops]

    def walking_minutes(self, metres: float) -> int:
        return max(1, round(metres / (self.walking_speed_kmh * 1000 / 60)))


def frozen_mapping(values: Mapping[str, str]) -> Mapping[str, str]:
    """Return a read-only copy, so a loaded tour cannot be changed by accident."""
    return MappingProxyType(dict(values))
