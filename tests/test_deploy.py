"""The static export and the nginx deployment, tested with a real nginx (Debian's package)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from playwright.sync_api import Browser

from tour.catalog import bundled_stops_dir, load_tour
from tour.core.errors import TourError
from tour.core.files import write_if_changed
from tour.core.settings import Settings
from tour.export import CHOOSER_HEADERS, builds_folder, export_site, headers_folder, start_build
from tour.render.pages import csp_hash

from .browsing import PHONE, browser, tap_play
from .narration_cache import narrated
from .net import free_port, wait_until_up

__all__ = ["browser"]

ROOT = Path(__file__).resolve().parent.parent
TOUR = load_tour(bundled_stops_dir())
NGINX_MAIN = """
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 256; }}
http {{
  client_body_temp_path {prefix}/body;
  proxy_temp_path {prefix}/proxy;
  fastcgi_temp_path {prefix}/fastcgi;
  uwsgi_temp_path {prefix}/uwsgi;
  scgi_temp_path {prefix}/scgi;
  include {site};
}}
"""


@dataclass
class Fetched:
    status: int
    headers: dict[str, str]
    body: bytes


def fetch(url: str, headers: dict[str, str] | None = None) -> Fetched:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return Fetched(response.status, dict(response.headers.items()), response.read())
    except urllib.error.HTTPError as error:
        return Fetched(error.code, dict(error.headers.items()), error.read())


def site_config(name: str, replacements: dict[str, str], folder: Path) -> Path:
    """Copy a deploy/ nginx site with this machine's paths and ports, as an admin would."""
    text = (ROOT / "deploy" / "nginx" / name).read_text("utf-8")
    text = text.replace("    listen [::]:80;\n", "")
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    site = folder / name
    site.write_text(text, "utf-8")
    return site


def let_nginx_read(path: Path) -> None:
    """nginx's workers drop root: open this folder and the ones above it for reading."""
    for folder in [path, *path.parents]:
        if folder == Path("/tmp") or folder == folder.parent:
            break
        folder.chmod(folder.stat().st_mode | 0o055)


@contextlib.contextmanager
def nginx(site: Path, folder: Path, port: int, serves: Path) -> Iterator[str]:
    prefix = folder / "nginx"
    for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / name).mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(NGINX_MAIN.format(prefix=prefix, site=site), "utf-8")
    check = subprocess.run(
        ["nginx", "-t", "-p", str(prefix), "-c", str(conf)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr
    assert "syntax is ok" in check.stderr
    let_nginx_read(serves)
    process = subprocess.Popen(
        ["nginx", "-p", str(prefix), "-c", str(conf)], stderr=subprocess.PIPE
    )
    address = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(address + "/robots.txt")
        yield address
    finally:
        process.terminate()
        process.communicate(timeout=20)


class TourServer:
    def __init__(self, folder: Path, media: Path, base_url: str) -> None:
        self.port = free_port()
        self.db = folder / "scans.db"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tour",
                "--media",
                str(media),
                "--db",
                str(self.db),
                "serve",
                "--port",
                str(self.port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            # The static copy the tests export has this base URL: its beacons are let in.
            env={**os.environ, "TOUR_BASE_URL": base_url, "TOUR_SCAN_ORIGINS": base_url},
        )
        self.address = f"http://127.0.0.1:{self.port}"
        wait_until_up(self.address + "/healthz")

    def stop(self) -> int:
        """Stop gracefully and return the scans counted."""
        self.process.send_signal(signal.SIGTERM)
        self.process.communicate(timeout=30)
        with contextlib.closing(sqlite3.connect(self.db)) as connection:
            row = connection.execute("SELECT COALESCE(SUM(count), 0) FROM scans").fetchone()
        return int(row[0])


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("media")
    with narrated(bundled_stops_dir(), folder):
        subprocess.run(
            [sys.executable, "-m", "tour", "--media", str(folder), "audio", "--engine", "espeak"],
            check=True,
            capture_output=True,
            timeout=300,
        )
    return folder


@dataclass
class Deployment:
    static: str
    tour: TourServer
    export: Path


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory, media: Path) -> Iterator[Deployment]:
    folder = tmp_path_factory.mktemp("static")
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    tour = TourServer(folder, media, public)
    export = folder / "site"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tour",
            "--media",
            str(media),
            "export",
            str(export),
            "--scan-endpoint",
            f"{tour.address}/api/scan",
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "TOUR_BASE_URL": public},
    )
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(
        r"exported \d+ files, [\d.]+ MB, to .+ in [\d.]+ s \(0 unchanged\)\n"
        r"security headers changed in .+\.nginx: reload nginx \(sudo systemctl reload nginx\) "
        r"so the pages' scripts are allowed\n",
        result.stdout,
    )
    site = site_config(
        "penyengat-static.conf",
        {"listen 80;": f"listen 127.0.0.1:{port};", "/srv/penyengat-tour/site": str(export)},
        folder,
    )
    with nginx(site, folder, port, export) as static:
        yield Deployment(static, tour, export)
    tour.stop()


