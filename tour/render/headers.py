"""The security headers every response of the tour carries, served or exported."""

from __future__ import annotations

from tour.core.model import Tour


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
