"""`tour export DIR`: the whole tour as static files for any web server, store or CDN.

Pages, data, the service worker and the narration are the very bytes `tour serve`
sends (each text file also as its `.gz`, for nginx's gzip_static). Only what needs a
server differs: `/s/<code>` and `/` choose the language in the browser, and can report
the scan to a running `tour serve` with one beacon.

The export is written to a temporary folder and then swapped in, so a web server
never serves half of one. Files that did not change are hard-linked from the last
export instead of being written again.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from tour.catalog import load_tour
from tour.errors import TourError
from tour.render.choosers import chooser_pages
from tour.render.links import PATH_LINKS
from tour.render.site import ROBOTS_TXT, read_manifest, render_site
from tour.settings import Settings, apply_settings

TEXT_TYPES = (".html", ".js", ".json", ".geojson", ".svg", ".webmanifest", ".txt")


class ExportError(TourError):
    """The export cannot be written as asked."""


@dataclass(frozen=True, slots=True)
class ExportReport:
    folder: Path
    files: int
    total_bytes: int
    reused: int
    seconds: float


def validate_scan_endpoint(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in url):
        raise ExportError(
            f"--scan-endpoint: '{url}' must be the absolute address of a running tour serve's "
            "scan endpoint, such as https://tour.example/api/scan"
        )


def site_files(settings: Settings, scan_endpoint: str | None) -> Iterator[tuple[str, bytes | Path]]:
    """Yield (relative path, bytes or a file to copy) for every file of the export."""
    tour = apply_settings(load_tour(settings.stops_dir), settings)
    site = render_site(tour, read_manifest(settings.media_dir), settings.media_dir, PATH_LINKS)
    for (lang, code), page in site.pages.stops.items():
        yield from _with_gzip(f"{lang}/{code}.html", page.body, page.gzipped)
    for lang, page in site.pages.indexes.items():
        yield from _with_gzip(f"{lang}/index.html", page.body, page.gzipped)
    default_404 = site.pages.not_found[tour.default_language]
    yield from _with_gzip("404.html", default_404.body, default_404.gzipped)
    for name, stored in site.api.items():
        yield from _with_gzip(f"api/{name}", stored.body, stored.gzipped)
    for path, stored in site.assets.items():
        yield from _with_gzip(path.lstrip("/"), stored.body, stored.gzipped)
    yield "robots.txt", ROBOTS_TXT.encode()
    for name, source in site.audio_files.items():
        yield f"media/audio/{name}", source
    yield from chooser_pages(tour, scan_endpoint).items()


def _with_gzip(path: str, body: bytes, gzipped: bytes) -> Iterator[tuple[str, bytes]]:
    yield path, body
    yield f"{path}.gz", gzipped


def _same_file(previous: Path, content: bytes | Path) -> bool:
    try:
        if isinstance(content, Path):
            # Narration names are content hashes: the same name and size is the same file.
            return previous.stat().st_size == content.stat().st_size
        return previous.stat().st_size == len(content) and previous.read_bytes() == content
    except OSError:
        return False


def _place(target: Path, content: bytes | Path, previous: Path | None) -> bool:
    """Write one file; hard-link it from the last export when unchanged. Say if reused."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if previous is not None and _same_file(previous, content):
        with contextlib.suppress(OSError):
            os.link(previous, target)
            return True
    if isinstance(content, Path):
        try:
            os.link(content, target)  # media on the same disk: no copy needed
        except OSError:
            shutil.copyfile(content, target)
    else:
        target.write_bytes(content)
    return False


def swap_in(new: Path, out: Path) -> None:
    """Put `new` where `out` is, in one step when the system allows it."""
    if not out.exists():
        os.rename(new, out)
        return
    # renameat2(RENAME_EXCHANGE) swaps two folders atomically: a reader sees one or the other.
    libc = ctypes.CDLL(None, use_errno=True)
    exchange = getattr(libc, "renameat2", None)
    at_fdcwd, rename_exchange = -100, 2
    if (
        exchange is not None
        and exchange(at_fdcwd, os.fsencode(new), at_fdcwd, os.fsencode(out), rename_exchange) == 0
    ):
        shutil.rmtree(new)  # it now holds the previous export
        return
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    os.rename(out, old)
    os.rename(new, out)
    shutil.rmtree(old)


def export_site(settings: Settings, out: Path, scan_endpoint: str | None = None) -> ExportReport:
    """Write the tour as static files to `out`, atomically and incrementally."""
    started = time.monotonic()
    if scan_endpoint is not None:
        validate_scan_endpoint(scan_endpoint)
    out = out.resolve()
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out} is a file; give a folder to export into")
    if out.exists() and any(out.iterdir()) and not (out / "api" / "tour.json").exists():
        raise ExportError(
            f"{out} holds other files; export into an empty folder or an earlier export"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    new = out.with_name(f".{out.name}.new-{os.getpid()}")
    shutil.rmtree(new, ignore_errors=True)
    files = reused = total = 0
    try:
        for relative, content in site_files(settings, scan_endpoint):
            previous = out / relative if out.exists() else None
            reused += _place(new / relative, content, previous)
            files += 1
            total += content.stat().st_size if isinstance(content, Path) else len(content)
        swap_in(new, out)
    except BaseException:
        shutil.rmtree(new, ignore_errors=True)
        raise
    return ExportReport(
        folder=out,
        files=files,
        total_bytes=total,
        reused=reused,
        seconds=time.monotonic() - started,
    )
