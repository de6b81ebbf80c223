"""Working with no signal, in Debian's Chromium: the service worker, saving the whole
tour, the map's "you are here" dot, and the phone's own voice as a fallback."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import signal
import sqlite3
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Request, Route

from tour.catalog import bundled_stops_dir, load_tour

from .browsing import PHONE, SAVED_SHA256, Served, browser, server, sha256_of, tap_play
from .throttle import ThrottlingProxy, throttled

__all__ = ["browser", "server"]

TOUR = load_tour(bundled_stops_dir())


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True, locale="id-ID")
    yield context
    context.close()


@pytest.fixture(scope="module")
def weak_link(server: str) -> Iterator[ThrottlingProxy]:
    """The module's server seen through a weak mobile link: 300 ms RTT, 750 kbit/s down."""
    with throttled(port_of(server)) as proxy:
        yield proxy


def port_of(base: str) -> int:
    return int(base.rsplit(":", 1)[1])


def controlled(page: Page) -> None:
    """Wait until the service worker controls the page."""
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=15_000)


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


STATUS_LOG = """() => {
  window.__statuses = [];
  const status = document.getElementById('save-status');
  new MutationObserver(() => window.__statuses.push(status.textContent))
    .observe(status, {childList: true, characterData: true, subtree: true});
}"""


def test_the_saved_size_counts_the_captions(context: BrowserContext, server: str) -> None:
    with urllib.request.urlopen(f"{server}/api/tour.json") as response:
        document = json.load(response)
    narrations = [stop["audio"]["en"] for stop in document["stops"]]
    for sound in narrations:
        with urllib.request.urlopen(server + sound["captions"]) as response:
            assert sound["captions_size"] == len(response.read())  # tour.json tells the truth

    # A megabyte of captions per stop shows in the total as surely as in the arithmetic.
    def inflated(route: Route) -> None:
        response = route.fetch()
        data = response.json()
        for stop in data["stops"]:
            for sound in stop["audio"].values():
                sound["captions_size"] = 1_000_000
        route.fulfill(response=response, json=data)

    context.route("**/api/tour.json", inflated)
    page = context.new_page()
    page.goto(f"{server}/en/")
    controlled(page)
    page.evaluate(STATUS_LOG)
    page.locator("#save-tour").click()
    page.wait_for_function(
        "(text) => document.getElementById('save-status').textContent === text",
        arg=TOUR.ui["en"]["saved"],
        timeout=60_000,
    )
    photos = sum(photo["size"] for stop in document["stops"] for photo in stop["photos"])
    total = sum(sound["size"] + 1_000_000 for sound in narrations) + photos
    statuses: list[str] = page.evaluate("window.__statuses")
    progress = [text for text in statuses if text.startswith("Saving: ")]
    stops = len(TOUR.stops)
    assert (
        progress[-1] == f"Saving: {stops}/{stops} places · {total / 1e6:.1f}/{total / 1e6:.1f} MB"
    )


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


UPDATE_AND_ACTIVATE = """async () => {
  const registration = await navigator.serviceWorker.getRegistration();
  await registration.update();
  const fresh = registration.installing || registration.waiting;
  if (!fresh) return 'no new build';
  await new Promise((resolve) => {
    const settled = () => ['activated', 'redundant'].includes(fresh.state);
    if (settled()) resolve();
    fresh.addEventListener('statechange', () => { if (settled()) resolve(); });
  });
  return fresh.state;
}"""


def server_text(url: str) -> str:
    """A page as the server sends it now, asked directly rather than by the browser."""
    with urllib.request.urlopen(url) as response:
        text: str = response.read().decode()
        return text


def worker_shell(base: str) -> set[str]:
    """The paths the service worker stores when it installs (its SHELL)."""
    found = re.search(r"^const SHELL = (\[.*\]);$", server_text(f"{base}/sw.js"), re.MULTILINE)
    assert found is not None
    return set(json.loads(found.group(1)))


