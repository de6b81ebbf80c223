"""Start `tour serve` in the background for the scripts that measure it, and a phone
browser for the ones that take screenshots."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, ViewportSize, sync_playwright


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_up(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@contextlib.contextmanager
def tour_server(
    media: Path,
    *,
    base_url_is_local: bool = False,
    extra_env: dict[str, str] | None = None,
    serve_options: tuple[str, ...] = (),
    processes: list[subprocess.Popen[bytes]] | None = None,
) -> Iterator[str]:
    """Build missing narration into `media`, serve the bundled tour, and yield its address.

    The server's process is added to `processes`, if given (bench_pages reads its CPU time).
    """
    subprocess.run(
        [sys.executable, "-m", "tour", "--media", str(media), "audio", "--engine", "espeak"],
        check=True,
        capture_output=True,
    )
    port = free_port()
    address = f"http://127.0.0.1:{port}"
    env = {**os.environ, **(extra_env or {})}
    if base_url_is_local:
        # Canonical links then point at the server being measured, as in production.
        env["TOUR_BASE_URL"] = address
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tour",
            "--media",
            str(media),
            "--db",
            str(media.parent / f"scans-{port}.db"),
            "serve",
            "--port",
            str(port),
            *serve_options,
        ],
        stdout=subprocess.DEVNULL,
        env=env,
    )
    if processes is not None:
        processes.append(server)
    try:
        wait_until_up(address + "/healthz")
        yield address
    finally:
        server.terminate()
        server.wait(timeout=30)


NGINX_MAIN = """
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {prefix}/body;
  proxy_temp_path {prefix}/proxy;
  fastcgi_temp_path {prefix}/fastcgi;
  uwsgi_temp_path {prefix}/uwsgi;
  scgi_temp_path {prefix}/scgi;
  {http}
}}
"""


@contextlib.contextmanager
def nginx_server(prefix: Path, http: str, readable: Path, probe: str) -> Iterator[None]:
    """Run nginx (one worker) with `http` inside its http block, until the block ends.

    nginx's workers drop root, so `readable` and the folders above it are opened for
    reading; `probe` is a URL that answers once nginx is up.
    """
    for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / name).mkdir(parents=True, exist_ok=True)
    for folder in [readable, *readable.parents]:
        if folder == Path("/tmp") or folder == folder.parent:
            break
        folder.chmod(folder.stat().st_mode | 0o055)
    conf = prefix / "nginx.conf"
    conf.write_text(NGINX_MAIN.format(prefix=prefix, http=http), encoding="utf-8")
    process = subprocess.Popen(["nginx", "-p", str(prefix), "-c", str(conf)])
    try:
        wait_until_up(probe)
        yield
    finally:
        process.terminate()
        process.wait(timeout=30)


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PHONE_VIEWPORT: ViewportSize = {"width": 390, "height": 844}


@contextlib.contextmanager
def phone_page(**options: Any) -> Iterator[Page]:
    """Open a page in Debian's Chromium at a phone's size and density; `options` add to it."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        try:
            yield browser.new_page(viewport=PHONE_VIEWPORT, device_scale_factor=2, **options)
        finally:
            browser.close()
