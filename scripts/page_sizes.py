"""Print the size of every rendered page, raw and gzip-compressed, against the 14 KB budget.

Usage: .venv/bin/python scripts/page_sizes.py [--stops DIR] [--media DIR]

Build the narration first (`tour audio`), so the pages carry their players.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tour.catalog import CatalogError
from tour.core.paths import bundled_stops_dir
from tour.core.settings import Settings
from tour.render.stored import StoredResponse
from tour.web import create_app
from tour.web.keys import site_key

BUDGET_BYTES = 14 * 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stops", type=Path, default=bundled_stops_dir())
    parser.add_argument("--media", type=Path, default=Path("media"))
    args = parser.parse_args()
    try:
        app = create_app(Settings(stops_dir=args.stops, media_dir=args.media))
    except CatalogError as error:
        print(error, file=sys.stderr)
        return 1
    pages = app[site_key].current.pages
    rows: list[tuple[str, StoredResponse]] = [
        (f"/{lang}/", page) for lang, page in pages.indexes.items()
    ]
    rows += [(f"/{lang}/{code}", page) for (lang, code), page in pages.stops.items()]
    print(f"{'page':<24} {'html':>8} {'gzip':>8}")
    for path, page in rows:
        print(f"{path:<24} {len(page.body):>8,} {len(page.gzipped):>8,}")
    largest = max(len(page.gzipped) for _, page in rows)
    over = [path for path, page in rows if len(page.gzipped) > BUDGET_BYTES]
    print(f"largest gzip page: {largest:,} bytes of a {BUDGET_BYTES:,}-byte budget")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
