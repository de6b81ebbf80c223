"""The tour's checks shown to Indonesian staff in Indonesian, with the same values."""

from __future__ import annotations

from pathlib import Path

import pytest

from tour.catalog import load_tour
from tour.staff.editing import apply_form, field_problems
from tour.staff.problem_words import TRANSLATIONS, in_language, problems_in_language
from tour.staff.walk import new_stop_problems

from .conftest import write_chinese_tour

LANGUAGES = ("id", "en", "zh")
ENGLISH_HINTS = (" too ", " must ", " is ", " use ", " write ", " already ", "missing", "such as")


@pytest.fixture
def stops(tmp_path: Path) -> Path:
    return write_chinese_tour(tmp_path / "stops")


def form_problems(stops: Path, fields: dict[str, str]) -> dict[str, list[str]]:
    text = (stops / "masjid-raya.toml").read_text(encoding="utf-8")
    return field_problems(stops, "masjid-raya", apply_form(text, fields, LANGUAGES))


def test_the_word_count_problem_reads_in_indonesian_with_its_numbers(stops: Path) -> None:
    problems = form_problems(stops, {"text.en": "Far too short."})
    assert problems_in_language(problems, "id") == {
        "text.en": ["3 kata, terlalu pendek; tulis 120–250 kata (sekitar satu menit narasi)"]
    }
    assert problems_in_language(problems, "en") == problems


@pytest.mark.parametrize(
    "fields",
    [
        {"text.en": "Far too short."},
        {"text.zh": "太短。"},
        {"text.en": " ".join(["word"] * 300) + "."},
        {"location.lat": "200"},
        {"location.lat": "0.5"},
        {"location.lat": "north"},
        {"location.coord_source": "guessed"},
        {"code": "Masjid!"},
        {"code": "tabib"},
        {"name.en": "x" * 300},
        {"name.en": "Grand\nMosque"},
        {"name.en": "Grand\x00Mosque"},
        {"code": "mas\x07jid"},
        {"spoken.en": "One. Two."},
    ],
    ids=lambda fields: next(iter(fields)),
)
def test_every_problem_a_stop_form_can_show_is_said_in_indonesian(
    stops: Path, fields: dict[str, str]
) -> None:
    problems = form_problems(stops, fields)
    messages = [message for field in problems.values() for message in field]
    assert messages, fields
    for message in messages:
        said = in_language(message, "id")
        assert said != message, message
        assert not any(hint in f" {said} " for hint in ENGLISH_HINTS), said


@pytest.mark.parametrize(
    ("stop_id", "code"),
    [
        ("../x", "baru"),
        ("", "baru"),
        ("Rumah", "baru"),
        ("x" * 41, "baru"),
        ("masjid-raya", "baru"),
        ("baru", "tabib"),
        ("baru", "x" * 40),
        ("baru", "Kode!"),
    ],
)
def test_new_stop_refusals_are_said_in_indonesian(stops: Path, stop_id: str, code: str) -> None:
    problems = new_stop_problems(load_tour(stops), stops, stop_id, code)
    assert problems
    for message in problems.values():
        said = in_language(message, "id")
        assert said != message, message


def test_a_message_without_a_pattern_is_shown_as_written() -> None:
    assert in_language("something new went wrong", "id") == "something new went wrong"
    assert in_language(
        "3 words, too short; write 120–250 words (about a minute of narration)", "xx"
    ).startswith("3 words")


def test_every_pattern_keeps_its_values() -> None:
    for pattern, template in TRANSLATIONS["id"]:
        for name in set(pattern.groupindex) - {"retired"}:
            assert "{" + name + "}" in template, (pattern.pattern, name)


def test_a_line_break_in_a_name_is_said_in_indonesian() -> None:
    assert in_language("a name is one line; remove the line break", "id") == (
        "Nama harus ditulis dalam satu baris; hapus pindah barisnya"
    )
    assert in_language("contains a control character (U+0000); remove it", "id") == (
        "berisi karakter kendali yang tidak terlihat (U+0000); hapus karakter itu"
    )


def test_a_tour_check_line_keeps_its_place_and_field() -> None:
    line = "masjid-raya.toml:18: location.lat: 200.0 is out of range; use a number from -90 to 90"
    assert in_language(line, "id") == (
        "masjid-raya.toml:18: location.lat: 200.0 di luar batas; gunakan angka dari -90 sampai 90"
    )
