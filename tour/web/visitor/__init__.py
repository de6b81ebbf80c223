"""The visitor side: stop pages, scans, audio, photos and the 404 page."""
