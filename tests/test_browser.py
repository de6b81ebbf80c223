"""The visitor's page in a real browser: Debian's Chromium driven by Playwright.

The server runs as its own process (`python -m tour serve`) with narration built by
the offline voice, exactly as `make run` serves it.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page

from tour.catalog import bundled_stops_dir, load_tour

from .browsing import PHONE, Served, Watched, browser, phone, server
from .staff import PASSWORD

__all__ = ["browser", "phone", "server"]  # fixtures, shared with the offline tests


def tap_play(page: Page) -> None:
    """Tap the play button of the native controls, at the left end of the <audio> bar."""
    box = page.locator("audio").bounding_box()
    assert box is not None
    page.touchscreen.tap(box["x"] + 22, box["y"] + box["height"] / 2)


def test_scan_opens_the_stop_and_the_narration_plays_after_a_tap(
    phone: Watched, server: str
) -> None:
    page = phone.page()
    response = page.goto(f"{server}/s/masjid")
    assert response is not None
    assert response.status == 200
    assert page.evaluate("document.documentElement.lang") == "id"
    assert page.locator("h1").inner_text() == "Masjid Raya Sultan Riau"
    assert page.evaluate("document.querySelector('audio').paused")
    tap_play(page)
    page.wait_for_function(
        "() => { const a = document.querySelector('audio');"
        " return a.duration > 0 && !a.paused && a.currentTime > 0; }",
        timeout=15_000,
    )
    assert page.evaluate("document.querySelector('audio').duration") > 60


def test_speed_button_changes_and_remembers_playback_rate(phone: Watched, server: str) -> None:
    page = phone.page()
    page.goto(f"{server}/id/tabib")
    faster = page.get_by_role("button", name="1,5×")
    faster.click()
    assert page.evaluate("document.querySelector('audio').playbackRate") == 1.5
    assert faster.get_attribute("aria-pressed") == "true"
    page.goto(f"{server}/id/engku-puteri")
    assert page.evaluate("document.querySelector('audio').playbackRate") == 1.5
    assert page.get_by_role("button", name="1,5×").get_attribute("aria-pressed") == "true"


def test_skip_buttons_move_ten_seconds(phone: Watched, server: str) -> None:
    page = phone.page()
    page.goto(f"{server}/id/masjid")
    page.evaluate("document.querySelector('audio').load()")
    page.wait_for_function("() => document.querySelector('audio').readyState >= 1")
    page.get_by_role("button", name="Maju 10 detik").click()
    assert page.evaluate("document.querySelector('audio').currentTime") == pytest.approx(10)
    page.get_by_role("button", name="Mundur 10 detik").click()
    assert page.evaluate("document.querySelector('audio').currentTime") == pytest.approx(0)


def test_language_choice_survives_a_new_scan(phone: Watched, server: str) -> None:
    page = phone.page()
    page.goto(f"{server}/s/masjid")
    page.get_by_role("link", name="English").click()
    page.wait_for_url(f"{server}/en/masjid")
    assert page.locator("h1").inner_text() == "Sultan of Riau Grand Mosque"
    page.goto(f"{server}/s/kursi")  # a fresh scan of another plaque
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.locator("h1").inner_text() == "Bukit Kursi Fort"


def test_next_stop_link_works(phone: Watched, server: str) -> None:
    page = phone.page()
    page.goto(f"{server}/id/masjid")
    page.locator("a[rel=next]").click()
    page.wait_for_url(f"{server}/id/tabib")
    assert page.locator("h1").inner_text() == "Gedung Tabib"
    assert "Perhentian 3 dari 14" in page.locator(".kicker").inner_text()


def test_the_end_of_a_narration_offers_the_next_stop(phone: Watched, server: str) -> None:
    page = phone.page()
    page.goto(f"{server}/id/masjid")
    assert page.locator("#up-next").is_hidden()
    tap_play(page)
    page.wait_for_function("() => document.querySelector('audio').duration > 0", timeout=15_000)
    page.evaluate(
        "() => { const a = document.querySelector('audio'); a.currentTime = a.duration - 0.3; }"
    )
    page.wait_for_selector("#up-next", state="visible", timeout=15_000)
    focused = page.evaluate("document.activeElement.getAttribute('href')")
    assert focused == "/id/tabib"


def test_page_works_without_javascript(browser: Browser, server: str) -> None:
    context = browser.new_context(viewport=PHONE, java_script_enabled=False, locale="en-GB")
    page = context.new_page()
    page.goto(f"{server}/s/perigi")
    assert page.locator("h1").inner_text() == "Princesses' Well"
    assert page.locator("audio").is_visible()  # the native player needs no script
    assert page.locator(".controls").is_hidden()  # the extras stay out of the way
    page.locator("a[rel=next]").click()
    page.wait_for_url(f"{server}/en/kursi")
    context.close()


CONTRAST_SCRIPT = """
() => {
  const luminance = (rgb) => {
    const [r, g, b] = rgb.map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const parse = (color) => color.match(/[\\d.]+/g).slice(0, 4).map(Number);
  const background = (element) => {
    for (let node = element; node; node = node.parentElement) {
      const color = parse(getComputedStyle(node).backgroundColor);
      if (color.length < 4 || color[3] > 0) return color.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const worst = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const text = walker.currentNode;
    const element = text.parentElement;
    if (!text.textContent.trim() || element.closest('[hidden], .sr, .skip, script')) continue;
    const style = getComputedStyle(element);
    const fg = luminance(parse(style.color).slice(0, 3));
    const bg = luminance(background(element));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    worst.push([ratio, text.textContent.trim().slice(0, 30)]);
  }
  worst.sort((a, b) => a[0] - b[0]);
  return worst.slice(0, 3);
}
"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_contrast_is_at_least_7_to_1(browser: Browser, server: str, scheme: str) -> None:
    context = browser.new_context(viewport=PHONE, color_scheme=scheme)  # type: ignore[arg-type]
    page = context.new_page()
    for path in ("/id/masjid", "/en/", "/en/nowhere"):
        page.goto(server + path)
        worst = page.evaluate(CONTRAST_SCRIPT)
        assert worst[0][0] >= 7.0, (scheme, path, worst)
    context.close()


def test_tap_targets_headings_skip_link(phone: Watched, server: str) -> None:
    page = phone.page()
    for path in ("/id/masjid", "/id/"):
        page.goto(server + path)
        small = page.evaluate(
            """() => [...document.querySelectorAll('a, button, audio')]
                .filter((e) => e.offsetParent !== null && !e.closest('.skip'))
                .map((e) => [e.textContent.trim().slice(0, 20), e.getBoundingClientRect()])
                .filter(([, r]) => r.width < 44 || r.height < 44)
                .map(([t, r]) => [t, Math.round(r.width), Math.round(r.height)])"""
        )
        assert small == [], (path, small)
        levels = page.evaluate(
            "[...document.querySelectorAll('h1,h2,h3,h4')].map((h) => Number(h.tagName[1]))"
        )
        assert levels.count(1) == 1
        assert levels[0] == 1
        assert all(b - a <= 1 for a, b in itertools.pairwise(levels)), levels
        page.keyboard.press("Tab")
        skip = page.evaluate(
            "() => { const e = document.activeElement; const r = e.getBoundingClientRect();"
            " return [e.className, r.left >= 0 && r.top >= 0,"
            " getComputedStyle(e).outlineStyle]; }"
        )
        assert skip[0] == "skip"
        assert skip[1], "the skip link shows when focused"
        assert skip[2] != "none", "focus is visible"


def test_security_headers_in_the_browser(phone: Watched, server: str) -> None:
    page = phone.page()
    response = page.goto(f"{server}/id/masjid")
    assert response is not None
    headers = response.headers
    policy = headers["content-security-policy"]
    assert "'unsafe-inline'" not in policy
    assert "script-src 'self' 'sha256-" in policy
    assert "style-src 'sha256-" in policy
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert "camera=()" in headers["permissions-policy"]
    # the inline script ran under that policy: the speed buttons are shown
    assert page.locator(".controls").is_visible()


def test_staff_pages_in_the_browser(browser: Browser, tmp_path: Path) -> None:
    # The first account, made as staff make it: `tour staff add`, the password on stdin.
    database = str(tmp_path / "scans.db")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "tour",
            "--db",
            database,
            "staff",
            "add",
            "ana",
            "--role",
            "publisher",
        ],
        input=PASSWORD + "\n",
        text=True,
        check=True,
        capture_output=True,
        timeout=60,
    )
    served = Served(tmp_path, env={"TOUR_BASE_URL": "http://tour.example"})
    context = browser.new_context(viewport={"width": 1024, "height": 900})
    watched = Watched(context, urlsplit(served.base).netloc)
    try:
        page = watched.page()
        page.goto(f"{served.base}/s/masjid")
        page.goto(f"{served.base}/admin")
        page.wait_for_url(f"{served.base}/admin/login")
        page.get_by_label("Nama pengguna").fill("ana")  # the staff pages start in Indonesian
        page.get_by_label("Kata sandi").fill(PASSWORD)
        page.get_by_role("button", name="Masuk").click()
        page.wait_for_url(f"{served.base}/admin")
        assert page.locator("h1").inner_text() == "Pindaian dan narasi"
        page.get_by_label("Bahasa halaman staf").select_option("en")
        page.get_by_role("button", name="Ganti bahasa").click()
        page.wait_for_url(f"{served.base}/admin")
        assert page.locator("h1").inner_text() == "Scans and narration"
        assert page.locator("svg.chart rect").count() == 30
        page.get_by_role("button", name="Rebuild masjid-raya").click()
        # the status box follows the build with its script, then the page reloads itself
        page.wait_for_selector("text=Last build (masjid-raya)", timeout=60_000)
        languages = len(load_tour(bundled_stops_dir()).languages)
        assert f"{languages} built" in page.locator("#rebuild-status").inner_text()
    finally:
        context.close()
        served.stop()
    assert watched.errors == []  # no CSP violation, no script error
    assert watched.off_site() == []


