"""The walk's edits of tour.toml and the checks of a new stop's file name and code."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest

from tour.catalog import bundled_stops_dir, check_tour, load_tour
from tour.core.errors import TourError
from tour.core.model import Tour
from tour.printing.qr import MAX_VERSION, QrError, make_qr
from tour.staff.editing import field_problems
from tour.staff.walk import (
    longest_code,
    new_stop_problems,
    new_stop_text,
    with_code_changed,
    with_code_kept,
    with_order,
    with_stop_added,
    with_stop_retired,
)

BUNDLED_TOUR = (bundled_stops_dir() / "tour.toml").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def bundled() -> Tour:
    return load_tour(bundled_stops_dir())


@pytest.mark.parametrize(
    ("stop_id", "expected"),
    [
        ("../x", "'../x' must be a plain name without / or ..; such as 'rumah-hitam'"),
        ("a/b", "'a/b' must be a plain name without / or ..; such as 'rumah-hitam'"),
        (
            "Caps",
            "'Caps' may only use lowercase letters, digits and -, and start with a letter or "
            "digit; such as 'rumah-hitam'",
        ),
        ("", "give the stop a file name, such as 'rumah-hitam'"),
        ("x" * 41, f"'{'x' * 41}' is 41 characters long; use at most 40"),
        ("jetty", "'jetty' is already the file name of a stop; choose another name"),
        ("tour", "'tour' is a name the tour keeps for itself; choose another name"),
        ("retired", "'retired' is a name the tour keeps for itself; choose another name"),
    ],
)
def test_new_stop_file_name_problems(bundled: Tour, stop_id: str, expected: str) -> None:
    problems = new_stop_problems(bundled, bundled_stops_dir(), stop_id, "fresh")
    assert {key: str(value) for key, value in problems.items()} == {"file": expected}


def test_new_stop_code_taken_by_a_live_stop(bundled: Tour) -> None:
    problems = new_stop_problems(bundled, bundled_stops_dir(), "rumah-hitam", "masjid")
    assert {key: str(value) for key, value in problems.items()} == {
        "code": "'masjid' is already the code of masjid-raya; each stop needs its own code"
    }


def test_new_stop_code_taken_by_a_retired_code(bundled: Tour) -> None:
    tour = dataclasses.replace(bundled, retired={"mesjid": "masjid-raya"})
    problems = new_stop_problems(tour, bundled_stops_dir(), "rumah-hitam", "mesjid")
    assert {key: str(value) for key, value in problems.items()} == {
        "code": "'mesjid' was the code of a retired stop, and its plaque still answers; "
        "choose another code"
    }


def test_new_stop_code_too_long_for_the_qr_version_names_the_longest(bundled: Tour) -> None:
    long_base = "https://" + "penyengat-heritage-" * 5 + "tour.example"
    tour = dataclasses.replace(bundled, base_url=long_base, qr_error_correction="H")
    longest = longest_code(tour)
    assert 0 < longest < 16
    make_qr(f"{long_base}/s/{'x' * longest}", "H")
    with pytest.raises(QrError):
        make_qr(f"{long_base}/s/{'x' * (longest + 1)}", "H")
    code = "y" * (longest + 1)
    problems = new_stop_problems(tour, bundled_stops_dir(), "rumah-hitam", code)
    assert {key: str(value) for key, value in problems.items()} == {
        "code": f"'{code}' makes the QR code larger than version {MAX_VERSION} at level H; "
        f"use at most {longest} characters"
    }


def test_a_good_new_stop_has_no_problems(bundled: Tour) -> None:
    assert new_stop_problems(bundled, bundled_stops_dir(), "rumah-hitam", "hitam") == {}


def test_new_stop_can_only_be_a_draft_until_written(bundled: Tour, chinese_tour: Path) -> None:
    text = new_stop_text(bundled, "hitam")
    extra = {"tour.toml": with_stop_added(BUNDLED_TOUR, "rumah-hitam")}
    problems = field_problems(chinese_tour, "rumah-hitam", text, extra)
    assert sorted(problems) == ["text.en", "text.id", "text.zh"]
    assert len(problems["text.en"]) == 1
    assert str(problems["text.en"][0]).endswith(
        " words, too short; write 120–250 words (about a minute of narration)"
    )


def test_walk_edits_keep_the_comments_of_tour_toml() -> None:
    added = with_stop_added(BUNDLED_TOUR, "rumah-hitam")
    assert tomllib.loads(added)["order"][-1] == "rumah-hitam"
    assert added == BUNDLED_TOUR.replace(
        '    "balai-adat",\n', '    "balai-adat",\n    "rumah-hitam",\n'
    )
    order = tomllib.loads(BUNDLED_TOUR)["order"]
    swapped = [order[1], order[0], *order[2:]]
    reordered = with_order(BUNDLED_TOUR, swapped)
    assert reordered == BUNDLED_TOUR.replace(
        '    "jetty",\n    "masjid-raya",\n', '    "masjid-raya",\n    "jetty",\n'
    )
    assert with_order(BUNDLED_TOUR, order) == BUNDLED_TOUR


def test_retiring_a_stop_takes_it_out_and_keeps_its_code(chinese_tour: Path) -> None:
    retired = with_stop_retired(BUNDLED_TOUR, "gedung-tabib", "tabib", "")
    data = tomllib.loads(retired)
    assert "gedung-tabib" not in data["order"]
    assert data["retired"] == {"tabib": ""}
    # Only the order line and the new key differ: every comment is still there.
    assert retired.replace('tabib = ""\n', "") == BUNDLED_TOUR.replace('    "gedung-tabib",\n', "")
    (chinese_tour / "tour.toml").write_text(retired, encoding="utf-8")
    (chinese_tour / "gedung-tabib.toml").rename(chinese_tour / "gone.txt")
    tour = load_tour(chinese_tour)
    assert dict(tour.retired) == {"tabib": ""}


def test_a_renamed_code_keeps_answering(chinese_tour: Path) -> None:
    kept = with_code_kept(with_code_kept(BUNDLED_TOUR, "mesjid", "masjid-raya"), "jeti", "jetty")
    assert tomllib.loads(kept)["retired"] == {"mesjid": "masjid-raya", "jeti": "jetty"}
    assert kept.index("jeti =") < kept.index("# Interface words")
    (chinese_tour / "tour.toml").write_text(kept, encoding="utf-8")
    assert dict(load_tour(chinese_tour).retired) == {"mesjid": "masjid-raya", "jeti": "jetty"}


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            'masjid = ""',
            "retired.masjid: 'masjid' is still the code of masjid-raya.toml; give "
            "that stop a new code or remove this line",
        ),
        (
            'lama = "nowhere"',
            "retired.lama: 'nowhere' has no stop file; name the stop the code "
            'moved to, or "" if it closed',
        ),
        (
            '"Old Code" = ""',
            "retired.Old Code: 'Old Code' is not a stop code; codes are 1-16 "
            "lowercase letters, digits and -",
        ),
        (
            "lama = 3",
            'retired.lama: must be the id of the stop it moved to in quotes, or "" '
            "if it closed, not a number",
        ),
    ],
)
def test_retired_code_problems(chinese_tour: Path, line: str, expected: str) -> None:
    text = BUNDLED_TOUR.replace("[retired]\n", f"[retired]\n{line}\n")
    (chinese_tour / "tour.toml").write_text(text, encoding="utf-8")
    line_number = text[: text.index(line)].count("\n") + 1
    _, problems = check_tour(chinese_tour)
    assert [
        str(p).split(": ", 1)[1] if False else f"{p.line}: {p.field}: {p.message}" for p in problems
    ] == [f"{line_number}: {expected}"]


def test_retiring_a_stop_repoints_the_codes_that_led_to_it(chinese_tour: Path) -> None:
    renamed = with_code_kept(BUNDLED_TOUR, "tabib", "gedung-tabib")
    closed = with_stop_retired(renamed, "gedung-tabib", "tabib2", "")
    assert tomllib.loads(closed)["retired"] == {"tabib": "", "tabib2": ""}
    moved = with_stop_retired(BUNDLED_TOUR, "gedung-tabib", "tabib", "bukit-kursi")
    moved_again = with_stop_retired(moved, "bukit-kursi", "kursi", "jetty")
    assert tomllib.loads(moved_again)["retired"] == {"tabib": "jetty", "kursi": "jetty"}
    (chinese_tour / "tour.toml").write_text(moved_again, encoding="utf-8")
    (chinese_tour / "gedung-tabib.toml").unlink()
    (chinese_tour / "bukit-kursi.toml").unlink()
    _, problems = check_tour(chinese_tour)
    assert problems == []


def test_reordering_keeps_the_comments_written_in_the_order() -> None:
    commented = BUNDLED_TOUR.replace('    "jetty",\n', '    "jetty",  # the landing\n').replace(
        '    "masjid-raya",\n', '    # the mosque\n    "masjid-raya",\n'
    )
    order = tomllib.loads(commented)["order"]
    swapped = [order[1], order[0], *order[2:]]
    reordered = with_order(commented, swapped)
    assert tomllib.loads(reordered)["order"] == swapped
    assert reordered == commented.replace(
        '    "jetty",  # the landing\n    # the mosque\n    "masjid-raya",\n',
        '    "masjid-raya",\n    # the mosque\n    "jetty",  # the landing\n',
    )


def _without_retired_table(extra: str) -> str:
    """The bundled tour.toml with `extra` (a hand-written retired) instead of [retired]."""
    return BUNDLED_TOUR.replace("\n[retired]\n", "\n", 1).replace(
        "\norder = [", f"\n{extra}\norder = [", 1
    )


@pytest.mark.parametrize(
    "written",
    [
        'retired = { tua = "", mesjid = "masjid-raya" }  # old plaques',
        'retired.tua = ""\nretired.mesjid = "masjid-raya"',
    ],
    ids=["inline", "dotted"],
)
def test_every_form_of_retired_keeps_its_old_codes(chinese_tour: Path, written: str) -> None:
    text = _without_retired_table(written)
    assert tomllib.loads(text)["retired"] == {"tua": "", "mesjid": "masjid-raya"}
    retired = with_stop_retired(text, "gedung-tabib", "tabib", "bukit-kursi")
    assert tomllib.loads(retired)["retired"] == {
        "tua": "",
        "mesjid": "masjid-raya",
        "tabib": "bukit-kursi",
    }
    # A code that led to the stop now retired leads where it went.
    moved = with_stop_retired(retired, "masjid-raya", "masjid", "jetty")
    assert tomllib.loads(moved)["retired"] == {
        "tua": "",
        "mesjid": "jetty",
        "tabib": "bukit-kursi",
        "masjid": "jetty",
    }
    changed = with_code_changed(text, "kursi", "bukit", "bukit-kursi")
    assert tomllib.loads(changed)["retired"] == {
        "tua": "",
        "mesjid": "masjid-raya",
        "kursi": "bukit-kursi",
    }
    # Taking back one of the stop's own old codes removes it, in the form it was written.
    back = with_code_changed(text, "masjid", "mesjid", "masjid-raya")
    assert tomllib.loads(back)["retired"] == {"tua": "", "masjid": "masjid-raya"}
    (chinese_tour / "tour.toml").write_text(retired, encoding="utf-8")
    (chinese_tour / "gedung-tabib.toml").unlink()
    tour, problems = check_tour(chinese_tour)
    assert problems == []
    assert tour is not None
    assert dict(tour.retired) == {"tua": "", "mesjid": "masjid-raya", "tabib": "bukit-kursi"}


@pytest.mark.parametrize(
    ("written", "found"),
    [("retired = 3", "a number"), ('retired = ["tua"]', "a list"), ('retired = "tua"', "a string")],
)
def test_a_retired_that_is_no_table_is_refused_not_replaced(written: str, found: str) -> None:
    text = _without_retired_table(written)
    expected = (
        f'tour.toml: retired must be a table of old code = "stop id", not {found}; '
        "write it as a [retired] table by hand, then try again"
    )
    with pytest.raises(TourError) as kept:
        with_code_kept(text, "tabib", "gedung-tabib")
    assert str(kept.value) == expected
    with pytest.raises(TourError) as retired:
        with_stop_retired(text, "gedung-tabib", "tabib")
    assert str(retired.value) == expected
    with pytest.raises(TourError) as changed:
        with_code_changed(text, "tabib", "tabib2", "gedung-tabib")
    assert str(changed.value) == expected
