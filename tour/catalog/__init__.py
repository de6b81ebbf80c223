"""Read and validate the stop files of a tour.

A tour folder holds `tour.toml` (the tour itself) and one `<id>.toml` per stop.
Validation collects every problem in one run, each as `path:line: field: message`,
so staff can fix a whole batch of edits at once.

The package reads in layers: `lines` finds where each key is written, `fields`
reads typed values and reports problems, `tour_file` is the schema of tour.toml
(`ui` its interface words), `photos` the photo entries of a stop file, and `stops`
reads the stop files and checks them against each other.
"""

from tour.catalog.fields import CatalogError, Problem
from tour.catalog.lines import SourceLines
from tour.catalog.stops import check_tour, load_tour
from tour.catalog.tour_file import QR_LEVELS, TOUR_FILE
from tour.core.paths import bundled_stops_dir

__all__ = [
    "QR_LEVELS",
    "TOUR_FILE",
    "CatalogError",
    "Problem",
    "SourceLines",
    "bundled_stops_dir",
    "check_tour",
    "load_tour",
]