def cue_start(page: Page, number: int) -> float:
    start = page.locator(f'.transcript [data-cue="{number}"]').get_attribute("data-start")
    assert start is not None
    return float(start)


def lit_cue(page: Page) -> str | None:
    """The number of the one lit sentence, "several" if more are lit, None if none is."""
    lit: str | None = page.evaluate(
        "(() => { const lit = document.querySelectorAll('.transcript [aria-current]');"
        " return lit.length === 1 ? lit[0].dataset.cue : lit.length ? 'several' : null; })()"
    )
    return lit


def test_read_along_lights_the_spoken_sentence_and_a_tap_plays_from_it(
    phone: Watched, server: str
) -> None:
    page = phone.page()
    page.goto(f"{server}/en/masjid")
    captions = page.locator("audio track").get_attribute("src")
    assert captions is not None
    assert captions.endswith(".vtt")
    assert page.locator("audio track").get_attribute("label") == "Captions"
    page.wait_for_load_state("networkidle")
    assert not [url for url in phone.requests if url.endswith(captions)]  # not before use
    tap_play(page)
    page.wait_for_function(
        "() => document.querySelectorAll('.transcript [data-start]').length === 13",
        timeout=15_000,
    )
    assert [url for url in phone.requests if url.endswith(captions)]
    page.evaluate("document.querySelector('audio').pause()")

    # Seeking to a cue's start lights exactly that sentence.
    start = cue_start(page, 3)
    page.evaluate(f"document.querySelector('audio').currentTime = {start}")
    page.wait_for_function("() => document.querySelector('[data-cue=\"3\"][aria-current=true]')")
    assert lit_cue(page) == "3"
    assert (
        page.locator('.transcript [data-cue="3"]')
        .inner_text()
        .startswith("The present mosque was begun on 1 Syawal 1248")
    )
    # Only the lit sentence is in the tab order.
    assert page.locator('.transcript [tabindex="0"]').count() == 1
    assert page.locator('.transcript [data-cue="3"]').get_attribute("tabindex") == "0"

    # Tapping a sentence plays from its start.
    page.locator('.transcript [data-cue="7"]').tap()
    start, end = cue_start(page, 7), cue_start(page, 8)
    page.wait_for_function(
        f"() => {{ const a = document.querySelector('audio');"
        f" return !a.paused && a.currentTime >= {start} && a.currentTime < {end}; }}",
        timeout=15_000,
    )
    assert lit_cue(page) == "7"

    # From the keyboard: an arrow moves along the sentences, Enter plays from one.
    page.locator('.transcript [data-cue="7"]').focus()
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.dataset.cue") == "8"
    page.keyboard.press("Enter")
    page.wait_for_function(
        f"() => document.querySelector('audio').currentTime >= {cue_start(page, 8)}"
        " && document.querySelector('[data-cue=\"8\"][aria-current=true]')",
        timeout=15_000,
    )
    page.evaluate("document.querySelector('audio').pause()")
