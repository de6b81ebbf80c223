"""The studio's form ↔ file editing: byte-exact round trips, comments kept, safe writes."""

from __future__ import annotations

import errno
import tomllib
from pathlib import Path

import pytest

import tour.staff.editing as editing
from tour.catalog import bundled_stops_dir, load_tour
from tour.core.errors import TourError
from tour.core.files import write_atomically
from tour.staff.editing import (
    ConflictError,
    WriteError,
    apply_form,
    draft_tour,
    field_problems,
    file_hash,
    form_fields,
    stop_path,
    write_files,
)
from tour.staff.problem_words import problems_in_language
from tour.staff.walk import new_stop_text

from .conftest import write_chinese_tour

LANGUAGES = ("id", "en")
BUNDLED_LANGUAGES = ("id", "en", "zh")
COMMENTED = '''\
# Hand-written header: keep me.
code = "alpha"  # the plaque code

[location]
# surveyed on the spot
lat = 0.95
lon = 104.4
coord_source = "osm"

[name]
id = "Nama alpha"
en = "Name alpha"

[text]
id = """
Teks tentang alpha.
"""
# a comment between keys
en = """
Text about alpha.
"""

[spoken]
en = "Text about alpha."
# the end of the file
'''


@pytest.mark.parametrize(
    "path", sorted(p for p in bundled_stops_dir().glob("*.toml") if p.name != "tour.toml")
)
def test_every_bundled_stop_round_trips_byte_for_byte(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    fields = form_fields(BUNDLED_LANGUAGES, text)
    assert apply_form(text, fields, BUNDLED_LANGUAGES) == text
    # A browser sends CRLF line ends and drops a textarea's leading newline.
    typed = {name: value.strip().replace("\n", "\r\n") for name, value in fields.items()}
    assert apply_form(text, typed, BUNDLED_LANGUAGES) == text


def test_changed_english_text_keeps_every_comment_and_stays_a_multiline_string() -> None:
    fields = form_fields(LANGUAGES, COMMENTED)
    fields["text.en"] = 'First paragraph.\r\n\r\nSecond <script>alert(1)</script> """ \\ end.'
    result = apply_form(COMMENTED, fields, LANGUAGES)
    expected = COMMENTED.replace(
        'en = """\nText about alpha.\n"""',
        'en = """\nFirst paragraph.\n\nSecond <script>alert(1)</script> ""\\" \\\\ end.\n"""',
    )
    assert result == expected
    assert tomllib.loads(result)["text"]["en"] == (
        'First paragraph.\n\nSecond <script>alert(1)</script> """ \\ end.\n'
    )


@pytest.mark.parametrize(
    "path", sorted(p for p in bundled_stops_dir().glob("*.toml") if p.name != "tour.toml")
)
def test_a_crlf_stop_file_round_trips_byte_for_byte(path: Path) -> None:
    text = path.read_text(encoding="utf-8").replace("\n", "\r\n")
    fields = form_fields(BUNDLED_LANGUAGES, text)
    assert apply_form(text, fields, BUNDLED_LANGUAGES) == text
    typed = {name: value.replace("\r\n", "\n") for name, value in fields.items()}
    assert apply_form(text, typed, BUNDLED_LANGUAGES) == text
    browser = {name: value.strip().replace("\n", "\r\n") for name, value in typed.items()}
    assert apply_form(text, browser, BUNDLED_LANGUAGES) == text


def test_a_changed_text_in_a_crlf_file_keeps_crlf_throughout() -> None:
    text = COMMENTED.replace("\n", "\r\n")
    fields = form_fields(LANGUAGES, text)
    fields["text.en"] = "First paragraph.\r\n\r\nSecond paragraph."
    fields["spoken.id"] = "Teks tentang alfa."  # a new key: tomlkit adds its own line
    result = apply_form(text, fields, LANGUAGES)
    expected = COMMENTED.replace(
        'en = """\nText about alpha.\n"""',
        'en = """\nFirst paragraph.\n\nSecond paragraph.\n"""',
    ).replace("\n", "\r\n")
    assert result.count("\n") == result.count("\r\n")
    data = tomllib.loads(result)
    assert data["text"]["en"] == "First paragraph.\n\nSecond paragraph.\n"
    assert data["spoken"] == {"en": "Text about alpha.", "id": "Teks tentang alfa."}
    assert result.replace('id = "Teks tentang alfa."\r\n', "") == expected


def test_empty_spoken_text_removes_the_key_and_the_empty_table() -> None:
    fields = form_fields(LANGUAGES, COMMENTED) | {"spoken.en": "  "}
    result = apply_form(COMMENTED, fields, LANGUAGES)
    assert "[spoken]" not in result
    assert "spoken" not in tomllib.loads(result)
    assert result.startswith("# Hand-written header: keep me.\n")


def test_new_spoken_text_adds_the_table() -> None:
    fields = form_fields(LANGUAGES, COMMENTED) | {"spoken.id": "Teks tentang alfa."}
    data = tomllib.loads(apply_form(COMMENTED, fields, LANGUAGES))
    assert data["spoken"] == {"en": "Text about alpha.", "id": "Teks tentang alfa."}


def test_sources_are_one_per_line() -> None:
    fields = form_fields(LANGUAGES, COMMENTED) | {"sources": "S1\r\n\r\n  S5b \r\n"}
    assert tomllib.loads(apply_form(COMMENTED, fields, LANGUAGES))["sources"] == ["S1", "S5b"]
    assert form_fields(LANGUAGES, apply_form(COMMENTED, fields, LANGUAGES))["sources"] == "S1\nS5b"


MULTILINE_SOURCES = COMMENTED.replace(
    'code = "alpha"  # the plaque code\n',
    'code = "alpha"  # the plaque code\n'
    'sources = [\n    "S1",  # the survey\n    # checked twice\n    "S2",\n]\n',
)


def test_unchanged_multiline_sources_keep_their_layout_and_comments() -> None:
    fields = form_fields(LANGUAGES, MULTILINE_SOURCES)
    assert fields["sources"] == "S1\nS2"
    for typed in ("S1\nS2", "S1\r\nS2\r\n", " S1 \n\nS2\n"):
        typed_fields = fields | {"sources": typed}
        assert apply_form(MULTILINE_SOURCES, typed_fields, LANGUAGES) == MULTILINE_SOURCES


def test_changed_multiline_sources_stay_one_per_line() -> None:
    fields = form_fields(LANGUAGES, MULTILINE_SOURCES) | {"sources": "S1\nS2\nS7"}
    written = apply_form(MULTILINE_SOURCES, fields, LANGUAGES)
    assert 'sources = [\n    "S1",\n    "S2",\n    "S7",\n]\n' in written
    assert tomllib.loads(written)["sources"] == ["S1", "S2", "S7"]
    assert written.replace('sources = [\n    "S1",\n    "S2",\n    "S7",\n]\n', "") == (COMMENTED)


def test_coordinates_are_numbers_when_they_parse_and_typed_text_otherwise() -> None:
    fields = form_fields(LANGUAGES, COMMENTED) | {"location.lat": "0.9512", "location.lon": "east"}
    location = tomllib.loads(apply_form(COMMENTED, fields, LANGUAGES))["location"]
    assert location["lat"] == 0.9512
    assert location["lon"] == "east"


def test_latitude_of_200_is_a_field_problem(small_tour: Path) -> None:
    text = (small_tour / "alpha.toml").read_text(encoding="utf-8")
    changed = apply_form(text, {"location.lat": "200"}, LANGUAGES)
    problems = field_problems(small_tour, "alpha", changed)
    assert list(problems) == ["location.lat"]
    assert str(problems["location.lat"][0]).startswith("200")


def test_typed_words_for_a_longitude_are_a_field_problem(small_tour: Path) -> None:
    text = (small_tour / "alpha.toml").read_text(encoding="utf-8")
    problems = field_problems(
        small_tour, "alpha", apply_form(text, {"location.lon": "x"}, LANGUAGES)
    )
    assert list(problems) == ["location.lon"]


def test_field_problems_of_a_valid_stop_are_empty(small_tour: Path) -> None:
    text = (small_tour / "alpha.toml").read_text(encoding="utf-8")
    assert field_problems(small_tour, "alpha", text) == {}


def test_word_count_problem_is_on_its_field_and_draft_still_previews(tmp_path: Path) -> None:
    stops = bundled_stops_dir()
    text = (stops / "masjid-raya.toml").read_text(encoding="utf-8")
    short = apply_form(text, {"text.en": "Too short."}, BUNDLED_LANGUAGES)
    problems = field_problems(stops, "masjid-raya", short)
    assert problems_in_language(problems, "en") == {
        "text.en": ["2 words, too short; write 120–250 words (about a minute of narration)"]
    }
    draft = draft_tour(stops, "masjid-raya", short)
    assert draft is not None
    stop = draft.stop_by_id("masjid-raya")
    assert stop is not None
    assert stop.text["en"] == "Too short."
    assert draft_tour(stops, "masjid-raya", "not toml [") is None


def test_a_new_stop_previews_at_the_end_of_the_walk(tmp_path: Path) -> None:
    stops = write_chinese_tour(tmp_path / "stops")
    tour = load_tour(stops)
    draft = draft_tour(stops, "dermaga-baru", new_stop_text(tour, "baru"))
    assert draft is not None
    assert [stop.id for stop in draft.stops] == [*(stop.id for stop in tour.stops), "dermaga-baru"]
    assert not (stops / "dermaga-baru.toml").exists()
    assert "dermaga-baru" not in (stops / "tour.toml").read_text(encoding="utf-8")


def test_problem_in_tour_file_is_general(small_tour: Path) -> None:
    text = (small_tour / "alpha.toml").read_text(encoding="utf-8")
    tour_text = (small_tour / "tour.toml").read_text(encoding="utf-8")
    extra = {"tour.toml": tour_text.replace('"beta",\n', "")}
    problems = field_problems(small_tour, "alpha", text, extra)
    assert problems_in_language(problems, "en") == {
        "": [
            "tour.toml, line 4: order: 'beta' (beta.toml) is missing from the walking order; add it"
        ]
    }


@pytest.mark.parametrize("stop_id", ["../x", "a/b", "Caps", "", "x" * 41, "tour", "retired"])
def test_stop_path_refuses_ids_that_are_not_file_names(stop_id: str) -> None:
    with pytest.raises(TourError, match="is not a stop id"):
        stop_path(Path("/stops"), stop_id)


def test_write_files_writes_when_bases_match(small_tour: Path) -> None:
    old = (small_tour / "alpha.toml").read_text(encoding="utf-8")
    write_files(
        small_tour,
        {"alpha.toml": old + "# edited\n", "gamma.toml": "code = 'g'\n"},
        {"alpha.toml": file_hash(old), "gamma.toml": ""},
    )
    assert (small_tour / "alpha.toml").read_text(encoding="utf-8") == old + "# edited\n"
    assert (small_tour / "gamma.toml").read_text(encoding="utf-8") == "code = 'g'\n"


def test_a_published_file_stays_group_writable(small_tour: Path) -> None:
    # Staff who edit stop files by hand share the service's group, as deploy/README.md says.
    path = small_tour / "alpha.toml"
    path.chmod(0o664)
    old = path.read_text(encoding="utf-8")
    write_files(small_tour, {"alpha.toml": old + "# edited\n"}, {"alpha.toml": file_hash(old)})
    assert path.read_text(encoding="utf-8") == old + "# edited\n"
    assert path.stat().st_mode & 0o777 == 0o664


def test_write_files_refuses_a_stale_base(small_tour: Path) -> None:
    old = (small_tour / "alpha.toml").read_text(encoding="utf-8")
    (small_tour / "alpha.toml").write_text(old + "# a hand edit\n", encoding="utf-8")
    with pytest.raises(ConflictError) as raised:
        write_files(small_tour, {"alpha.toml": "code = 'x'\n"}, {"alpha.toml": file_hash(old)})
    assert raised.value.current == old + "# a hand edit\n"
    assert (small_tour / "alpha.toml").read_text(encoding="utf-8") == old + "# a hand edit\n"


def test_write_files_refuses_to_overwrite_a_file_expected_new(small_tour: Path) -> None:
    with pytest.raises(ConflictError):
        write_files(small_tour, {"beta.toml": "code = 'x'\n"}, {"beta.toml": ""})


def test_full_disk_on_the_second_file_restores_the_first(
    small_tour: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tour_text = (small_tour / "tour.toml").read_text(encoding="utf-8")
    alpha = (small_tour / "alpha.toml").read_text(encoding="utf-8")
    real_write = write_atomically
    calls: list[str] = []

    def fail_second(path: Path, data: bytes) -> None:
        calls.append(path.name)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(path, data)

    monkeypatch.setattr(editing, "write_atomically", fail_second)
    with pytest.raises(WriteError) as raised:
        write_files(
            small_tour,
            {"tour.toml": tour_text + "# changed\n", "alpha.toml": alpha + "# changed\n"},
            {"tour.toml": file_hash(tour_text), "alpha.toml": file_hash(alpha)},
        )
    assert (
        str(raised.value) == "the disk is full: nothing was changed; free space and publish again"
    )
    assert raised.value.errno == errno.ENOSPC
    assert calls == ["tour.toml", "alpha.toml", "tour.toml"]
    assert (small_tour / "tour.toml").read_text(encoding="utf-8") == tour_text
    assert (small_tour / "alpha.toml").read_text(encoding="utf-8") == alpha
    load_tour(small_tour)


def test_read_only_folder_is_one_line(small_tour: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def read_only(path: Path, data: bytes) -> None:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(editing, "write_atomically", read_only)
    alpha = (small_tour / "alpha.toml").read_text(encoding="utf-8")
    with pytest.raises(WriteError, match=r"^the disk is read-only: nothing was changed"):
        write_files(small_tour, {"alpha.toml": "x"}, {"alpha.toml": file_hash(alpha)})


def test_write_files_moves_a_file_with_remove(small_tour: Path) -> None:
    beta = (small_tour / "beta.toml").read_text(encoding="utf-8")
    write_files(
        small_tour,
        {"retired/beta.toml": beta},
        {"retired/beta.toml": "", "beta.toml": file_hash(beta)},
        remove=["beta.toml"],
    )
    assert not (small_tour / "beta.toml").exists()
    assert (small_tour / "retired" / "beta.toml").read_text(encoding="utf-8") == beta
