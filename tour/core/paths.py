"""Folders shipped inside the package."""

from __future__ import annotations

from pathlib import Path


def bundled_stops_dir() -> Path:
    """Return the folder of the tour shipped with the package."""
    return Path(__file__).parent.parent / "stops"
