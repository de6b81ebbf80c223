"""Pick the visitor's language and content encoding from request headers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeVar

LANGUAGE_COOKIE = "lang"
_T = TypeVar("_T")


def parse_quality_list(header: str) -> list[tuple[str, float]]:
    """Parse `a;q=0.5, b` into (value, quality) pairs, best first, ignoring junk."""
    entries: list[tuple[int, str, float]] = []
    for position, part in enumerate(header.split(",")):
        value, *params = (piece.strip() for piece in part.split(";"))
        if not value:
            continue
        quality = 1.0
        for param in params:
            name, _, raw = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(raw)
                except ValueError:
                    quality = 0.0
                if not 0.0 <= quality <= 1.0:
                    quality = 0.0
        entries.append((position, value.lower(), quality))
    # Highest quality first; among equals, the order the client wrote them.
    entries.sort(key=lambda entry: (-entry[2], entry[0]))
    return [(value, quality) for _, value, quality in entries]


def language_from_header(
    header: str, languages: Iterable[str], fallbacks: Mapping[str, str] | None = None
) -> str | None:
    """Return the best tour language for an Accept-Language header, if any fits.

    A language the tour has wins, best quality first; only when none matches does
    the fallback table map the visitor's languages (Malay → Indonesian, say).
    """
    offered = list(languages)
    wanted = [
        tag.split("-", 1)[0]
        for tag, quality in parse_quality_list(header)
        if quality > 0 and tag != "*"
    ]
    for primary in wanted:
        if primary in offered:
            return primary
    for primary in wanted:
        if fallbacks and primary in fallbacks:
            return fallbacks[primary]
    return None


def accepts_gzip(accept_encoding: str) -> bool:
    """Say if gzip may be sent: a gzip entry decides; only without one does `*` count.

    So `gzip;q=0, *` refuses gzip (RFC 9110 §12.5.3: `*` matches codings not listed).
    """
    wildcard = None
    for coding, quality in parse_quality_list(accept_encoding):
        if coding in ("gzip", "x-gzip"):
            return quality > 0
        if coding == "*" and wildcard is None:
            wildcard = quality > 0
    return bool(wildcard)


CACHE_LIMIT = 1024
"""Distinct header values remembered; real traffic repeats a few phone defaults."""


class Negotiator:
    """Negotiation with a memory of header values already seen.

    Phones send a handful of distinct Accept-Language and Accept-Encoding values, so
    parsing each value once keeps the per-request cost of a QR scan near zero.
    """

    def __init__(
        self, languages: tuple[str, ...], default: str, fallbacks: Mapping[str, str]
    ) -> None:
        self.languages = languages
        self.default = default
        self.fallbacks = dict(fallbacks)
        self._languages: dict[str, str] = {}
        self._gzip: dict[str, bool] = {}

    def language(self, cookie_language: str | None, accept_language: str) -> str:
        if cookie_language is not None and cookie_language in self.languages:
            return cookie_language
        chosen = self._languages.get(accept_language)
        if chosen is None:
            chosen = (
                language_from_header(accept_language, self.languages, self.fallbacks)
                or self.default
            )
            _remember(self._languages, accept_language, chosen)
        return chosen

    def gzip(self, accept_encoding: str) -> bool:
        accepted = self._gzip.get(accept_encoding)
        if accepted is None:
            accepted = accepts_gzip(accept_encoding)
            _remember(self._gzip, accept_encoding, accepted)
        return accepted


def _remember(cache: dict[str, _T], key: str, value: _T) -> None:
    if len(cache) >= CACHE_LIMIT:
        cache.clear()  # simplest bound; a burst of odd headers only costs a re-parse
    cache[key] = value
