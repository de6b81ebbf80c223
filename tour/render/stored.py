"""A rendered response body, kept in memory plain and gzipped, with its ETags."""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass

# Pages are sent as stored bytes; gzip once, at the highest level, with a fixed
# timestamp so the same tour always gives the same bytes and ETags.
GZIP_LEVEL = 9


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """A response body kept in memory, plain and gzip-compressed, with its ETags."""

    body: bytes
    gzipped: bytes
    etag: str
    gzip_etag: str
    content_type: str
    lang: str = ""

    @classmethod
    def from_bytes(cls, body: bytes, content_type: str, lang: str = "") -> StoredResponse:
        digest = hashlib.sha256(body).hexdigest()[:20]
        return cls(
            body=body,
            gzipped=gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0),
            etag=f'"{digest}"',
            gzip_etag=f'"{digest}-gz"',
            content_type=content_type,
            lang=lang,
        )

    @classmethod
    def from_html(cls, lang: str, html: str) -> StoredResponse:
        return cls.from_bytes(html.encode("utf-8"), "text/html; charset=utf-8", lang)

    @classmethod
    def from_json(cls, data: object, content_type: str = "application/json") -> StoredResponse:
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        return cls.from_bytes(text.encode("utf-8"), content_type)