def test_a_new_build_activates_at_once_then_refreshes_the_saved_tour(
    browser: Browser, editable: EditableTour
) -> None:
    direct = editable.served.base
    context = browser.new_context(viewport=PHONE, locale="en-GB")
    try:
        with throttled(port_of(direct)) as link:
            base = link.base
            page = context.new_page()
            # the last stop: no next stops to prefetch, so the link is quiet when it is saved
            page.goto(f"{base}/en/balai-adat")
            controlled(page)
            assert wait_until(lambda: "/en/balai-adat" in page.evaluate(SAVED_PAGES))
            [old] = [n for n in page.evaluate("caches.keys()") if n.startswith("tour-pages-")]

            editable.edit_and_reload(
                "balai-adat.toml", 'en = "Malay Customs Hall"', 'en = "The Customs Hall"'
            )
            assert wait_until(lambda: "The Customs Hall" in server_text(f"{direct}/en/balai-adat"))
            link.log.clear()
            assert page.evaluate(UPDATE_AND_ACTIVATE) == "activated"
            # The browser holds the pages' requests while a worker activates: nothing but
            # the new worker and the shell it stores may cross the weak link until then.
            assert {request.path for request in link.log.requests} <= {
                "/sw.js",
                *worker_shell(direct),
            }

            # The saved page is fetched again afterwards, once the visitor goes on.
            page.goto(f"{base}/en/")

            def only_the_new_build() -> bool:
                pages = page.evaluate(NEW_BUILD_ACTIVE)
                return len(pages) == 1 and pages[0] != old

            assert wait_until(only_the_new_build)
            saved = [r.headers.get("x-tour-save") for r in link.log.to("/en/balai-adat")]
            assert saved == ["1"]
            context.set_offline(True)
            page.goto(f"{base}/en/balai-adat")
            assert page.locator("h1").inner_text() == "The Customs Hall"
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
        assert wait_until(lambda: "Pelabuhan" in server_text(f"{base}/id/dermaga"))
        assert page.evaluate(UPDATE_AND_ACTIVATE) == "activated"
        page.goto(f"{base}/id/")
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


# Resolves, once the narration is heard (currentTime moving on), with whether the worker
# had saved it by then.
WATCH_SOUND = """(path) => {
  const audio = document.querySelector('audio');
  window.__savedAtSound = new Promise((resolve) => {
    const heard = () => {
      if (audio.currentTime <= 0) return;
      audio.removeEventListener('timeupdate', heard);
      caches.match(path).then((saved) => resolve(Boolean(saved)));
    };
    audio.addEventListener('timeupdate', heard);
  });
}"""


def test_narration_not_saved_plays_from_the_network_and_is_saved_once(
    browser: Browser, server: str, weak_link: ThrottlingProxy
) -> None:
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True, locale="id-ID")
    saves: list[str] = []  # the worker's own fetches that save something

    def note(request: Request) -> None:
        if request.service_worker is not None and "x-tour-save" in request.headers:
            saves.append(urlsplit(request.url).path)

    context.on("request", note)
    try:
        page = context.new_page()
        page.goto(f"{weak_link.base}/id/")
        controlled(page)
        page.goto(f"{weak_link.base}/id/kursi")  # out of walking order: nothing prefetched it
        path = page.evaluate("new URL(document.querySelector('audio').src).pathname")
        assert page.evaluate("(path) => caches.match(path).then(Boolean)", path) is False
        page.evaluate(WATCH_SOUND, path)
        tap_play(page)
        # a second request for the same file while the first still streams
        status, content_range, length = page.evaluate(RANGE_FETCH, "bytes=0-99")
        assert (status, content_range.split("/")[0], length) == (206, "bytes 0-99", 100)
        assert page.evaluate("window.__savedAtSound") is False, "sound waited for the download"
        assert wait_until(lambda: page.evaluate(SAVED_SHA256, path) != "")
        # the player's own range request went straight to the network...
        assert weak_link.log.to(path)[0].headers.get("range") == "bytes=0-"
        # ...and the file was saved whole, by one download
        assert saves.count(path) == 1
        assert page.evaluate(SAVED_SHA256, path) == sha256_of(server + path)
    finally:
        context.close()


