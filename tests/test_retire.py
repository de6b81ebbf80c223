"""tour.staff.retire: the change that retires a stop, as the walk page publishes it."""

from __future__ import annotations

from pathlib import Path

from tour.catalog import TOUR_FILE
from tour.staff.editing import file_hash
from tour.staff.retire import retirement_change


def test_retiring_moves_the_stop_file_and_closes_its_code_in_tour_toml(small_tour: Path) -> None:
    tour_text = (small_tour / TOUR_FILE).read_text("utf-8")
    stop_text = (small_tour / "beta.toml").read_text("utf-8")
    base = file_hash(tour_text)
    change = retirement_change(small_tour, tour_text, base, "beta", "beta")
    assert change is not None
    assert change.remove == ("beta.toml",)
    assert change.texts["retired/beta.toml"] == stop_text
    assert '"beta"' not in change.texts[TOUR_FILE].split("[retired]")[0]
    assert "[retired]" in change.texts[TOUR_FILE]
    # A new file in retired/ (base ""), and the two it replaces on the bases they were read on.
    assert change.bases == {
        TOUR_FILE: base,
        "retired/beta.toml": "",
        "beta.toml": file_hash(stop_text),
    }
    assert (small_tour / "beta.toml").read_text("utf-8") == stop_text  # nothing written


def test_a_stop_file_removed_by_hand_is_no_retirement(small_tour: Path) -> None:
    tour_text = (small_tour / TOUR_FILE).read_text("utf-8")
    (small_tour / "beta.toml").unlink()
    assert retirement_change(small_tour, tour_text, file_hash(tour_text), "beta", "beta") is None
