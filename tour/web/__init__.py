"""The visitor-facing web service."""

from tour.web.app import create_app

__all__ = ["create_app"]