MULTI_RANGE_FETCH = """async (range) => {
  const src = new URL(document.querySelector('audio').src).pathname;
  const response = await fetch(src, {headers: {Range: range}});
  const digest = await crypto.subtle.digest('SHA-256', await response.arrayBuffer());
  return [response.status,
          [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('')];
}"""


def test_several_ranges_at_once_get_the_whole_file(context: BrowserContext, server: str) -> None:
    page = context.new_page()
    page.goto(f"{server}/id/tabib")
    controlled(page)
    path = page.evaluate("new URL(document.querySelector('audio').src).pathname")
    whole = sha256_of(server + path)
    assert page.evaluate("(path) => caches.match(path).then(Boolean)", path) is False
    assert page.evaluate(MULTI_RANGE_FETCH, "bytes=0-1,5-9") == [200, whole]  # not saved yet
    assert page.evaluate(SAVED_SHA256, path) == whole
    assert page.evaluate(MULTI_RANGE_FETCH, "bytes=0-1,5-9") == [200, whole]  # from the cache


def test_the_last_language_outlives_the_worker(context: BrowserContext, server: str) -> None:
    page = context.new_page()
    page.goto(f"{server}/id/kursi")
    controlled(page)
    page.goto(f"{server}/en/kursi")
    assert wait_until(lambda: {"/id/kursi", "/en/kursi"} <= set(page.evaluate(SAVED_PAGES)))
    context.set_offline(True)  # first: Playwright cannot set it while a worker is stopped
    # The browser stops idle workers as it likes; the next request starts a fresh one.
    devtools = context.new_cdp_session(page)
    devtools.send("ServiceWorker.enable")
    devtools.send("ServiceWorker.stopAllWorkers")
    page.goto(f"{server}/s/kursi")  # a plaque scanned with no signal
    assert page.locator("h1").inner_text() == "Bukit Kursi Fort"


PAGE_CACHE = """async () => {
  const name = (await caches.keys()).find((n) => n.startsWith('tour-pages-'));
  const keys = await (await caches.open(name)).keys();
  return keys.map((request) => request.url.slice(location.origin.length));
}"""

FILL_PAGE_CACHE = """async (count) => {
  const name = (await caches.keys()).find((n) => n.startsWith('tour-pages-'));
  const cache = await caches.open(name);
  for (let i = 0; i < count; i++) await cache.put(`/filler/${i}`, new Response('x'));
}"""


def test_pages_are_kept_by_path_and_the_oldest_go_first(
    context: BrowserContext, server: str
) -> None:
    page = context.new_page()
    page.goto(f"{server}/en/perigi")
    controlled(page)
    page.goto(f"{server}/en/perigi?utm_source=qr")
    assert wait_until(lambda: "/en/perigi" in page.evaluate(PAGE_CACHE))
    assert [key for key in page.evaluate(PAGE_CACHE) if "perigi" in key] == ["/en/perigi"]

    found = re.search(r"^const PAGE_LIMIT = (\d+);", server_text(f"{server}/sw.js"), re.MULTILINE)
    assert found is not None
    limit = int(found.group(1))
    shell = worker_shell(server)
    page.evaluate(FILL_PAGE_CACHE, limit + 50)  # as if the visitor had browsed for months
    page.goto(f"{server}/en/masjid")

    def pages() -> list[str]:
        return [key for key in page.evaluate(PAGE_CACHE) if key not in shell]

    assert wait_until(lambda: "/en/masjid" in pages() and len(pages()) == limit)
    kept = set(page.evaluate(PAGE_CACHE))
    assert shell <= kept
    assert {"/en/masjid", f"/filler/{limit + 49}"} <= kept
    assert not {"/en/perigi", "/filler/0"} & kept  # the oldest went first
