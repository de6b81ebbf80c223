"""The public base URL of a tour: the one check shared by tour.toml and TOUR_BASE_URL."""

from __future__ import annotations

from urllib.parse import urlsplit


def validate_base_url(value: str) -> str | None:
    """Return why `value` cannot be a public base URL, or None when it can."""
    if any(char.isspace() for char in value):
        return "must not contain spaces"
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return "must be an absolute http(s) URL such as https://penyengat.example"
    if parts.query or parts.fragment:
        return "must have no query (?...) or fragment (#...)"
    return None
