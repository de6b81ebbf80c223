"""Typed keys for what the visitor side keeps: recent visits and the per-client limits."""

from aiohttp import web

from tour.web.common.clients import RateLimit
from tour.web.visitor.visits import VisitLog

visits_key = web.AppKey("visits", VisitLog)
beacon_limit_key = web.AppKey("beacon_limit", RateLimit)
scan_limit_key = web.AppKey("scan_limit", RateLimit)
