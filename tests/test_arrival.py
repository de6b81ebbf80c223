"""The nudge on arrival, in Debian's Chromium with a mocked position: near a place the
visitor has not opened, a banner offers its page; it never asks for location itself."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Geolocation, Page

from tour.catalog import SourceLines, bundled_stops_dir, check_tour, load_tour
from tour.core.model import EARTH_RADIUS_M, Stop

from .browsing import PHONE, Watched, browser, server

__all__ = ["browser", "server"]

TOUR = load_tour(bundled_stops_dir())
METRES_PER_DEGREE = EARTH_RADIUS_M * math.pi / 180

# Counts what the page asks of the phone's location, and lets a test hide the page:
# headless Chromium keeps every page visible, so hiding is simulated on `document`.
SPY = """
window.__geo = { watches: 0, clears: 0, current: 0, fixes: 0, permission: null };
const geo = navigator.geolocation;
const watch = geo.watchPosition.bind(geo);
const clear = geo.clearWatch.bind(geo);
const current = geo.getCurrentPosition.bind(geo);
geo.watchPosition = (found, failed, options) => {
  window.__geo.watches += 1;
  return watch((position) => { found(position); window.__geo.fixes += 1; }, failed, options);
};
geo.clearWatch = (id) => { window.__geo.clears += 1; clear(id); };
geo.getCurrentPosition = (...args) => { window.__geo.current += 1; current(...args); };
const query = navigator.permissions.query.bind(navigator.permissions);
navigator.permissions.query = (descriptor) => query(descriptor).then((status) => {
  window.__geo.permission = status.state;
  return status;
});
let hidden = false;
Object.defineProperty(document, "hidden", { get: () => hidden });
Object.defineProperty(document, "visibilityState", { get: () => (hidden ? "hidden" : "visible") });
window.__setHidden = (value) => {
  hidden = value;
  document.dispatchEvent(new Event("visibilitychange"));
};
"""

BANNER = "#arrival > div"


def stop(code: str) -> Stop:
    found = TOUR.stop_by_code(code)
    assert found is not None
    return found


def near(place: Stop, north_m: float, accuracy_m: float) -> Geolocation:
    """A fix `north_m` metres north of `place`."""
    return {
        "latitude": place.location.lat + north_m / METRES_PER_DEGREE,
        "longitude": place.location.lon,
        "accuracy": accuracy_m,
    }


MAGAZINE = stop("mesiu")
FAR_AWAY = 300.0  # metres from the magazine, and more than 25 m from every place
assert min(s.location.distance_m(MAGAZINE.location) for s in TOUR.stops if s != MAGAZINE) > 50


@pytest.fixture
def located(browser: Browser, server: str) -> Iterator[Watched]:
    """A phone whose visitor has already allowed location, standing far from every place."""
    context = browser.new_context(
        viewport=PHONE,
        has_touch=True,
        is_mobile=True,
        locale="en-GB",
        permissions=["geolocation"],
        geolocation=near(MAGAZINE, FAR_AWAY, 5),
    )
    context.add_init_script(SPY)
    watched = Watched(context, urlsplit(server).netloc)
    yield watched
    context.close()
    assert watched.errors == []
    assert watched.off_site() == []


def fixes(page: Page) -> int:
    count: int = page.evaluate("window.__geo.fixes")
    return count


def move(watched: Watched, page: Page, position: Geolocation) -> None:
    """Put the phone at `position` and wait until the page has handled the fix."""
    before = fixes(page)
    watched.context.set_geolocation(position)
    page.wait_for_function("(before) => window.__geo.fixes > before", arg=before)


def wait_watching(page: Page) -> None:
    page.wait_for_function("() => window.__geo.fixes > 0")


def banner_text(page: Page) -> str:
    text: str = page.locator("#arrival").inner_text()
    return text


def contrast(page: Page, selector: str) -> float:
    """The WCAG contrast ratio of an element's text on its (opaque) background."""
    foreground, background = page.evaluate(
        """(selector) => {
          const element = document.querySelector(selector);
          let behind = element;
          while (getComputedStyle(behind).backgroundColor === 'rgba(0, 0, 0, 0)') {
            behind = behind.parentElement;
          }
          return [getComputedStyle(element).color, getComputedStyle(behind).backgroundColor];
        }""",
        selector,
    )

    def luminance(css: str) -> float:
        channels = [int(part) / 255 for part in css[css.index("(") + 1 : -1].split(",")[:3]]
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    lighter, darker = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_arriving_at_an_unopened_place_offers_its_story(located: Watched, server: str) -> None:
    page = located.page()
    page.goto(f"{server}/en/abdurrahman")
    wait_watching(page)
    assert banner_text(page) == ""
    move(located, page, near(MAGAZINE, 10, 8))
    assert page.locator("#arrival").get_attribute("role") == "status"
    assert page.locator(BANNER + " p").inner_text() == (
        "You are at the Gunpowder Magazine. Open its story?"
    )
    link = page.get_by_role("link", name="Open the story")
    assert link.get_attribute("href") == "/en/mesiu"
    dismiss = page.get_by_role("button", name="Not now")
    # Polite: focus stays where it was, nothing plays, and the banner is on screen.
    assert page.evaluate("document.activeElement === document.body")
    assert page.evaluate("document.querySelector('audio').paused")
    assert page.locator(BANNER).is_visible()
    for target in (link, dismiss):
        box = target.bounding_box()
        assert box is not None
        assert box["height"] >= 44
        assert box["width"] >= 44
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        for selector in (BANNER + " p", BANNER + " a", BANNER + " button"):
            assert contrast(page, selector) >= 7, (scheme, selector)
    link.click()
    page.wait_for_url(f"{server}/en/mesiu")
    assert page.locator("h1").inner_text() == "Gunpowder Magazine"
    wait_watching(page)
    assert banner_text(page) == ""  # the page now open is not offered
    assert page.evaluate("document.querySelector('audio').paused")


