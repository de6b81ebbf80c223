"""`tour export DIR`: the whole tour as static files for any web server, store or CDN.

Pages, data, the service worker and the narration are the very bytes `tour serve`
sends (each text file also as its `.gz`, for nginx's gzip_static). Only what needs a
server differs: `/s/<code>` and `/` choose the language in the browser, and can report
the scan to a running `tour serve` with one beacon.

`DIR` is a symbolic link to the current build in `.DIR.builds/`. A new export is
written to a build folder of its own, and the link is replaced in one step, so a web
server never serves half of one, and a failed export leaves the previous site served.
Files that did not change are hard-linked from the last export instead of being
written again. The security headers `tour serve` sends are written for nginx beside the
site, in `DIR.nginx/`, computed from the exported pages themselves.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import secrets
import shutil
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from tour.catalog import load_tour
from tour.core.errors import TourError
from tour.core.files import write_if_changed
from tour.core.settings import Settings, apply_settings
from tour.render.choosers import chooser_pages
from tour.render.headers import security_headers
from tour.render.links import PATH_LINKS
from tour.render.pages import content_security_policy, csp_hash
from tour.render.site import ROBOTS_TXT, read_manifest, read_photo_manifest, render_site

log = logging.getLogger(__name__)

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
    headers_changed: bool = False
    """The nginx header snippets changed: nginx serves the new ones after a reload."""


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
    media = settings.media_dir
    site = render_site(tour, read_manifest(media), media, PATH_LINKS, read_photo_manifest(media))
    for (lang, code), page in site.pages.stops.items():
        yield from _with_gzip(f"{lang}/{code}.html", page.body, page.gzipped)
    for (lang, code), page in site.pages.retired.items():
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
    for name, source in site.photo_files.items():
        yield f"media/photos/{name}", source
    yield from chooser_pages(tour, scan_endpoint).items()


def _with_gzip(path: str, body: bytes, gzipped: bytes) -> Iterator[tuple[str, bytes]]:
    yield path, body
    yield f"{path}.gz", gzipped


def _same_file(previous: Path, content: bytes | Path) -> bool:
    try:
        if isinstance(content, Path):
            # Narration and photo names are content hashes: the same name and size is the same file.
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


BUILDS_SUFFIX = ".builds"
HEADERS_SUFFIX = ".nginx"
PAGE_HEADERS = "headers.conf"
CHOOSER_HEADERS = "chooser-headers.conf"
_LINK_PREFIX = ".link-"
_LOCK_NAME = ".lock"


def builds_folder(out: Path) -> Path:
    """Where the builds of the export `out` live, hidden beside it: `.out.builds/`."""
    return out.with_name(f".{out.name}{BUILDS_SUFFIX}")


def check_destination(out: Path) -> None:
    """Refuse to export into what is not an export: a file, other files, a foreign link."""
    if out.is_symlink():
        target = out.resolve()
        # A link to a build that is gone serves nothing: the export replaces it.
        if target.exists() and target.parent != builds_folder(out).resolve():
            raise ExportError(
                f"{out} is a link to {target}, not to an export build; "
                f"export into {target} itself, or remove the link"
            )
        return
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out} is a file; give a folder to export into")
    if out.exists() and any(out.iterdir()) and not (out / "api" / "tour.json").exists():
        raise ExportError(
            f"{out} holds other files; export into an empty folder or an earlier export"
        )
    # An empty folder, or a plain-folder export from before builds: swap_in replaces it.


def start_build(out: Path) -> tuple[Path, int]:
    """Lock the builds of `out` and make an empty build folder; return it and the lock.

    The lock keeps two exports into one folder apart: each removes the other builds
    once its own is served, which must never be a build still being written.
    """
    builds = builds_folder(out)
    builds.mkdir(parents=True, exist_ok=True)
    lock = os.open(builds / _LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(lock)
        raise ExportError(
            f"another tour export into {out} is running; wait for it to finish"
        ) from None
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    new = builds / f"{stamp}-{secrets.token_hex(4)}"
    new.mkdir()  # not mkdtemp: its mode 0700 would hide the site from the web server
    return new, lock


def swap_in(new: Path, out: Path) -> None:
    """Point `out` at the build `new` in one step: a reader sees the old site or the new.

    A symbolic link is replaced atomically by os.replace (rename(2) on POSIX). If that
    fails, `out` is untouched and still serves the previous build.
    """
    link = new.parent / f"{_LINK_PREFIX}{new.name}"
    # Relative, so the site and its builds can move together; it resolves from `out`'s folder.
    os.symlink(os.path.relpath(new, out.parent), link)
    try:
        if out.is_symlink() or not out.exists():
            os.replace(link, out)
        else:
            _replace_plain_folder(out, link, new.parent)
    except BaseException:
        link.unlink(missing_ok=True)
        raise


def _replace_plain_folder(out: Path, link: Path, builds: Path) -> None:
    """Turn an export of the old layout (a plain folder) into a link, once.

    A link cannot replace a folder in one rename, so the folder is moved among the
    builds, then the link takes its name: the site is missing for the time between the
    two renames, and if the second fails the folder is moved back.
    """
    plain = builds / f"previous-{secrets.token_hex(4)}"
    os.rename(out, plain)
    try:
        os.replace(link, out)
    except BaseException:
        os.rename(plain, out)
        raise


Snippets = Mapping[str, bytes | None]
"""nginx header snippets by file name; None for a snippet that is not there."""


def write_header_snippets(out: Path, snippets: Snippets) -> dict[str, bytes | None]:
    """Write (or, for None, remove) the nginx header snippets of `out`; return the old ones.

    All or nothing: if one cannot be written, those already written are put back.
    """
    folder = headers_folder(out)
    folder.mkdir(exist_ok=True)
    old: dict[str, bytes | None] = {}
    for name in snippets:
        try:
            old[name] = (folder / name).read_bytes()
        except FileNotFoundError:
            old[name] = None
    try:
        for name, snippet in snippets.items():
            if snippet is None:
                (folder / name).unlink(missing_ok=True)
            else:
                write_if_changed(folder / name, snippet)
    except BaseException:
        restore_header_snippets(out, old)
        raise
    return old


def restore_header_snippets(out: Path, old: Snippets) -> None:
    """Put back the snippets an export replaced, each as far as it can be.

    A failure here is logged, not raised: it must not hide the failure that led here.
    """
    folder = headers_folder(out)
    for name, content in old.items():
        try:
            if content is None:
                (folder / name).unlink(missing_ok=True)
            elif (folder / name).read_bytes() != content:
                write_if_changed(folder / name, content)
        except OSError as error:
            log.error("could not restore %s: %s", folder / name, error)


def finish_build(new: Path, lock: int) -> None:
    """Remove every build but `new`, which is now served; unlock."""
    try:
        for entry in new.parent.iterdir():
            if entry == new or entry.name == _LOCK_NAME:
                continue
            if entry.is_symlink() or not entry.is_dir():
                entry.unlink(missing_ok=True)
            else:
                # A reader who opened a file of the old build keeps it until they close it.
                shutil.rmtree(entry, ignore_errors=True)
    finally:
        os.close(lock)


_INLINE = re.compile(r"<(script|style)>(.*?)</\1>", re.DOTALL)
_UNSAFE_SOURCE = re.compile(r"[\s;,'\"\\$]")
"""What would end a CSP source expression early, or an nginx string."""


def nginx_headers(settings: Settings, site: Path, endpoint: str | None) -> dict[str, bytes]:
    """Return the headers `tour serve` sends, as nginx `add_header` snippets by file name.

    They come from the same code as `tour serve`'s (security_headers and
    content_security_policy), with the inline scripts and styles of the exported pages
    themselves, so the pages' policy is the very one `tour serve` sends. The language
    choosers (`/` and `/s/<code>`) run a script of their own and may send the scan
    beacon, so they get a policy of their own.
    """
    tour = apply_settings(load_tour(settings.stops_dir), settings)
    pages: dict[str, set[str]] = {"script": set(), "style": set()}
    choosers: dict[str, set[str]] = {"script": set(), "style": set()}
    for page in site.rglob("*.html"):
        relative = page.relative_to(site).as_posix()
        found = choosers if relative == "index.html" or relative.startswith("s/") else pages
        for kind, source in _INLINE.findall(page.read_text("utf-8")):
            found[kind].add(csp_hash(source))
    beacon = []
    if endpoint is not None:
        beacon.append(urlsplit(endpoint)._replace(query="", fragment="").geturl())
        if _UNSAFE_SOURCE.search(beacon[0]):
            raise ExportError(
                f"--scan-endpoint: '{endpoint}' cannot be allowed by a Content-Security-Policy; "
                "give an address without spaces, quotes, ';', ',', '$' or backslashes"
            )
    template = content_security_policy("", "")
    return {
        PAGE_HEADERS: _nginx_snippet(security_headers(tour, _with_sources(template, pages, []))),
        CHOOSER_HEADERS: _nginx_snippet(
            security_headers(tour, _with_sources(template, choosers, beacon))
        ),
    }


def _with_sources(template: str, inline: dict[str, set[str]], connect: list[str]) -> str:
    """Fill `template`'s script-src and style-src with these hashes; extend connect-src."""
    directives = []
    for directive in template.split("; "):
        name, *sources = directive.split(" ")
        kept = [source for source in sources if not source.startswith("'sha256-")]
        if name in ("script-src", "style-src"):
            kept += sorted(inline[name.removesuffix("-src")])
        elif name == "connect-src":
            kept += connect
        directives.append(" ".join([name, *kept]))
    return "; ".join(directives)


