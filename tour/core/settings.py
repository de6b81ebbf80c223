"""Deployment settings: where the stop files, media and database live."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tour.core.errors import SettingsError
from tour.core.model import Tour
from tour.core.paths import bundled_stops_dir
from tour.core.urls import canonical_origin, validate_base_url

DEFAULT_MEDIA_DIR = Path("media")
DEFAULT_DB_PATH = Path("var") / "tour.sqlite3"
DEFAULT_TIME_ZONE = "Asia/Jakarta"


@dataclass(frozen=True, slots=True)
class Settings:
    stops_dir: Path
    media_dir: Path = DEFAULT_MEDIA_DIR
    db_path: Path = DEFAULT_DB_PATH
    base_url: str | None = None
    """Overrides tour.toml's base_url when set (TOUR_BASE_URL)."""
    time_zone: str = DEFAULT_TIME_ZONE
    """The tour's time zone, for dates on the staff pages (TOUR_TIME_ZONE)."""
    scan_origins: tuple[str, ...] | None = None
    """Overrides tour.toml's scan_beacon_origins when set (TOUR_SCAN_ORIGINS)."""
    manifest_poll_s: float = 1.0
    """How often the server looks for narration that `tour audio` has rebuilt."""
    manifest_settle_s: float = 60.0
    """While a narration build runs, re-render once the manifest is this long unchanged.

    A bound for a stalled build, not a pause between files: a slow voice (Google,
    sentence by sentence) takes well over 5 s per file, and each re-render is a new
    service worker for every online visitor. A build that ends re-renders at once."""
    count_scans: bool = True
    """Log QR scans; off only to measure what logging costs."""
    scan_flush_s: float = 1.0
    """How often pending scans are written: at most this much is lost in a crash."""
    audio_engine: str = "auto"
    """The voice for narration rebuilt from the staff pages."""
    body_timeout_s: float = 30.0
    """How long a posted form may take to arrive, in all, before the answer is 408.

    Staff forms are text, tens of kilobytes: seconds even on a slow phone line. A body
    stalled for longer is a dropped connection or a slow-body attack, and must not hold
    a connection open, whatever proxy stands in front."""

    def __post_init__(self) -> None:
        # Checked here, once, so every command and the server refuse the same bad address.
        if self.base_url is not None:
            reason = validate_base_url(self.base_url)
            if reason:
                raise SettingsError(f"TOUR_BASE_URL: '{self.base_url}' {reason}")
            object.__setattr__(self, "base_url", self.base_url.rstrip("/"))
        if self.scan_origins is not None:
            origins = []
            for origin in self.scan_origins:
                try:
                    origins.append(canonical_origin(origin))
                except ValueError as reason:
                    raise SettingsError(f"TOUR_SCAN_ORIGINS: '{origin}' {reason}") from None
            object.__setattr__(self, "scan_origins", tuple(dict.fromkeys(origins)))
        zone_problem = time_zone_problem(self.time_zone)
        if zone_problem:
            raise SettingsError(f"TOUR_TIME_ZONE: '{self.time_zone}' {zone_problem}")

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        stops_dir: Path | None = None,
        media_dir: Path | None = None,
        db_path: Path | None = None,
    ) -> Settings:
        """Build settings from options, falling back to TOUR_* variables, then defaults."""
        env = os.environ if environ is None else environ
        return cls(
            stops_dir=stops_dir or bundled_stops_dir(),
            media_dir=media_dir or Path(env.get("TOUR_MEDIA") or DEFAULT_MEDIA_DIR),
            db_path=db_path or Path(env.get("TOUR_DB") or DEFAULT_DB_PATH),
            base_url=env.get("TOUR_BASE_URL") or None,
            time_zone=env.get("TOUR_TIME_ZONE") or DEFAULT_TIME_ZONE,
            scan_origins=split_origins(env.get("TOUR_SCAN_ORIGINS", "")),
        )


def time_zone_problem(name: str) -> str:
    """Say what is wrong with the time zone `name`; "" when zoneinfo knows it."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return "is not a time zone; use an IANA name such as Asia/Jakarta"
    return ""


def split_origins(value: str) -> tuple[str, ...] | None:
    """Split a comma- or space-separated list of origins; None when there is none."""
    origins = tuple(part for part in value.replace(",", " ").split() if part)
    return origins or None


def apply_settings(tour: Tour, settings: Settings) -> Tour:
    """Let the deployment's TOUR_BASE_URL and TOUR_SCAN_ORIGINS override tour.toml."""
    if settings.base_url is not None:
        tour = replace(tour, base_url=settings.base_url)
    if settings.scan_origins is not None:
        tour = replace(tour, scan_beacon_origins=settings.scan_origins)
    return tour
