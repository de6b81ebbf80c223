"""The tour's checks shown to Indonesian staff in Indonesian, with the same values."""

from __future__ import annotations

import string
from pathlib import Path

import pytest

from tour.catalog import Problem, load_tour
from tour.catalog.messages import ENGLISH, MAX_VALUE_CHARS, Message
from tour.staff.editing import apply_form, field_problems
from tour.staff.problem_words import problems_in_language, say, templates
from tour.staff.walk import new_stop_problems

from .conftest import write_chinese_tour

LANGUAGES = ("id", "en", "zh")
ENGLISH_HINTS = (" too ", " must ", " is ", " use ", " write ", " already ", "missing", "such as")


@pytest.fixture
def stops(tmp_path: Path) -> Path:
    return write_chinese_tour(tmp_path / "stops")


def form_problems(stops: Path, fields: dict[str, str]) -> dict[str, list[Message]]:
    text = (stops / "masjid-raya.toml").read_text(encoding="utf-8")
    return field_problems(stops, "masjid-raya", apply_form(text, fields, LANGUAGES))


def test_the_word_count_problem_reads_in_indonesian_with_its_numbers(stops: Path) -> None:
    problems = form_problems(stops, {"text.en": "Far too short."})
    assert problems_in_language(problems, "id") == {
        "text.en": ["3 kata, terlalu pendek; tulis 120–250 kata (sekitar satu menit narasi)"]
    }
    assert problems_in_language(problems, "en") == {
        "text.en": ["3 words, too short; write 120–250 words (about a minute of narration)"]
    }


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
        said = say(message, "id")
        assert said != str(message), message
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
        said = say(message, "id")
        assert said != str(message), message
        assert not any(hint in f" {said} " for hint in ENGLISH_HINTS), said


def test_a_line_without_a_code_is_shown_as_written() -> None:
    assert say("something new went wrong", "id") == "something new went wrong"
    message = Message.of("text_too_short", n=3, unit="words", low=120, high=250)
    assert say(message, "xx").startswith("3 words")
    assert say(message, "en") == str(message)


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_code_has_an_indonesian_template_with_the_same_values() -> None:
    indonesian = templates("id")
    assert sorted(indonesian) == sorted(ENGLISH)
    for code, english in ENGLISH.items():
        assert placeholders(indonesian[code]) == placeholders(english), code
        values = {name: "1" for name in placeholders(english)}
        # Both fill without error: a stray brace would fail here, not on a staff page.
        assert str(Message.of(code, **values)) == english.format_map(values)
        assert say(Message.of(code, **values), "id") == indonesian[code].format_map(values)


def test_a_missing_coord_source_is_said_in_indonesian(stops: Path) -> None:
    problems = form_problems(stops, {"location.coord_source": ""})
    assert problems_in_language(problems, "id") == {
        "location.coord_source": ["masih kosong; isi nilainya"]
    }


def test_a_megabyte_value_is_capped_when_the_message_is_built() -> None:
    typed = "x" * 1_000_000
    message = Message.of("code_taken", value=typed, owner="masjid-raya.toml")
    capped = "x" * MAX_VALUE_CHARS + "…"
    assert str(message) == (
        f"'{capped}' is already the code of masjid-raya.toml; each stop needs its own code"
    )
    assert say(message, "id") == (
        f"“{capped}” sudah menjadi kode masjid-raya.toml; setiap perhentian memerlukan "
        "kodenya sendiri"
    )


def test_a_line_break_in_a_name_is_said_in_indonesian() -> None:
    assert say(Message.of("one_line_name"), "id") == (
        "Nama harus ditulis dalam satu baris; hapus pindah barisnya"
    )
    assert say(Message.of("control_character", char="U+0000"), "id") == (
        "berisi karakter kendali yang tidak terlihat (U+0000); hapus karakter itu"
    )


def test_a_tour_check_line_keeps_its_place_and_field() -> None:
    message = Message.of("out_of_range", value=200.0, low=-90, high=90)
    problem = Problem("masjid-raya.toml", 18, "location.lat", message)
    assert str(problem) == (
        "masjid-raya.toml:18: location.lat: 200.0 is out of range; use a number from -90 to 90"
    )
    assert say(problem, "id") == (
        "masjid-raya.toml:18: location.lat: 200.0 di luar batas; gunakan angka dari -90 sampai 90"
    )


def test_a_general_line_says_its_place_in_indonesian(stops: Path) -> None:
    text = (stops / "masjid-raya.toml").read_text(encoding="utf-8")
    problems = field_problems(stops, "masjid-raya", "bogus = 1\n" + text)
    [general] = problems[""]
    assert str(general) == f"line 1: bogus: unknown field; allowed: {ALLOWED}"
    assert say(general, "id") == f"baris 1: bogus: kolom tidak dikenal; yang boleh: {ALLOWED}"


ALLOWED = "code, location, name, photos, sources, spoken, text"
