"""Working with no signal, in Debian's Chromium: the service worker, saving the whole
tour, the map's "you are here" dot, and the phone's own voice as a fallback."""

from __future__ import annotations

import contextlib
import shutil
import signal
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from tour.catalog import bundled_stops_dir, load_tour

from .browsing import PHONE, Served, browser, server

__all__ = ["browser", "server"]

TOUR = load_tour(bundled_stops_dir())


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True, locale="id-ID")
    yield context
    context.close()


def controlled(page: Page) -> None:
    """Wait until the service worker controls the page."""
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=15_000)


def tap_play(page: Page) -> None:
    box = page.locator("audio").bounding_box()
    assert box is not None
    page.touchscreen.tap(box["x"] + 22, box["y"] + box["height"] / 2)


def wait_playing(page: Page) -> None:
    page.wait_for_function(
        "() => { const a = document.querySelector('audio');"
        " return a.duration > 0 && !a.paused && a.currentTime > 0; }",
        timeout=15_000,
    )


RANGE_FETCH = """async (range) => {
  const src = new URL(document.querySelector('audio').src).pathname;
  const response = await fetch(src, {headers: {Range: range}});
  return [response.status, response.headers.get('Content-Range'),
          (await response.arrayBuffer()).byteLength];
}"""


def test_offline_reload_plays_narration_from_the_cache(
    context: BrowserContext, server: str
) -> None:
    page = context.new_page()
    page.goto(f"{server}/id/masjid")
    controlled(page)
    tap_play(page)  # the first play stores the whole narration
    wait_playing(page)
    context.set_offline(True)
    page.reload()
    assert page.locator("h1").inner_text() == "Masjid Raya Sultan Riau"
    status, content_range, length = page.evaluate(RANGE_FETCH, "bytes=0-1")
    assert status == 206
    assert content_range.startswith("bytes 0-1/")
    assert length == 2
    size = int(content_range.rsplit("/", 1)[1])
    assert page.evaluate(RANGE_FETCH, "bytes=-500") == [
        206,
        f"bytes {size - 500}-{size - 1}/{size}",
        500,
    ]
    assert page.evaluate(RANGE_FETCH, f"bytes={size + 5}-")[:2] == [416, f"bytes */{size}"]
    tap_play(page)
    wait_playing(page)


def test_save_the_whole_tour_then_open_everything_offline(
    context: BrowserContext, server: str
) -> None:
    page = context.new_page()
    for lang in TOUR.languages:
        saved = TOUR.ui[lang]["saved"]
        page.goto(f"{server}/{lang}/")
        controlled(page)
        button = page.locator("#save-tour")
        assert " MB)" in button.inner_text()
        button.click()
        page.wait_for_function(
            "(text) => document.getElementById('save-status').textContent.startsWith(text)",
            arg=saved,
            timeout=60_000,
        )
        bar = page.evaluate(
            "[document.getElementById('save-progress').value,"
            " document.getElementById('save-progress').max]"
        )
        assert bar[0] == bar[1] > 14  # every page and narration of this language: 100%
    context.set_offline(True)
    for lang in TOUR.languages:
        for stop in TOUR.stops:
            response = page.goto(f"{server}/{lang}/{stop.code}")
            assert response is not None
            assert response.status == 200
            assert page.locator("h1").inner_text() == stop.name[lang].replace("&#39;", "'")
            status, _, length = page.evaluate(RANGE_FETCH, "bytes=0-")
            assert status == 206
            assert length > 10_000
    # a plaque scanned with no signal opens the saved page, in the language last opened
    response = page.goto(f"{server}/s/kursi")
    assert response is not None
    fort = TOUR.stop_by_code("kursi")
    assert fort is not None
    assert page.locator("h1").inner_text() == fort.name[TOUR.languages[-1]]


def test_map_shows_where_the_visitor_is(browser: Browser, server: str) -> None:
    mosque = TOUR.stops[1].location
    context = browser.new_context(
        viewport=PHONE,
        locale="en-GB",
        geolocation={"latitude": mosque.lat, "longitude": mosque.lon},
        permissions=["geolocation"],
    )
    page = context.new_page()
    page.goto(f"{server}/en/")
    page.get_by_role("button", name="Show where I am").click()
    page.wait_for_function(
        "() => document.getElementById('you').getAttribute('visibility') === 'visible'"
    )
    assert (
        page.locator("#nearest").inner_text() == "Nearest place: Sultan of Riau Grand Mosque, 0 m"
    )
    context.set_offline(True)  # GPS needs no network
    context.set_geolocation(
        {"latitude": TOUR.stops[12].location.lat, "longitude": TOUR.stops[12].location.lon}
    )
    page.wait_for_function(
        "() => document.getElementById('nearest').textContent.includes('Bukit Kursi')"
    )
    context.close()