def links_of(html: str, base: str) -> set[str]:
    return {urljoin(base, link) for link in re.findall(r'(?:href|src)="([^"]+)"', html)}


def test_crawl_every_link_of_the_exported_site(deployment: Deployment) -> None:
    start = [f"{deployment.static}/", *(f"{deployment.static}/{lang}/" for lang in TOUR.languages)]
    seen: set[str] = set()
    queue = list(start)
    off_site: set[str] = set()
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        seen.add(url)
        response = fetch(url)
        assert response.status == 200, url
        if response.headers.get("Content-Type", "").startswith("text/html"):
            for link in links_of(response.body.decode("utf-8"), url):
                parts = urlsplit(link)
                if parts.scheme == "geo":
                    continue
                if f"{parts.scheme}://{parts.netloc}" != deployment.static:
                    off_site.add(parts.netloc)
                    continue
                queue.append(link.split("#")[0])
    # every page, narration and its captions was reached
    tour = load_tour(bundled_stops_dir())
    narrations = len(tour.stops) * len(tour.languages)
    pages = re.compile(rf"/({'|'.join(tour.languages)})/[a-z0-9-]+$")
    assert len([url for url in seen if re.search(r"/media/audio/.*\.mp3$", url)]) == narrations
    assert len([url for url in seen if re.search(r"/media/audio/.*\.vtt$", url)]) == narrations
    assert len([url for url in seen if pages.search(url)]) == narrations
    # the one host a page links to is OpenStreetMap, as a link a visitor may follow
    assert off_site <= {"www.openstreetmap.org"}


def test_exported_pages_are_the_bytes_tour_serve_sends(deployment: Deployment) -> None:
    for path in ("/en/masjid", "/id/", "/api/tour.json", "/api/stops.geojson", "/sw.js"):
        for encoding in ("identity", "gzip"):
            headers = {"Accept-Encoding": encoding}
            static = fetch(deployment.static + path, headers)
            served = fetch(deployment.tour.address + path, headers)
            assert static.status == served.status == 200, path
            assert static.body == served.body, (path, encoding)


def test_audio_ranges_through_nginx(deployment: Deployment) -> None:
    [audio] = sorted((deployment.export / "media" / "audio").glob("masjid-raya.id.*.mp3"))
    response = fetch(f"{deployment.static}/media/audio/{audio.name}", {"Range": "bytes=0-1"})
    assert response.status == 206
    assert response.headers["Content-Range"] == f"bytes 0-1/{audio.stat().st_size}"
    assert response.body == audio.read_bytes()[:2]
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"


