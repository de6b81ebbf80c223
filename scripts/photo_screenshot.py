"""Take the screenshot of a stop page with a photo and its credit, in Debian's Chromium.

Usage: .venv/bin/python scripts/photo_screenshot.py [docs/photo-page.png]

The photo is the generated test image of scripts/photo_sizes.py, in a temporary copy
of the bundled tour, captioned as a test image: the bundled tour ships no photos.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from photo_sizes import write_test_tour
from serving import free_port, phone_page, wait_until_up


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/photo-page.png")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        stops = write_test_tour(folder)
        tour = [sys.executable, "-m", "tour", "--stops", str(stops), "--media", str(folder)]
        subprocess.run([*tour, "photos"], check=True, capture_output=True)
        subprocess.run(
            [*tour, "audio", "--engine", "espeak", "--stop", "masjid-raya", "--lang", "id"],
            check=True,
            capture_output=True,
        )
        port = free_port()
        server = subprocess.Popen(
            [*tour, "--db", str(folder / "scans.db"), "serve", "--port", str(port)],
            stdout=subprocess.DEVNULL,
        )
        try:
            wait_until_up(f"http://127.0.0.1:{port}/healthz")
            with phone_page(locale="id-ID") as page:
                page.goto(f"http://127.0.0.1:{port}/id/masjid")
                page.evaluate("() => document.querySelector('.photo img').decode()")
                page.screenshot(path=str(out))
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