def test_a_vague_fix_offers_nothing(located: Watched, server: str) -> None:
    page = located.page()
    page.goto(f"{server}/en/")
    wait_watching(page)
    move(located, page, near(MAGAZINE, 10, 60))
    assert banner_text(page) == ""
    move(located, page, near(MAGAZINE, 10, 8))  # the same place, now a sharp fix
    page.wait_for_selector(BANNER)
    assert "Gunpowder Magazine" in banner_text(page)


def test_the_open_page_is_not_offered(located: Watched, server: str) -> None:
    page = located.page()
    page.goto(f"{server}/en/mesiu")
    wait_watching(page)
    move(located, page, near(MAGAZINE, 0, 5))
    assert banner_text(page) == ""


def test_each_place_is_offered_once(located: Watched, server: str) -> None:
    page = located.page()
    page.goto(f"{server}/en/")
    wait_watching(page)
    move(located, page, near(MAGAZINE, 10, 8))
    page.wait_for_selector(BANNER)
    page.get_by_role("button", name="Not now").click()
    assert banner_text(page) == ""
    move(located, page, near(MAGAZINE, FAR_AWAY, 5))
    move(located, page, near(MAGAZINE, 5, 5))
    assert banner_text(page) == ""
    page.reload()  # also on the next page the visitor opens
    wait_watching(page)
    move(located, page, near(MAGAZINE, 3, 5))
    assert banner_text(page) == ""


def test_the_banner_goes_when_the_visitor_walks_on(located: Watched, server: str) -> None:
    page = located.page()
    page.goto(f"{server}/en/")
    wait_watching(page)
    move(located, page, near(MAGAZINE, 10, 8))
    page.wait_for_selector(BANNER)
    move(located, page, near(MAGAZINE, 40, 8))  # still close: it stays
    assert page.locator(BANNER).is_visible()
    move(located, page, near(MAGAZINE, FAR_AWAY, 5))
    assert banner_text(page) == ""


def test_no_permission_means_no_location_request_and_no_banner(
    browser: Browser, server: str
) -> None:
    context = browser.new_context(viewport=PHONE, locale="en-GB", geolocation=near(MAGAZINE, 0, 5))
    context.add_init_script(SPY)
    watched = Watched(context, urlsplit(server).netloc)
    try:
        page = watched.page()
        page.goto(f"{server}/en/")
        page.wait_for_function("() => window.__geo.permission !== null")
        assert page.evaluate("window.__geo.permission") != "granted"
        assert page.evaluate("[window.__geo.watches, window.__geo.current]") == [0, 0]
        assert banner_text(page) == ""
        assert watched.errors == []
    finally:
        context.close()


def test_a_hidden_page_stops_watching(located: Watched, server: str) -> None:
    page = located.page()
    page.goto(f"{server}/en/")
    wait_watching(page)
    assert page.evaluate("[window.__geo.watches, window.__geo.clears]") == [1, 0]
    page.evaluate("window.__setHidden(true)")
    assert page.evaluate("[window.__geo.watches, window.__geo.clears]") == [1, 1]
    move_while_hidden = fixes(page)
    located.context.set_geolocation(near(MAGAZINE, 10, 8))
    page.evaluate("window.__setHidden(false)")
    assert page.evaluate("[window.__geo.watches, window.__geo.clears]") == [2, 1]
    page.wait_for_function("(before) => window.__geo.fixes > before", arg=move_while_hidden)
    page.wait_for_selector(BANNER)
    assert "Gunpowder Magazine" in banner_text(page)


