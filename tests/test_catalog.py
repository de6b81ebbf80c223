"""Stop-file validation: every malformed file yields its exact problem line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tour.catalog import CatalogError, SourceLines, bundled_stops_dir, check_tour, load_tour
from tour.core.languages import text_length
from tour.core.model import Tour

from .conftest import STOP_TEMPLATE

ALPHA = STOP_TEMPLATE.format(code="alpha", lat=0.95)


def problem_lines(folder: Path) -> list[str]:
    """Return the problems as printed, with the folder prefix cut for readability."""
    tour, problems = check_tour(folder)
    assert (tour is None) == bool(problems)
    return [str(problem).replace(str(folder) + os.sep, "") for problem in problems]


def edit(folder: Path, name: str, old: str, new: str) -> None:
    path = folder / name
    text = path.read_text(encoding="utf-8")
    assert old in text, f"fixture text {old!r} not in {name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_small_tour_loads(small_tour: Path) -> None:
    tour = load_tour(small_tour)
    assert isinstance(tour, Tour)
    assert [stop.id for stop in tour.stops] == ["alpha", "beta"]
    assert tour.stops[0].text["en"] == "Text about alpha."
    assert tour.stops[0].location.coord_source == "osm"
    assert tour.base_url == "https://tour.example"


# (file, text to replace, replacement, the exact problem lines expected)
MALFORMED: list[tuple[str, str, str, list[str]]] = [
    (
        "alpha.toml",
        'code = "alpha"',
        'code = "alpha',
        ["alpha.toml:1: toml: a quoted string is not closed on this line; add the closing quote"],
    ),
    (
        "alpha.toml",
        "lat = 0.95\n",
        "lat = \n",
        [
            "alpha.toml:4: toml: a value is missing or malformed; write a number, "
            '"text" in quotes, true/false or a [list]'
        ],
    ),
    (
        "alpha.toml",
        'code = "alpha"\n',
        "",
        ['alpha.toml:1: code: missing; add code = "..."'],
    ),
    (
        "alpha.toml",
        'code = "alpha"\n',
        'code = "alpha"\ntxt = "typo"\n',
        ["alpha.toml:2: txt: unknown field; did you mean 'text'?"],
    ),
    (
        "alpha.toml",
        'en = """\nText about alpha.\n"""\n',
        "",
        [
            "alpha.toml:12: text.en: missing the 'en' text; every stop needs one in each "
            "tour language (id, en)"
        ],
    ),
    (
        "alpha.toml",
        'id = "Nama alpha"\n',
        "",
        [
            "alpha.toml:8: name.id: missing the 'id' name; every stop needs one in each "
            "tour language (id, en)"
        ],
    ),
    (
        "alpha.toml",
        'id = "Nama alpha"\n',
        'id = "Nama alpha"\neng = "Name"\n',
        [
            "alpha.toml:10: name.eng: 'eng' is not a known language code; use a two-letter "
            "ISO 639-1 code such as 'id' or 'en'"
        ],
    ),
    (
        "beta.toml",
        'code = "beta"',
        'code = "alpha"',
        [
            "beta.toml:1: code: 'alpha' is already the code of alpha.toml; each stop needs "
            "its own code"
        ],
    ),
    (
        "alpha.toml",
        'code = "alpha"',
        'code = "Alpha!"',
        [
            "alpha.toml:1: code: 'Alpha!' must be 1-16 characters of lowercase letters, "
            "digits and -, such as 'masjid'"
        ],
    ),
    (
        "alpha.toml",
        'code = "alpha"',
        'code = "alpha-beta-gamma-delta"',
        [
            "alpha.toml:1: code: 'alpha-beta-gamma-delta' must be 1-16 characters of "
            "lowercase letters, digits and -, such as 'masjid'"
        ],
    ),
    (
        "alpha.toml",
        "lat = 0.95",
        "lat = 95.0",
        ["alpha.toml:4: location.lat: 95.0 is out of range; use a number from -90 to 90"],
    ),
    (
        "alpha.toml",
        "lon = 104.4",
        "lon = 204.4",
        ["alpha.toml:5: location.lon: 204.4 is out of range; use a number from -180 to 180"],
    ),
    (
        "alpha.toml",
        "lat = 0.95",
        "lat = 9.5",
        [
            "alpha.toml:4: location.lat: 9.5, 104.4 lies outside the tour area (lat 0.9 to 1, "
            "lon 104.3 to 104.5); check for a typo in the digits"
        ],
    ),
    (
        "alpha.toml",
        "lat = 0.95",
        'lat = "0.95"',
        ["alpha.toml:4: location.lat: must be a number, not a string"],
    ),
    (
        "alpha.toml",
        'coord_source = "osm"',
        'coord_source = "google"',
        [
            "alpha.toml:6: location.coord_source: 'google' is not one of surveyed, osm, "
            "wikipedia, unverified, estimated; say how the position was found, or 'estimated'"
        ],
    ),
    (
        "alpha.toml",
        "lat = 0.95",
        "latitude = 0.95",
        [
            "alpha.toml:4: location.latitude: unknown field; did you mean 'lat'?",
            "alpha.toml:3: location.lat: missing; add lat = <number>",
        ],
    ),
    (
        "alpha.toml",
        '[location]\nlat = 0.95\nlon = 104.4\ncoord_source = "osm"\n',
        "",
        ["alpha.toml:1: location: missing; add a [location] table"],
    ),
    (
        "alpha.toml",
        'en = """\nText about alpha.\n"""',
        'en = """\n   \n"""',
        ["alpha.toml:16: text.en: is empty; write the text or remove the line"],
    ),
    (
        "alpha.toml",
        "Text about alpha.",
        "x" * 5001,
        [
            "alpha.toml:16: text.en: 5002 characters is too long (limit 5000); shorten it "
            "or split the stop"
        ],
    ),
    (
        "tour.toml",
        '    "beta",\n',
        '    "beta",\n    "gamma",\n',
        [
            "tour.toml:7: order: 'gamma' has no stop file; add gamma.toml or remove it "
            "from the order"
        ],
    ),
    (
        "tour.toml",
        '    "beta",\n',
        "",
        ["tour.toml:4: order: 'beta' (beta.toml) is missing from the walking order; add it"],
    ),
    (
        "tour.toml",
        '    "beta",\n',
        '    "beta",\n    "alpha",\n',
        ["tour.toml:7: order: 'alpha' appears twice; list each stop once"],
    ),
    (
        "tour.toml",
        'languages = ["id", "en"]',
        'languages = ["id", "en", "xx"]',
        [
            "tour.toml:1: languages: 'xx' is not a known language code; use a two-letter "
            "ISO 639-1 code"
        ],
    ),
    (
        "tour.toml",
        'default_language = "id"',
        'default_language = "ms"',
        [
            "tour.toml:2: default_language: 'ms' is not in languages (id, en); add it there "
            "or pick one of them"
        ],
    ),
    (
        "tour.toml",
        'en = "Test Tour"\n',
        "",
        [
            "tour.toml:9: title.en: missing the 'en' title; every stop needs one in each "
            "tour language (id, en)"
        ],
    ),
    (
        "tour.toml",
        'base_url = "https://tour.example"',
        'base_url = "tour.example"',
        [
            "tour.toml:3: base_url: 'tour.example' must be an absolute http(s) URL such as "
            "https://penyengat.example"
        ],
    ),
    (
        "tour.toml",
        "[bounds]",
        "[bounds",
        [
            "tour.toml:13: toml: Expected ']' at the end of a table declaration; "
            "fix the TOML syntax here"
        ],
    ),
    (
        "tour.toml",
        "north = 1.0",
        "north = 0.8",
        ["tour.toml:15: bounds.north: must be greater than south"],
    ),
    (
        "tour.toml",
        'not_found_title = "Page not found"\n',
        "",
        ['tour.toml:{ui_en}: ui.en.not_found_title: missing; add not_found_title = "..."'],
    ),
]


@pytest.mark.parametrize(
    ("name", "old", "new", "expected"),
    MALFORMED,
    ids=[f"{case[0]}:{index}" for index, case in enumerate(MALFORMED)],
)
def test_malformed_file_gives_its_exact_problem_line(
    small_tour: Path, name: str, old: str, new: str, expected: list[str]
) -> None:
    edit(small_tour, name, old, new)
    ui_en = SourceLines((small_tour / "tour.toml").read_text("utf-8")).line("ui", "en")
    assert problem_lines(small_tour) == [line.format(ui_en=ui_en) for line in expected]


CONTROL = "contains a control character ({}); remove it"


@pytest.mark.parametrize(
    ("name", "old", "new", "expected"),
    [
        (
            "alpha.toml",
            'en = "Name alpha"',
            'en = "Name\\u0000alpha"',
            "alpha.toml:10: name.en: " + CONTROL.format("U+0000"),
        ),
        (
            "alpha.toml",
            'en = "Name alpha"',
            'en = """Grand\nMosque"""',
            "alpha.toml:10: name.en: a name is one line; remove the line break",
        ),
        (
            "alpha.toml",
            'en = "Name alpha"',
            'en = "Grand\\r Mosque"',
            "alpha.toml:10: name.en: a name is one line; remove the line break",
        ),
        (
            "alpha.toml",
            'en = "Name alpha"',
            'en = "Grand\\tMosque"',
            "alpha.toml:10: name.en: " + CONTROL.format("U+0009"),
        ),
        (
            "alpha.toml",
            "Text about alpha.",
            "Text about \\u001b[31malpha.",
            "alpha.toml:16: text.en: " + CONTROL.format("U+001B"),
        ),
        (
            "alpha.toml",
            "Text about alpha.",
            "Text about\\u0085alpha.",
            "alpha.toml:16: text.en: " + CONTROL.format("U+0085"),
        ),
        (
            "alpha.toml",
            'code = "alpha"',
            'code = "al\\u0007pha"',
            "alpha.toml:1: code: " + CONTROL.format("U+0007"),
        ),
        (
            "tour.toml",
            'en = "Test Tour"',
            'en = """Test\nTour"""',
            "tour.toml:11: title.en: a title is one line; remove the line break",
        ),
        (
            "tour.toml",
            'not_found_title = "Page not found"',
            'not_found_title = "Page\\u0000not found"',
            "tour.toml:{ui_en}: ui.en.not_found_title: " + CONTROL.format("U+0000"),
        ),
    ],
)
def test_control_characters_and_line_breaks_in_names_are_refused(
    small_tour: Path, name: str, old: str, new: str, expected: str
) -> None:
    edit(small_tour, name, old, new)
    lines = SourceLines((small_tour / "tour.toml").read_text("utf-8"))
    ui_en = lines.line("ui", "en", "not_found_title")
    assert problem_lines(small_tour) == [expected.format(ui_en=ui_en)]


def test_a_text_may_hold_tabs_and_line_breaks(small_tour: Path) -> None:
    edit(small_tour, "alpha.toml", "Text about alpha.", "Text\tabout\n\nalpha.")
    assert problem_lines(small_tour) == []
    assert load_tour(small_tour).stops[0].text["en"] == "Text\tabout\n\nalpha."


def test_the_bundled_tour_has_no_control_characters() -> None:
    _, problems = check_tour(bundled_stops_dir())
    assert problems == []


def test_every_problem_is_reported_in_one_run(small_tour: Path) -> None:
    edit(small_tour, "alpha.toml", 'code = "alpha"', 'code = "BAD"')
    edit(small_tour, "alpha.toml", "lat = 0.95", "lat = 95.0")
    edit(small_tour, "beta.toml", 'en = "Name beta"\n', "")
    lines = problem_lines(small_tour)
    assert [line.split(":")[0:3] for line in lines] == [
        ["alpha.toml", "1", " code"],
        ["alpha.toml", "4", " location.lat"],
        ["beta.toml", "8", " name.en"],
    ]


def test_file_that_is_not_utf8_names_its_line(small_tour: Path) -> None:
    raw = (small_tour / "alpha.toml").read_bytes().replace(b"Teks", "Teks é".encode("latin-1"))
    (small_tour / "alpha.toml").write_bytes(raw)
    assert problem_lines(small_tour) == [
        "alpha.toml:14: file: not UTF-8 (byte 0xe9); save the file as UTF-8"
    ]


def test_unreadable_stop_file_is_one_problem(small_tour: Path) -> None:
    (small_tour / "beta.toml").unlink()
    (small_tour / "beta.toml").mkdir()  # a folder cannot be read as a file, even by root
    [line] = problem_lines(small_tour)
    assert line.startswith("beta.toml:1: file: cannot read the file (")
    assert line.endswith("); check that it exists and is readable")


def test_missing_folder(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(CatalogError) as raised:
        load_tour(missing)
    [problem] = raised.value.problems
    assert problem.field == "stops"
    assert str(problem.message) == (
        "the stops folder does not exist; pass the folder that holds tour.toml with --stops DIR"
    )


def test_missing_tour_file(small_tour: Path) -> None:
    (small_tour / "tour.toml").unlink()
    [line] = problem_lines(small_tour)
    assert line.startswith("tour.toml:1: file: cannot read the file (")


def test_folder_without_stops(small_tour: Path) -> None:
    (small_tour / "alpha.toml").unlink()
    (small_tour / "beta.toml").unlink()
    lines = problem_lines(small_tour)
    assert lines[-1].endswith(
        ":1: stops: no stop files found; add one <id>.toml per stop beside tour.toml"
    )


def test_stop_file_name_must_be_a_valid_id(small_tour: Path) -> None:
    (small_tour / "Gamma Stop.toml").write_text(
        STOP_TEMPLATE.format(code="gamma", lat=0.96), encoding="utf-8"
    )
    assert problem_lines(small_tour) == [
        "Gamma Stop.toml:1: id: file name 'Gamma Stop.toml' must use lowercase letters, "
        "digits and -; rename the file",
        "tour.toml:4: order: 'Gamma Stop' (Gamma Stop.toml) is missing from the walking "
        "order; add it",
    ]


def test_source_lines_skip_multiline_strings() -> None:
    lines = SourceLines('[text]\nid = """\ncode = "x"\n"""\nen = "y"\n')
    assert lines.line("text", "en") == 5
    assert lines.line("code") == 1  # inside a string, so not a key: falls back to line 1
    assert lines.line("text", "missing") == 1


def test_loaded_tour_is_immutable(small_tour: Path) -> None:
    tour = load_tour(small_tour)
    with pytest.raises(TypeError):
        tour.stops[0].text["en"] = "changed"  # type: ignore[index]


TEXT_LENGTH = """
[text_length]
words = { min = 3, max = 5 }
characters = { min = 6, max = 8 }
"""


def with_text_length(folder: Path, table: str = TEXT_LENGTH) -> None:
    """Add a [text_length] table before [title], where top-level keys have ended."""
    edit(folder, "tour.toml", "[title]\n", f"{table}\n[title]\n")


def test_text_length_counts_words_and_says_the_range(small_tour: Path) -> None:
    with_text_length(small_tour)
    # "Teks tentang alpha." is 3 words: the least allowed; beta is made too long.
    edit(small_tour, "beta.toml", "Text about beta.", "Text about beta and all of its walls.")
    assert problem_lines(small_tour) == [
        "beta.toml:16: text.en: 8 words, too long; shorten it to 5 words at most "
        "(about a minute of narration)"
    ]
    edit(small_tour, "beta.toml", "Text about beta and all of its walls.", "Beta.")
    assert problem_lines(small_tour) == [
        "beta.toml:16: text.en: 1 words, too short; write 3–5 words (about a minute of narration)"
    ]


def test_text_length_counts_characters_for_chinese(small_tour: Path) -> None:
    with_text_length(small_tour)
    edit(small_tour, "tour.toml", 'languages = ["id", "en"]', 'languages = ["id", "en", "zh"]')
    edit(small_tour, "tour.toml", 'en = "Test Tour"\n', 'en = "Test Tour"\nzh = "测试"\n')
    for code, text in (("alpha", "码头 在 岛上东边。"), ("beta", "井。")):
        edit(small_tour, f"{code}.toml", 'en = "Name', 'zh = "名"\nen = "Name')
        edit(small_tour, f"{code}.toml", '"""\nen = """', f'"""\nzh = """\n{text}\n"""\nen = """')
    # "码头 在 岛上东边。" is 3 words but 8 characters: inside the range; "井。" is 2.
    lines = problem_lines(small_tour)
    assert lines == [
        "beta.toml:17: text.zh: 2 characters, too short; write 6–8 characters "
        "(about a minute of narration)"
    ]


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        (
            "[text_length]\nlines = { min = 1, max = 2 }\n",
            "tour.toml:{line}: text_length.lines: 'lines' is not a unit; use words or characters",
        ),
        (
            "[text_length]\nwords = { min = 9, max = 2 }\n",
            "tour.toml:{line}: text_length.words: min 9 is above max 2; swap them",
        ),
        (
            "[text_length]\nwords = 120\n",
            "tour.toml:{line}: text_length.words: must be { min = 120, max = 250 }, not a number",
        ),
    ],
)
def test_text_length_table_problems(small_tour: Path, table: str, expected: str) -> None:
    with_text_length(small_tour, table)
    line = SourceLines((small_tour / "tour.toml").read_text("utf-8")).line("text_length")
    assert problem_lines(small_tour) == [expected.replace("{line}", str(line + 1))]


def test_a_latin_word_in_chinese_counts_as_one_character() -> None:
    assert text_length("Raja Ali Haji（拉惹阿里·哈吉）写于1847年。", "zh") == 3 + 9 + 2 + 1 + 2
    assert text_length("码头 在 岛上东边。", "zh") == 8  # white space is not counted
    assert text_length("Raja Ali Haji wrote it in 1847.", "en") == 7


def test_interface_words_may_be_written_over_several_lines(small_tour: Path) -> None:
    """A tour.toml written before the control-character check keeps loading."""
    path = small_tour / "tour.toml"
    text = path.read_text(encoding="utf-8")
    line = next(line for line in text.splitlines() if line.startswith("tour_intro = "))
    edit(
        small_tour, "tour.toml", line, 'tour_intro = """\nScan the code.\nListen as you walk.\n"""'
    )
    assert problem_lines(small_tour) == []
    tour = load_tour(small_tour)
    assert "Listen as you walk." in next(iter(tour.ui.values()))["tour_intro"]


def test_key_lines_count_only_tomls_own_line_ends() -> None:
    # A text may hold U+2028 inside one string; str.splitlines() would count it as a line.
    text = 'code = "a"\n[text]\nen = "One.\u2028[ x ] Two."\n\n[location]\nlat = 0.9\n'
    lines = SourceLines(text)
    assert lines.line("text", "en") == 3
    assert lines.line("location", "lat") == 6


def test_an_empty_table_header_is_not_read_as_a_table() -> None:
    lines = SourceLines('[text]\n[ ]\nen = "x"\n')
    assert lines.line("text", "en") == 3
