"""Addresses in tour.toml and the environment: the base URL and the scan-beacon origins.

Each has one check, shared by tour.toml and its TOUR_* override."""

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


def canonical_origin(value: str) -> str:
    """Return `value` as a browser writes it in the Origin header; raise ValueError why not.

    Browsers send the scheme and host in lower case and leave out a default port,
    so `https://Tour.example:443/` and `https://tour.example` name the same origin.
    """
    text = value.strip()
    if any(char.isspace() for char in text):
        raise ValueError("must not contain spaces")
    parts = urlsplit(text)
    try:
        port = parts.port
    except ValueError:
        raise ValueError("has a port that is not a number from 0 to 65535") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an origin such as https://penyengat.example")
    if "@" in parts.netloc:
        raise ValueError("must not contain a user name or password")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(
            "must be scheme://host[:port] only, with no path, such as https://penyengat.example"
        )
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname  # IPv6
    default_port = {"http": 80, "https": 443}[parts.scheme]
    return f"{parts.scheme}://{host}" + (f":{port}" if port not in (None, default_port) else "")
