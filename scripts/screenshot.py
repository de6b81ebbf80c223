"""Take the README's screenshot: a stop page on a phone, in Debian's Chromium.

Usage: .venv/bin/python scripts/screenshot.py [docs/stop-page.png]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright
from serving import tour_server

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/stop-page.png")
    out.parent.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as folder,
        tour_server(Path(folder)) as address,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        page = browser.new_page(
            viewport={"width": 390, "height": 844}, device_scale_factor=2, locale="id-ID"
        )
        page.goto(address + "/s/masjid")
        page.screenshot(path=str(out))
        browser.close()
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
