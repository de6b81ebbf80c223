"""Rendering, apart from HTTP: a tour and its narration manifest in, bytes out.

`site.render_site` renders everything `tour serve` sends and `tour export` writes:
`pages` (stop pages, indexes, 404 pages), `api` (tour.json, stops.geojson),
`offline` (the service worker, its script, the web app manifest, `icons`), all as
`stored.StoredResponse` bodies linked by `links.Links`. `choosers` renders the
language choosers of a static export.
"""