def test_captions_through_nginx_as_tour_serve_sends_them(deployment: Deployment) -> None:
    [captions] = sorted((deployment.export / "media" / "audio").glob("masjid-raya.zh.*.vtt"))
    path = f"/media/audio/{captions.name}"
    static = fetch(deployment.static + path, {})
    served = fetch(deployment.tour.address + path, {})
    assert static.status == served.status == 200
    assert static.body == served.body == captions.read_bytes()
    for response in (static, served):
        assert response.headers["Content-Type"] == "text/vtt; charset=utf-8"
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"


def test_export_is_incremental_and_atomic(
    deployment: Deployment, media: Path, tmp_path: Path
) -> None:
    out = tmp_path / "copy"
    shutil.copytree(deployment.export, out)
    inode = (out / "en" / "masjid.html").stat().st_ino
    result = subprocess.run(
        [sys.executable, "-m", "tour", "--media", str(media), "export", str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    files = int(result.stdout.split()[1])
    assert f"({files} unchanged)" not in result.stdout  # the base URL and scan endpoint changed
    # a copy of a folder has no header snippets beside it yet: nginx must load the new ones
    assert result.stdout.splitlines()[-1] == (
        f"security headers changed in {tmp_path / 'copy.nginx'}: reload nginx "
        "(sudo systemctl reload nginx) so the pages' scripts are allowed"
    )
    again = subprocess.run(
        [sys.executable, "-m", "tour", "--media", str(media), "export", str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"({files} unchanged)" in again.stdout
    assert "reload nginx" not in again.stdout  # the same pages: the same headers
    assert (out / "en" / "masjid.html").stat().st_ino != inode  # a new folder was swapped in
    # the plain folder became a link to the one build kept; nothing else is left behind
    assert out.is_symlink()
    assert sorted(path.name for path in builds_folder(out).iterdir()) == [
        ".lock",
        out.resolve().name,
    ]
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        ".copy.builds",
        "copy",
        "copy.nginx",
    ]


def test_static_scan_picks_the_language_and_counts_the_scan(
    browser: Browser, deployment: Deployment
) -> None:
    context = browser.new_context(viewport=PHONE, locale="en-GB")
    page = context.new_page()
    page.goto(f"{deployment.static}/s/kursi")
    page.wait_for_url(f"{deployment.static}/en/kursi")
    assert page.locator("h1").inner_text() == "Bukit Kursi Fort"
    page.get_by_role("link", name="Bahasa Indonesia").click()
    page.wait_for_url(f"{deployment.static}/id/kursi")
    page.goto(f"{deployment.static}/s/masjid")  # the language choice survives
    page.wait_for_url(f"{deployment.static}/id/masjid")
    context.close()
    # each static scan sent one beacon to tour serve, which counted it
    rows: list[tuple[str, str, int]] = []
    for _ in range(100):  # bounded: the scan log writes at least once a second
        with (
            contextlib.closing(sqlite3.connect(deployment.tour.db)) as connection,
            contextlib.suppress(sqlite3.OperationalError),
        ):
            rows = connection.execute(
                "SELECT stop, lang, SUM(count) FROM scans GROUP BY stop, lang ORDER BY stop"
            ).fetchall()
        if len(rows) == 2:
            break
        time.sleep(0.1)
    assert rows == [("bukit-kursi", "en", 1), ("masjid-raya", "id", 1)]


def test_offline_reload_works_on_the_exported_site(
    browser: Browser, deployment: Deployment
) -> None:
    from .test_offline import RANGE_FETCH, controlled, wait_playing

    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True, locale="id-ID")
    page = context.new_page()
    page.goto(f"{deployment.static}/id/masjid")
    controlled(page)
    tap_play(page)
    wait_playing(page)
    context.set_offline(True)
    page.reload()
    assert page.locator("h1").inner_text() == "Masjid Raya Sultan Riau"
    status, content_range, length = page.evaluate(RANGE_FETCH, "bytes=0-1")
    assert (status, length) == (206, 2)
    assert content_range.startswith("bytes 0-1/")
    context.close()


@pytest.mark.nginx
def test_deployment_config_proxies_tour_serve(media: Path, tmp_path: Path) -> None:
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    tour = TourServer(tmp_path, media, public)
    site = site_config(
        "penyengat-tour.conf",
        {
            "listen 80;": f"listen 127.0.0.1:{port};",
            "server 127.0.0.1:8080;": f"server 127.0.0.1:{tour.port};",
            "/srv/penyengat-tour/media/audio/": f"{media}/audio/",
        },
        tmp_path,
    )
    with nginx(site, tmp_path, port, media / "audio") as proxied:
        for path in ("/en/masjid", "/id/", "/api/tour.json"):
            for encoding in ("identity", "gzip"):
                headers = {"Accept-Encoding": encoding, "Accept-Language": "en"}
                through = fetch(proxied + path, headers)
                direct = fetch(tour.address + path, headers)
                assert through.status == direct.status == 200
                assert through.body == direct.body, (path, encoding)
                assert (
                    through.headers["Content-Security-Policy"]
                    == direct.headers["Content-Security-Policy"]
                )
        scans = [fetch(f"{proxied}/s/kursi", {"User-Agent": "Mozilla/5.0"}) for _ in range(3)]
        assert [scan.status for scan in scans] == [200, 200, 200]
        [audio] = sorted((media / "audio").glob("bukit-kursi.en.*.mp3"))
        ranged = fetch(f"{proxied}/media/audio/{audio.name}", {"Range": "bytes=0-1"})
        assert ranged.status == 206
        assert ranged.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        captions = fetch(f"{proxied}/media/audio/{audio.name.replace('.mp3', '.vtt')}")
        assert captions.headers["Content-Type"] == "text/vtt; charset=utf-8"
        assert captions.body == audio.with_suffix(".vtt").read_bytes()
        assert fetch(f"{proxied}/media/audio/manifest.json").status == 404
        assert fetch(f"{proxied}/media/audio/.build.lock").status == 404
    assert tour.stop() == 1  # the scans through nginx were counted: one visitor, one visit


SECURITY_HEADERS = (
    "Content-Security-Policy",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "Permissions-Policy",
    "Strict-Transport-Security",
)


def security_of(response: Fetched) -> dict[str, str | None]:
    return {name: response.headers.get(name) for name in SECURITY_HEADERS}


def policy_of(response: Fetched) -> dict[str, str]:
    directives = response.headers["Content-Security-Policy"].split("; ")
    return dict(directive.split(" ", 1) for directive in directives)


def test_static_site_sends_the_security_headers_of_tour_serve(deployment: Deployment) -> None:
    [audio] = sorted((deployment.export / "media" / "audio").glob("masjid-raya.id.*.mp3"))
    paths = ["/en/masjid", f"/media/audio/{audio.name}", "/sw.js", "/api/tour.json", "/en/nope"]
    for path in paths:
        static = fetch(deployment.static + path)
        served = fetch(deployment.tour.address + path)
        assert static.status == served.status, path
        assert security_of(static) == security_of(served), path
        assert static.headers["Referrer-Policy"] == "no-referrer"
        assert policy_of(static)["script-src"].startswith("'self' 'sha256-")
    assert fetch(deployment.static + "/en/nope").status == 404


def test_language_choosers_allow_exactly_their_script_and_the_beacon(
    deployment: Deployment,
) -> None:
    page_policy = policy_of(fetch(deployment.static + "/en/masjid"))
    for path in ("/", "/s/kursi"):
        chooser = fetch(deployment.static + path)
        assert chooser.status == 200
        html = chooser.body.decode("utf-8")
        [script] = re.findall(r"<script>(.*?)</script>", html, re.DOTALL)
        [style] = re.findall(r"<style>(.*?)</style>", html, re.DOTALL)
        policy = policy_of(chooser)
        assert csp_hash(script) in policy["script-src"].split()
        assert csp_hash(script) not in page_policy["script-src"].split()
        assert policy["style-src"] == csp_hash(style)
        assert policy["connect-src"] == f"'self' {deployment.tour.address}/api/scan"
        # everything else is the pages' policy and headers
        assert {k: v for k, v in policy.items() if not k.endswith(("script-src", "style-src"))} == {
            k: v for k, v in page_policy.items() if not k.endswith(("script-src", "style-src"))
        } | {"connect-src": policy["connect-src"]}
        assert chooser.headers["Referrer-Policy"] == "no-referrer"
        assert chooser.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.nginx
def test_proxy_config_sends_security_headers_on_narration(media: Path, tmp_path: Path) -> None:
    port = free_port()
    tour = TourServer(tmp_path, media, f"http://127.0.0.1:{port}")
    site = site_config(
        "penyengat-tour.conf",
        {
            "listen 80;": f"listen 127.0.0.1:{port};",
            "server 127.0.0.1:8080;": f"server 127.0.0.1:{tour.port};",
            "/srv/penyengat-tour/media/audio/": f"{media}/audio/",
        },
        tmp_path,
    )
    [audio] = sorted((media / "audio").glob("masjid-raya.en.*.mp3"))
    with nginx(site, tmp_path, port, media / "audio") as proxied:
        by_nginx = fetch(f"{proxied}/media/audio/{audio.name}")
        by_service = fetch(f"{tour.address}/media/audio/{audio.name}")
        page = fetch(f"{proxied}/en/masjid")
        worker = fetch(f"{proxied}/sw.js")
    tour.stop()
    assert by_nginx.status == by_service.status == page.status == worker.status == 200
    assert by_nginx.body == audio.read_bytes()
    for name in ("X-Content-Type-Options", "Referrer-Policy", "Permissions-Policy"):
        assert by_nginx.headers[name] == by_service.headers[name] == page.headers[name], name
        assert worker.headers[name] == page.headers[name], name
    # pages and the worker come from tour serve; a sound file gets a fixed, stricter policy
    assert "'sha256-" in page.headers["Content-Security-Policy"]
    assert worker.headers["Content-Security-Policy"] == page.headers["Content-Security-Policy"]
    assert by_nginx.headers["Content-Security-Policy"] == (
        "default-src 'none'; media-src 'self'; frame-ancestors 'none'"
    )


def test_a_failed_swap_keeps_the_previous_site_served(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "site"
    export_site(settings, out)
    served_build = out.resolve()
    snippets = {path.name: path.read_bytes() for path in headers_folder(out).iterdir()}
    port = free_port()
    site = site_config(
        "penyengat-static.conf",
        {"listen 80;": f"listen 127.0.0.1:{port};", "/srv/penyengat-tour/site": str(out)},
        tmp_path,
    )
    real_replace = os.replace
    replaced: list[str] = []

    def fail_once(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
        # the header snippets are written first, with the scan endpoint in them; the swap
        # of the site's link is what fails
        if not replaced and os.fspath(target) == str(out):
            replaced.append(os.fspath(target))
            raise OSError(5, "Input/output error")
        real_replace(source, target)

    with nginx(site, tmp_path, port, out) as static:
        before = fetch(f"{static}/s/kursi")
        assert before.status == 200
        assert b"sendBeacon" not in before.body
        monkeypatch.setattr(os, "replace", fail_once)
        with pytest.raises(OSError, match="Input/output error"):
            export_site(settings, out, "http://127.0.0.1:9/api/scan")
        assert replaced == [str(out)]  # it failed at the swap itself
        # and the snippets written for the new pages were put back as they were
        after = fetch(f"{static}/s/kursi")
        assert (after.status, after.body) == (before.status, before.body)
        assert out.resolve() == served_build
        assert sorted(path.name for path in builds_folder(out).iterdir()) == [
            ".lock",
            served_build.name,
        ]
        assert {path.name: path.read_bytes() for path in headers_folder(out).iterdir()} == snippets
        # the next export goes through, and nginx serves it through the new link at once
        export_site(settings, out, "http://127.0.0.1:9/api/scan")
        assert b"sendBeacon" in fetch(f"{static}/s/kursi").body


def test_each_export_is_a_new_build_and_the_previous_one_is_removed(
    settings: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "site"
    export_site(settings, out)
    first = out.resolve()
    inode = (out / "en" / "masjid.html").stat().st_ino
    report = export_site(settings, out)
    second = out.resolve()
    assert report.folder == out
    assert report.reused == report.files  # nothing changed: every file was hard-linked
    assert os.readlink(out) == f".site.builds/{second.name}"
    assert second != first
    assert not first.exists()
    assert (out / "en" / "masjid.html").stat().st_ino == inode
    assert sorted(path.name for path in builds_folder(out).iterdir()) == [".lock", second.name]


@pytest.mark.parametrize("state", ["missing", "empty"])
def test_export_into_a_missing_or_empty_folder(
    settings: Settings, tmp_path: Path, state: str
) -> None:
    out = tmp_path / "deep" / "site"
    if state == "empty":
        out.mkdir(parents=True)
    export_site(settings, out)
    assert out.is_symlink()
    assert (out / "api" / "tour.json").is_file()
    assert sorted(path.name for path in out.parent.iterdir()) == [
        ".site.builds",
        "site",
        "site.nginx",
    ]


def test_an_export_of_the_old_layout_survives_a_failed_migration(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = tmp_path / "built"
    export_site(settings, built)
    out = tmp_path / "site"
    shutil.copytree(built, out)  # a plain folder, as exports were before builds
    files = sorted(path.relative_to(out) for path in out.rglob("*"))
    page = (out / "en" / "masjid.html").read_bytes()

    def refuse(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patched:
        patched.setattr(os, "replace", refuse)
        with pytest.raises(OSError, match="No space left"):
            export_site(settings, out)
    assert not out.is_symlink()
    assert sorted(path.relative_to(out) for path in out.rglob("*")) == files
    assert (out / "en" / "masjid.html").read_bytes() == page
    assert [path.name for path in builds_folder(out).iterdir()] == [".lock"]
    # without the failure, the folder becomes a link and unchanged files are reused
    inode = (out / "api" / "stops.geojson").stat().st_ino
    export_site(settings, out)
    assert out.is_symlink()
    assert (out / "api" / "stops.geojson").stat().st_ino == inode


def test_two_exports_into_one_folder_take_turns(tmp_path: Path) -> None:
    out = tmp_path / "site"
    new, lock = start_build(out)
    with pytest.raises(TourError, match=f"another tour export into {out} is running"):
        start_build(out)
    os.close(lock)
    new.rmdir()
    second, lock = start_build(out)
    os.close(lock)
    assert second != new


def test_a_link_to_something_else_is_refused_and_kept(settings: Settings, tmp_path: Path) -> None:
    elsewhere = tmp_path / "www"
    elsewhere.mkdir()
    out = tmp_path / "site"
    out.symlink_to(elsewhere)
    with pytest.raises(TourError, match=f"{out} is a link to {elsewhere}, not to an export build"):
        export_site(settings, out)
    assert os.readlink(out) == str(elsewhere)


def test_header_snippets_are_written_all_or_nothing(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "site"
    export_site(settings, out)
    served = out.resolve()
    before = {path.name: path.read_bytes() for path in headers_folder(out).iterdir()}

    def full_disk_on_the_chooser(path: Path, data: bytes) -> bool:
        if path.name == CHOOSER_HEADERS:
            raise OSError(28, "No space left on device")
        return write_if_changed(path, data)

    monkeypatch.setattr("tour.export.write_if_changed", full_disk_on_the_chooser)
    with pytest.raises(OSError, match="No space left on device"):
        # the scan endpoint changes both policies: the page snippet is written first
        export_site(settings, out, "http://127.0.0.1:9/api/scan")
    assert {path.name: path.read_bytes() for path in headers_folder(out).iterdir()} == before
    assert out.resolve() == served  # and the previous site is still the one served
