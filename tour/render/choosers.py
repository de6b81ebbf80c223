"""The pages a static export has in place of the server's language negotiation."""

from __future__ import annotations

from markupsafe import Markup

from tour.core.model import Stop, Tour
from tour.render.pages import make_environment


def chooser_pages(tour: Tour, scan_endpoint: str | None) -> dict[str, bytes]:
    """Render `/` and each `/s/<code>`, which choose the language in the browser.

    With a `scan_endpoint`, a stop's chooser reports the scan to it with one beacon.
    """
    environment = make_environment()
    style = environment.loader.get_source(environment, "page.css")[0]  # type: ignore[union-attr]
    chooser = environment.get_template("choose.html")

    def choose(stop: Stop | None, target: str) -> bytes:
        html = chooser.render(
            tour=tour,
            stop=stop,
            target=target,
            endpoint=scan_endpoint,
            inline_style=Markup(style),
            languages=list(tour.languages),
            fallbacks=dict(tour.fallbacks),
        )
        return html.encode("utf-8")

    pages = {"index.html": choose(None, "/LANG/")}
    for stop in tour.stops:
        pages[f"s/{stop.code}.html"] = choose(stop, f"/LANG/{stop.code}")
    for code in tour.retired:
        # No stop: a retired code's chooser reports no scan.
        pages[f"s/{code}.html"] = choose(None, f"/LANG/{code}")
    return pages
