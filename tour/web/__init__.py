"""The tour's web service: one aiohttp application for both of its audiences.

- `tour.web.visitor`: what visitors reach by scanning a plaque — stop pages, the
  index, audio, photos, the scan beacon and the tour's 404 page.
- `tour.web.studio`: the staff studio, its own aiohttp app mounted at /admin; its
  URLs are listed in `tour.web.studio.routes`, and its middleware checks who may
  open each one.
- `tour.web.common`: what both sides use to read bodies, set answer headers and
  know the client; `keys`, `site` and `lifecycle` hold the state both sides share.
  Neither side imports the other (an import-linter contract).

`create_app(settings)` (tour.web.app) builds the whole application.
"""

from tour.web.app import create_app

__all__ = ["create_app"]