def test_the_nudge_works_offline(located: Watched, server: str) -> None:
    page = located.page()
    page.goto(f"{server}/en/kantor")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=15_000)
    # The worker keeps each page the visitor opens; wait_for_function cannot await, so the
    # check stores its answer for the next poll.
    page.wait_for_function(
        "() => { caches.match(location.pathname, {ignoreVary: true})"
        ".then((found) => { window.__saved = Boolean(found); });"
        " return window.__saved === true; }",
        timeout=15_000,
    )
    located.context.set_offline(True)
    page.reload()
    assert page.locator("h1").inner_text() == "Office Palace"
    wait_watching(page)
    move(located, page, near(MAGAZINE, 10, 8))
    page.wait_for_selector(BANNER)
    assert "Gunpowder Magazine" in banner_text(page)


def test_the_chinese_page_offers_in_chinese(located: Watched, server: str) -> None:
    page = located.page()
    page.goto(f"{server}/zh/")
    wait_watching(page)
    move(located, page, near(MAGAZINE, 10, 8))
    page.wait_for_selector(BANNER)
    assert page.locator(BANNER + " p").inner_text() == "您已来到火药库。要打开这里的故事吗？"
    assert page.get_by_role("link", name="打开故事").get_attribute("href") == "/zh/mesiu"
    assert page.get_by_role("button", name="暂时不用").is_visible()


@pytest.mark.parametrize("offer", ["You are there. Open its story?", "{name} or {name}?"])
def test_the_offer_must_name_the_place_once(small_tour: Path, offer: str) -> None:
    tour_file = small_tour / "tour.toml"
    text = tour_file.read_text("utf-8")
    english = 'arrival_offer = "You are at the {name}. Open its story?"'
    assert text.count(english) == 1
    tour_file.write_text(text.replace(english, f'arrival_offer = "{offer}"'), "utf-8")
    line = SourceLines(tour_file.read_text("utf-8")).line("ui", "en", "arrival_offer")
    tour, problems = check_tour(small_tour)
    assert tour is None
    assert [str(problem).replace(str(small_tour) + "/", "") for problem in problems] == [
        f"tour.toml:{line}: ui.en.arrival_offer: must contain {{name}} once, "
        "where the page puts the place's name"
    ]


def test_dismissing_gives_focus_back_and_the_banner_covers_nothing(
    located: Watched, server: str
) -> None:
    page = located.page()
    page.goto(f"{server}/en/abdurrahman")
    wait_watching(page)
    footer = page.locator("footer a")
    footer.focus()
    move(located, page, near(MAGAZINE, 10, 8))
    page.wait_for_selector(BANNER)
    # Scrolled to the end, the page's last link sits above the banner, not under it.
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    footer_box, banner_box = footer.bounding_box(), page.locator(BANNER).bounding_box()
    assert footer_box is not None
    assert banner_box is not None
    assert footer_box["y"] + footer_box["height"] <= banner_box["y"]
    page.get_by_role("button", name="Not now").focus()
    page.keyboard.press("Enter")
    assert banner_text(page) == ""
    assert page.evaluate("document.activeElement === document.querySelector('footer a')")
    assert page.evaluate("document.body.style.paddingBottom") == ""


def test_focus_goes_to_the_heading_when_it_had_no_place_to_go_back_to(
    located: Watched, server: str
) -> None:
    page = located.page()
    page.goto(f"{server}/en/")
    wait_watching(page)
    for focused_first in (False, True):
        if focused_first:  # a link, gone from the page by the time the banner goes
            page.locator("ol.stops a").first.focus()
        move(located, page, near(MAGAZINE, FAR_AWAY, 5))
        move(located, page, near(stop("masjid" if focused_first else "mesiu"), 10, 8))
        page.wait_for_selector(BANNER)
        if focused_first:
            page.evaluate("document.querySelector('ol.stops').remove()")
        page.get_by_role("button", name="Not now").focus()
        page.keyboard.press("Enter")
        assert banner_text(page) == ""
        assert page.evaluate("document.activeElement === document.querySelector('h1')")
        assert page.locator("h1").get_attribute("tabindex") == "-1"


def test_a_past_day_is_forgotten(located: Watched, server: str) -> None:
    page = located.page()
    page.goto(f"{server}/en/")
    wait_watching(page)
    stale = '{"day": "2000-1-1", "codes": ["mesiu"]}'
    page.evaluate("(stale) => localStorage.setItem('tour-arrival', stale)", stale)
    page.reload()  # no place opened, none near: nothing is written today
    wait_watching(page)
    assert page.evaluate("localStorage.getItem('tour-arrival')") is None
    move(located, page, near(MAGAZINE, 10, 8))  # and yesterday's place is offered again
    page.wait_for_selector(BANNER)
