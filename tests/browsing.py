"""Shared pieces for the tests that drive Debian's Chromium with Playwright."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    ViewportSize,
    sync_playwright,
)

from tour.catalog import bundled_stops_dir

from .narration_cache import narrated
from .net import free_port, wait_until_up

CHROMIUM = "/usr/bin/chromium"
# Keep Chromium off the network entirely: no updates, no sync, no QUIC probes.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=user-gesture-required",
]
PHONE: ViewportSize = {"width": 390, "height": 844}


class Served:
    """`tour serve` in its own process, with narration built by the offline voice."""

    def __init__(
        self,
        folder: Path,
        stops: Path | None = None,
        env: dict[str, str] | None = None,
        serve_options: Sequence[str] = (),
    ) -> None:
        self.media = folder / "media"
        self.db = folder / "scans.db"
        self.global_options = ["--media", str(self.media), "--db", str(self.db)]
        if stops is not None:
            self.global_options += ["--stops", str(stops)]
        with narrated(stops or bundled_stops_dir(), self.media):
            # A separate process: Playwright's sync API keeps an event loop running in this one.
            self.rebuild_audio()
        port = free_port()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tour",
                *self.global_options,
                "serve",
                "--port",
                str(port),
                *serve_options,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=folder,
            env={**os.environ, **(env or {})},
        )
        self.base = f"http://127.0.0.1:{port}"
        wait_until_up(self.base + "/healthz")

    def rebuild_audio(self) -> None:
        subprocess.run(
            [sys.executable, "-m", "tour", *self.global_options, "audio", "--engine", "espeak"],
            check=True,
            capture_output=True,
            timeout=300,
        )

    def stop(self) -> None:
        """Stop gracefully (the scan log is written); stopping twice is harmless."""
        if self.process.returncode is not None:
            return
        self.process.terminate()
        _, stderr = self.process.communicate(timeout=30)
        assert b"Traceback" not in stderr, stderr.decode()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    served = Served(tmp_path_factory.mktemp("served"))
    yield served.base
    served.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Watched:
    """A browser context on a phone, recording every request and console error.

    Conditions given to `wait_for_function` are arrow functions: a bare expression would
    be run through eval(), which the page's Content-Security-Policy rightly refuses.
    """

    def __init__(self, context: BrowserContext, host: str) -> None:
        self.context = context
        self.host = host
        self.requests: list[str] = []
        self.errors: list[str] = []
        context.on("request", lambda request: self.requests.append(request.url))
        # Report every CSP violation as a console error, so none can pass unseen.
        context.add_init_script(
            "document.addEventListener('securitypolicyviolation', e =>"
            " console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));"
        )

    def page(self) -> Page:
        page = self.context.new_page()
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        return page

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def off_site(self) -> list[str]:
        return [url for url in self.requests if urlsplit(url).netloc != self.host]


@pytest.fixture
def phone(browser: Browser, server: str) -> Iterator[Watched]:
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True, locale="id-ID")
    watched = Watched(context, urlsplit(server).netloc)
    yield watched
    context.close()
    assert watched.errors == []
    assert watched.off_site() == []


# --- tapping play, and what was saved -----------------------------------------------------

# Resolves with the seconds from the tap ('play', fired by the tap itself) to 'playing',
# once currentTime has moved on, or with null after 30 s.
WATCH_PLAYBACK = """() => {
  const audio = document.querySelector('audio');
  window.__tapToSound = new Promise((resolve) => {
    let tapped = NaN;
    audio.addEventListener('play', () => { tapped = performance.now(); }, {once: true});
    audio.addEventListener('playing', () => {
      const playing = performance.now();
      const moved = () => audio.currentTime > 0
        ? resolve((playing - tapped) / 1000) : requestAnimationFrame(moved);
      moved();
    }, {once: true});
    setTimeout(resolve, 30000, null);
  });
}"""


def tap_play(page: Page) -> None:
    """Tap the player's play button with a finger, as a visitor does."""
    # The save button is far down the page: the player must be on screen to be tapped.
    page.locator("audio").scroll_into_view_if_needed()
    box = page.locator("audio").bounding_box()
    assert box is not None
    page.touchscreen.tap(box["x"] + 22, box["y"] + box["height"] / 2)


def tap_to_sound(page: Page) -> float | None:
    """Tap play; return the seconds until the sound played, or None after 30 s."""
    page.evaluate(WATCH_PLAYBACK)
    tap_play(page)
    seconds: float | None = page.evaluate("window.__tapToSound")
    return seconds


SAVED_SHA256 = """async (path) => {
  const saved = await caches.match(path);
  if (!saved) return '';
  const digest = await crypto.subtle.digest('SHA-256', await saved.arrayBuffer());
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}"""
"""The SHA-256 of the file the service worker saved under `path`, or ''."""


def sha256_of(url: str) -> str:
    with urllib.request.urlopen(url) as response:
        return hashlib.sha256(response.read()).hexdigest()
