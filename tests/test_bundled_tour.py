"""Keep the bundled Penyengat tour and the documentation honest."""

from __future__ import annotations

import argparse
import re
import tomllib
from pathlib import Path

import pytest

from tour.catalog import bundled_stops_dir, check_tour
from tour.cli import build_parser
from tour.core.languages import length_unit
from tour.core.model import LengthRange

ROOT = Path(__file__).resolve().parent.parent
ESTIMATED = {"engku-bilik", "gudang-mesiu", "raja-abdurrahman", "perigi-puteri"}
WALKING_ORDER = [
    "jetty",
    "masjid-raya",
    "gedung-tabib",
    "engku-puteri",
    "raja-ali-haji",
    "raja-haji-fisabilillah",
    "raja-jaafar",
    "engku-bilik",
    "istana-kantor",
    "gudang-mesiu",
    "raja-abdurrahman",
    "perigi-puteri",
    "bukit-kursi",
    "balai-adat",
]


def bundled() -> list[tuple[str, str, str]]:
    tour, problems = check_tour(bundled_stops_dir())
    assert tour is not None, problems
    return [(stop.id, lang, stop.text[lang]) for stop in tour.stops for lang in tour.languages]


def test_bundled_tour_has_no_problems() -> None:
    tour, problems = check_tour(bundled_stops_dir())
    assert problems == []
    assert tour is not None
    assert [stop.id for stop in tour.stops] == WALKING_ORDER
    assert tour.languages == ("id", "en", "zh")
    assert tour.default_language == "id"


def test_every_stop_has_every_tour_language() -> None:
    tour, _ = check_tour(bundled_stops_dir())
    assert tour is not None
    assert tour.stops
    assert tour.languages
    for stop in tour.stops:
        assert set(stop.name) >= set(tour.languages), stop.id
        assert set(stop.text) >= set(tour.languages), stop.id
        for lang in tour.languages:
            assert stop.name[lang].strip()
            assert stop.text[lang].strip()
    assert set(tour.ui) == set(tour.languages)


def test_text_lengths_are_about_one_minute_of_narration() -> None:
    tour, _ = check_tour(bundled_stops_dir())
    assert tour is not None
    assert dict(tour.text_length) == {
        "words": LengthRange(120, 250),
        "characters": LengthRange(250, 500),
    }
    assert length_unit("zh") == "characters"
    assert (length_unit("id"), length_unit("en")) == ("words", "words")


@pytest.mark.parametrize(("stop_id", "lang", "text"), bundled())
def test_narration_is_spoken_in_full(stop_id: str, lang: str, text: str) -> None:
    assert "YDM" not in text, "spell out Yang Dipertuan Muda: the text is read aloud"
    assert not re.search(r"\[S\d+", text), "source keys belong in `sources`, not the narration"


def test_coordinates_say_where_they_come_from() -> None:
    tour, _ = check_tour(bundled_stops_dir())
    assert tour is not None
    estimated = {stop.id for stop in tour.stops if stop.location.is_estimated}
    assert estimated == ESTIMATED
    assert tour.stops
    for stop in tour.stops:
        assert stop.location.coord_note, stop.id


def test_readme_opens_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    opening = readme.split("## ", 1)[0]
    assert "make run" in opening
    assert "make test" in opening
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^run:", makefile, re.MULTILINE)
    assert re.search(r"^test:", makefile, re.MULTILINE)
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def documents() -> list[Path]:
    """The README and everything in docs/."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_the_readme_is_a_newcomers_page_of_at_most_6_kb() -> None:
    assert len((ROOT / "README.md").read_bytes()) <= 6 * 1024


def test_every_link_in_the_docs_leads_to_a_file() -> None:
    links = {
        (document, target)
        for document in documents()
        for target in re.findall(
            r'\]\(([^)#:]+)(?:#[^)]*)?\)|src="([^":]+)"', document.read_text("utf-8")
        )
        for target in target
        if target
    }
    assert len(links) > 20
    missing = [
        f"{document.name}: {target}"
        for document, target in links
        if not (document.parent / target).exists()
    ]
    assert missing == []


def test_every_command_in_the_docs_exists() -> None:
    named = {
        command
        for document in documents()
        for command in re.findall(r"`tour (\w+)", document.read_text("utf-8"))
    }
    assert len(named) >= 9, "the docs name the tour commands"
    subcommands: set[str] = set()
    for action in build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            subcommands |= set(action.choices)
    assert named <= subcommands, named - subcommands


def test_the_example_stop_file_in_the_docs_is_valid(tmp_path: Path) -> None:
    guide = (ROOT / "docs" / "editing.md").read_text(encoding="utf-8")
    example = re.search(r"```toml\n(code = .*?)```", guide, re.DOTALL)
    assert example, "docs/editing.md has no example stop file"
    data = tomllib.loads(example[1])
    assert data["code"] == "masjid"
    folder = tmp_path / "stops"
    folder.mkdir()
    tour_toml = (bundled_stops_dir() / "tour.toml").read_text(encoding="utf-8")
    order = re.sub(r"order = \[.*?\]", 'order = ["masjid-raya"]', tour_toml, flags=re.DOTALL)
    # the bundled notes name other stops; this one-stop tour keeps none of them
    order = re.sub(r"\[\[notes\]\].*?(?=\n# How the voices)", "", order, flags=re.DOTALL)
    # the example's paragraphs are placeholders, far shorter than a narration
    order = re.sub(r"\[text_length\].*?\n\n", "", order, flags=re.DOTALL)
    (folder / "tour.toml").write_text(order, encoding="utf-8")
    (folder / "masjid-raya.toml").write_text(example[1], encoding="utf-8")
    tour, problems = check_tour(folder)
    assert problems == []
    assert tour is not None
