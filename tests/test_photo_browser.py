"""A stop photo in Debian's Chromium: it decodes, breaks no policy and shifts nothing."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser

from tour.catalog import load_tour
from tour.photos.build import build_photos

from .browsing import PHONE, Served, Watched, browser
from .conftest import write_small_tour
from .photo_files import camera_jpeg
from .test_photos import add_photos, photo_table

__all__ = ["browser"]

# Sums every layout shift from the first paint on, including those before the script ran.
WATCH_SHIFTS = """
window.layoutShift = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) window.layoutShift += entry.value;
}).observe({ type: "layout-shift", buffered: true });
"""


@pytest.fixture(scope="module")
def photo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("photos-served")
    stops = write_small_tour(folder / "stops")
    camera_jpeg(stops / "photos" / "front.jpg")
    camera_jpeg(stops / "photos" / "side.jpg", 2000, 1200, orientation=1)
    add_photos(stops, "alpha", photo_table("photos/front.jpg"), photo_table("photos/side.jpg"))
    assert build_photos(load_tour(stops), stops, folder / "media").ok
    served = Served(folder, stops)
    yield served.base
    served.stop()


def test_the_photo_decodes_without_layout_shift_or_policy_errors(
    browser: Browser, photo_server: str
) -> None:
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, has_touch=True, is_mobile=True, locale="en-GB"
    )
    watched = Watched(context, urlsplit(photo_server).netloc)
    context.add_init_script(WATCH_SHIFTS)
    page = watched.page()
    page.goto(f"{photo_server}/en/alpha")
    decoded = page.evaluate(
        """async () => {
          const image = document.querySelector(".photo img");
          await image.decode();
          // Two frames after decoding, any shift it caused has been reported.
          await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
          const box = image.getBoundingClientRect();
          return { src: image.currentSrc, natural: image.naturalWidth, width: box.width,
                   height: box.height, top: box.top, shift: window.layoutShift };
        }"""
    )
    # 358 CSS px of column at 2 device pixels each: the 960 px AVIF is the closest above.
    assert decoded["src"].endswith("-960.avif")
    assert decoded["natural"] > 0  # decoded (in CSS pixels: 960 at the density srcset chose)
    assert decoded["height"] / decoded["width"] == pytest.approx(1600 / 1000, rel=0.01)
    assert decoded["top"] < PHONE["height"]  # in the first screen, as the markup assumes
    assert decoded["shift"] == 0
    context.close()
    assert watched.errors == []
    assert watched.off_site() == []
