"""The offline map: the stops drawn to scale in an SVG, with no tile server."""

from __future__ import annotations

import math
from dataclasses import dataclass

from tour.core.model import Stop, Tour

MAP_WIDTH = 300
MAP_PADDING = 16


@dataclass(frozen=True, slots=True)
class MapPoint:
    stop: Stop
    number: int
    x: float
    y: float


@dataclass(frozen=True, slots=True)
class MapLayout:
    """The stops drawn to scale in an SVG, with what a script needs to place a GPS dot."""

    width: float
    height: float
    points: tuple[MapPoint, ...]
    west: float
    north: float
    x_per_degree: float
    y_per_degree: float

    @property
    def route(self) -> str:
        return " ".join(f"{point.x:.1f},{point.y:.1f}" for point in self.points)


def map_layout(tour: Tour) -> MapLayout:
    """Project the stops (equirectangular, fine at island scale) into a 300-unit-wide box."""
    lats = [stop.location.lat for stop in tour.stops]
    lons = [stop.location.lon for stop in tour.stops]
    south, north, west, east = min(lats), max(lats), min(lons), max(lons)
    # A degree of longitude shrinks with the cosine of the latitude.
    aspect = math.cos(math.radians((south + north) / 2))
    span_x = max((east - west) * aspect, 1e-6)
    span_y = max(north - south, 1e-6)
    inner = MAP_WIDTH - 2 * MAP_PADDING
    x_per_degree = inner / span_x * aspect
    y_per_degree = inner / span_x
    height = span_y * y_per_degree + 2 * MAP_PADDING
    points = tuple(
        MapPoint(
            stop=stop,
            number=number,
            x=MAP_PADDING + (stop.location.lon - west) * x_per_degree,
            y=MAP_PADDING + (north - stop.location.lat) * y_per_degree,
        )
        for number, stop in enumerate(tour.stops, start=1)
    )
    return MapLayout(
        width=MAP_WIDTH,
        height=height,
        points=points,
        west=west - MAP_PADDING / x_per_degree,
        north=north + MAP_PADDING / y_per_degree,
        x_per_degree=x_per_degree,
        y_per_degree=y_per_degree,
    )
