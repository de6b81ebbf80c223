"""Dates as people on Penyengat write them: `28 Nov 2026 20.15 WIB`, in the tour's zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

MONTHS = {
    "id": ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"),
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}
# Indonesian writes the time with a dot (KBBI/EYD: 20.15); English with a colon.
TIME_SEPARATOR = {"id": ".", "en": ":"}


def format_moment(at: float, zone: ZoneInfo, lang: str) -> str:
    """`at` (Unix seconds) in `zone`: `28 Nov 2026 20.15 WIB` (id) or `... 20:15 WIB` (en)."""
    lang = lang if lang in MONTHS else "id"
    moment = datetime.fromtimestamp(at, zone)
    month = MONTHS[lang][moment.month - 1]
    clock = f"{moment.hour:02d}{TIME_SEPARATOR[lang]}{moment.minute:02d}"
    return f"{moment.day} {month} {moment.year} {clock} {moment.tzname()}"