def test_phone_voice_when_the_narration_cannot_load(browser: Browser, server: str) -> None:
    context = browser.new_context(
        viewport=PHONE, has_touch=True, locale="id-ID", service_workers="block"
    )
    context.add_init_script(
        "window.__spoken = [];"
        "window.speechSynthesis.speak = (u) => window.__spoken.push([u.text, u.lang]);"
    )
    context.route("**/media/audio/**", lambda route: route.abort())
    page = context.new_page()
    page.goto(f"{server}/id/tabib")
    button = page.get_by_role("button", name="Dengarkan dengan suara ponsel Anda")
    assert button.is_hidden()
    tap_play(page)
    button.wait_for(state="visible", timeout=15_000)
    button.click()
    spoken = page.evaluate("window.__spoken")
    stop = TOUR.stop_by_code("tabib")
    assert stop is not None
    assert spoken == [["\n\n".join(stop.paragraphs("id")), "id"]]
    context.close()


NEW_BUILD_ACTIVE = """async () => {
  const registration = await navigator.serviceWorker.getRegistration();
  if (!registration.active || registration.active.state !== 'activated') return [];
  return (await caches.keys()).filter((name) => name.startsWith('tour-pages-'));
}"""

SAVED_PAGES = """async () => {
  const out = [];
  for (const name of await caches.keys()) {
    if (!name.startsWith('tour-pages-')) continue;
    for (const request of await (await caches.open(name)).keys()) {
      out.push(new URL(request.url).pathname);
    }
  }
  return out;
}"""


def wait_until(condition: Callable[[], bool], seconds: float = 30) -> bool:
    """Poll `condition` until it holds or time is up (page.evaluate awaits promises,
    wait_for_function does not, so async browser checks are polled from here)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


@dataclass
class EditableTour:
    served: Served
    stops: Path

    def edit_and_reload(self, file_name: str, old: str, new: str) -> None:
        """Edit a stop file as staff would, then reload the server with SIGHUP."""
        path = self.stops / file_name
        text = path.read_text("utf-8")
        assert old in text
        path.write_text(text.replace(old, new), "utf-8")
        self.served.process.send_signal(signal.SIGHUP)


@pytest.fixture
def editable(tmp_path: Path) -> Iterator[EditableTour]:
    """A server of its own, over a copy of the bundled stop files that tests may edit."""
    stops = tmp_path / "stops"
    shutil.copytree(bundled_stops_dir(), stops)
    served = Served(tmp_path, stops)
    yield EditableTour(served, stops)
    served.stop()


def test_a_new_build_replaces_the_old_cache(browser: Browser, editable: EditableTour) -> None:
    base = editable.served.base
    context = browser.new_context(viewport=PHONE, locale="en-GB")
    try:
        page = context.new_page()
        page.goto(f"{base}/en/perigi")
        controlled(page)
        [old] = [name for name in page.evaluate("caches.keys()") if name.startswith("tour-pages-")]

        editable.edit_and_reload(
            "perigi-puteri.toml", 'en = "Princesses\' Well"', 'en = "The Well"'
        )

        def reloaded() -> bool:
            page.goto(f"{base}/en/perigi")
            return page.locator("h1").inner_text() == "The Well"

        assert wait_until(reloaded)
        page.evaluate("navigator.serviceWorker.getRegistration().then((r) => r.update())")

        def only_the_new_build() -> bool:
            pages = page.evaluate(NEW_BUILD_ACTIVE)
            return len(pages) == 1 and pages[0] != old

        assert wait_until(only_the_new_build)
        context.set_offline(True)
        page.reload()
        assert page.locator("h1").inner_text() == "The Well"
    finally:
        context.close()


def test_the_service_worker_never_counts_a_scan_twice(
    browser: Browser, editable: EditableTour, tmp_path: Path
) -> None:
    base = editable.served.base
    context = browser.new_context(viewport=PHONE, locale="id-ID")
    try:
        page = context.new_page()
        page.goto(f"{base}/s/dermaga")  # one scan of the jetty's plaque
        controlled(page)
        # the page is kept for offline use under its own address, not under /s/
        assert wait_until(lambda: "/id/dermaga" in page.evaluate(SAVED_PAGES))
        # a new build makes the worker fetch the saved pages again, but never /s/
        editable.edit_and_reload("jetty.toml", "Dermaga Pulau", "Pelabuhan Pulau")
        time.sleep(1.0)
        page.goto(f"{base}/id/")
        page.evaluate("navigator.serviceWorker.getRegistration().then((r) => r.update())")
        saved_page = (
            "caches.match('/id/dermaga', {ignoreVary: true}).then((r) => r ? r.text() : '')"
        )
        assert wait_until(
            lambda: (
                len(page.evaluate(NEW_BUILD_ACTIVE)) == 1
                and "Pelabuhan" in page.evaluate(saved_page)
            )
        ), "the new build's worker fetched the saved page again"
    finally:
        context.close()
    editable.served.stop()
    with contextlib.closing(sqlite3.connect(tmp_path / "scans.db")) as connection:
        rows = connection.execute("SELECT stop, lang, source, count FROM scans").fetchall()
    assert rows == [("jetty", "id", "qr", 1)]
