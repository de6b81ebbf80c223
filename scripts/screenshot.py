"""Take the screenshots of a stop page on a phone (README, docs/), in Debian's Chromium.

Usage: .venv/bin/python scripts/screenshot.py [docs/stop-page.png]
       .venv/bin/python scripts/screenshot.py --read-along [docs/read-along.png]

`--read-along` taps a sentence of the English mosque page, so the narration plays from
it, pauses, and shows that sentence lit up in the transcript.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from serving import phone_page, tour_server


def main() -> int:
    arguments = sys.argv[1:]
    read_along = "--read-along" in arguments
    arguments = [argument for argument in arguments if argument != "--read-along"]
    default = "docs/read-along.png" if read_along else "docs/stop-page.png"
    out = Path(arguments[0] if arguments else default)
    out.parent.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as folder,
        tour_server(Path(folder)) as address,
        phone_page(locale="id-ID") as page,
    ):
        if read_along:
            page.goto(address + "/en/masjid")
            sentence = page.locator('.transcript [data-cue="5"]')
            sentence.click()
            page.wait_for_selector('.transcript [data-cue="5"][aria-current="true"]')
            page.wait_for_function("() => document.querySelector('audio').currentTime > 1")
            page.evaluate("document.querySelector('audio').pause()")
            page.evaluate("window.scrollTo(0, document.querySelector('#player').offsetTop - 8)")
        else:
            page.goto(address + "/s/masjid")
        page.screenshot(path=str(out))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