def _nginx_snippet(headers: dict[str, str]) -> bytes:
    lines = [
        "# Written by `tour export`: the security headers `tour serve` sends. Each export",
        "# rewrites it; reload nginx after an export that changed it.",
        *(f'add_header {name} "{value}" always;' for name, value in headers.items()),
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


def headers_folder(out: Path) -> Path:
    """Where the nginx header snippets of the export `out` are written: `out.nginx/`."""
    return out.with_name(f"{out.name}{HEADERS_SUFFIX}")


def export_site(settings: Settings, out: Path, scan_endpoint: str | None = None) -> ExportReport:
    """Write the tour as static files to `out`, atomically and incrementally."""
    started = time.monotonic()
    if scan_endpoint is not None:
        validate_scan_endpoint(scan_endpoint)
    # Not resolve(): `out` is the link to keep, not the build it points at.
    out = Path(os.path.abspath(out))
    check_destination(out)
    new, lock = start_build(out)
    files = reused = total = 0
    try:
        for relative, content in site_files(settings, scan_endpoint):
            previous = out / relative if out.exists() else None
            reused += _place(new / relative, content, previous)
            files += 1
            total += content.stat().st_size if isinstance(content, Path) else len(content)
        # Written before the swap, so a snippet that cannot be written stops the export
        # with the previous site and its headers untouched.
        new_headers = nginx_headers(settings, new, scan_endpoint)
        old_headers = write_header_snippets(out, new_headers)
        try:
            swap_in(new, out)
        except BaseException:
            restore_header_snippets(out, old_headers)
            raise
    except BaseException:
        shutil.rmtree(new, ignore_errors=True)
        os.close(lock)
        raise
    finish_build(new, lock)
    return ExportReport(
        folder=out,
        files=files,
        total_bytes=total,
        reused=reused,
        seconds=time.monotonic() - started,
        headers_changed=old_headers != dict(new_headers),
    )
