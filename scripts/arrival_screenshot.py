"""Take the arrival banner's screenshot: a phone near a place it has not opened.

Usage: .venv/bin/python scripts/arrival_screenshot.py [docs/arrival-banner.png]

The phone has already allowed location and stands 10 m from the Gunpowder Magazine
(a fix good to 8 m) with another stop's page open, in Debian's Chromium.
"""

from __future__ import annotations

import math
import sys
import tempfile
from pathlib import Path

from serving import phone_page, tour_server

from tour.catalog import bundled_stops_dir, load_tour
from tour.core.model import EARTH_RADIUS_M

METRES_PER_DEGREE = math.radians(EARTH_RADIUS_M)


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/arrival-banner.png")
    out.parent.mkdir(parents=True, exist_ok=True)
    magazine = load_tour(bundled_stops_dir()).stop_by_code("mesiu")
    if magazine is None:
        print("the bundled tour has no stop with code 'mesiu'", file=sys.stderr)
        return 1
    with (
        tempfile.TemporaryDirectory() as folder,
        tour_server(Path(folder)) as address,
        phone_page(
            is_mobile=True,
            has_touch=True,
            locale="en-GB",
            permissions=["geolocation"],
            geolocation={
                "latitude": magazine.location.lat + 10 / METRES_PER_DEGREE,
                "longitude": magazine.location.lon,
                "accuracy": 8,
            },
        ) as page,
    ):
        page.goto(address + "/en/abdurrahman")
        page.wait_for_selector("#arrival > div")
        page.screenshot(path=str(out))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
