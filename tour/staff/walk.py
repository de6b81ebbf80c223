"""The walk: add a stop, reorder the walk, retire a stop, keep old codes answering.

Each change is an edit of tour.toml made with tomlkit, so its comments survive.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tour.model import Tour


def new_stop_problems(tour: Tour, stops_dir: Path, stop_id: str, code: str) -> dict[str, str]:
    """Say what is wrong with a new stop's file name ("file") and code ("code")."""
    raise NotImplementedError


def new_stop_text(tour: Tour, code: str) -> str:
    """Return a commented skeleton stop file; its texts must be written before publishing."""
    raise NotImplementedError


def with_stop_added(tour_text: str, stop_id: str) -> str:
    raise NotImplementedError


def with_order(tour_text: str, order: Sequence[str]) -> str:
    raise NotImplementedError


def with_stop_retired(tour_text: str, stop_id: str, code: str, moved_to: str = "") -> str:
    raise NotImplementedError


def with_code_kept(tour_text: str, old_code: str, stop_id: str) -> str:
    """Keep a renamed stop's old code answering: it now leads to `stop_id`."""
    raise NotImplementedError
