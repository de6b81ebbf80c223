"""Staff accounts: the `tour staff` command, login and sessions, CSRF, roles, language, audit."""

from __future__ import annotations

import contextlib
import io
import sqlite3
import tomllib
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from tour.cli import main
from tour.errors import SettingsError
from tour.settings import Settings
from tour.staff.dates import format_moment
from tour.staff.words import STAFF_LANGUAGES, load_words, word_files
from tour.web import create_app

from .conftest import AiohttpClient
from .staff import PASSWORD, create_account, hidden_csrf, log_in, page_csrf, staff_client

Client = TestClient[web.Request, web.Application]
JAKARTA = ZoneInfo("Asia/Jakarta")


@pytest.fixture
def staff_settings(small_tour: Path, tmp_path: Path) -> Settings:
    return Settings(
        stops_dir=small_tour,
        media_dir=tmp_path / "media",
        db_path=tmp_path / "var" / "tour.sqlite3",
        base_url="http://tour.example",
        audio_engine="espeak",
    )


def rows(db_path: Path, sql: str) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(db_path)) as connection:
        return connection.execute(sql).fetchall()


def staff_cli(
    db_path: Path, *args: str, stdin: str = "", capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sys.stdin", io.StringIO(stdin))
        code = main(["--db", str(db_path), "staff", *args])
    out, err = capsys.readouterr()
    return code, out, err


# --- the command line -----------------------------------------------------------------------


def test_staff_command_adds_lists_and_refuses_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "tour.sqlite3"
    assert staff_cli(db, "add", "ana", "--role", "admin", stdin=PASSWORD + "\n", capsys=capsys) == (
        0,
        "added ana (admin)\n",
        "",
    )
    refusals = [
        (
            ("add", "Ana/x", "--role", "editor"),
            PASSWORD,
            "tour: name 'Ana/x' is not allowed: "
            "use 1-32 characters from a-z, 0-9, '.', '_' and '-'\n",
        ),
        (
            ("add", "budi", "--role", "editor"),
            "short",
            "tour: the password has 5 characters; use at least 10\n",
        ),
        (
            ("add", "ana", "--role", "editor"),
            PASSWORD,
            "tour: an account named 'ana' exists already; choose another name\n",
        ),
        (
            ("add", "budi", "--role", "editor"),
            "",
            "tour: no password on standard input; give it as one line\n",
        ),
        (
            ("remove", "ana"),
            "",
            "tour: 'ana' is the last admin and cannot be removed; add another admin first\n",
        ),
        (
            ("passwd", "nobody"),
            PASSWORD,
            "tour: there is no account named 'nobody'; 'tour staff list' shows them\n",
        ),
    ]
    for args, password, error in refusals:
        stdin = password + "\n" if password else ""
        assert staff_cli(db, *args, stdin=stdin, capsys=capsys) == (1, "", error), args
    assert (
        staff_cli(db, "add", "budi", "--role", "editor", stdin="panjang sekali\n", capsys=capsys)[0]
        == 0
    )
    created = {name: float(at) for name, at in rows(db, "SELECT name, created FROM staff")}  # type: ignore[arg-type]
    code, out, _ = staff_cli(db, "list", capsys=capsys)
    assert code == 0
    assert out == (
        f"ana   admin      id  {format_moment(created['ana'], JAKARTA, 'en')}\n"
        f"budi  editor     id  {format_moment(created['budi'], JAKARTA, 'en')}\n"
    )
    assert out.splitlines()[0].endswith(" WIB")
    assert rows(db, "SELECT who, action, detail FROM audit ORDER BY id") == [
        ("tour staff", "account-add", "ana (admin)"),
        ("tour staff", "account-add", "budi (editor)"),
    ]
    assert staff_cli(db, "remove", "budi", capsys=capsys)[:2] == (
        0,
        "removed budi; their sessions have ended\n",
    )
    assert rows(db, "SELECT name FROM staff") == [("ana",)]


def test_stdin_password_is_the_whole_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "tour.sqlite3"
    staff_cli(
        db, "add", "ana", "--role", "admin", stdin="  spaces count too  \nnext\n", capsys=capsys
    )
    assert staff_cli(db, "passwd", "ana", stdin="a new password\n", capsys=capsys)[0] == 0
    stored = str(rows(db, "SELECT password_hash FROM staff")[0][0])
    assert stored.startswith("$argon2id$")
    assert rows(db, "SELECT action FROM audit ORDER BY id")[-1] == ("account-password",)


def test_a_bad_time_zone_is_one_line() -> None:
    with pytest.raises(
        SettingsError,
        match=r"^TOUR_TIME_ZONE: 'Asia/Atlantis' is not a time "
        r"zone; use an IANA name such as Asia/Jakarta$",
    ):
        Settings.from_env({"TOUR_TIME_ZONE": "Asia/Atlantis"})
    assert Settings.from_env({}).time_zone == "Asia/Jakarta"


# --- dates and words ------------------------------------------------------------------------


def test_format_moment_writes_dates_as_people_there_do() -> None:
    at = datetime(2026, 11, 28, 20, 15, tzinfo=JAKARTA).timestamp()
    assert format_moment(at, JAKARTA, "id") == "28 Nov 2026 20.15 WIB"
    assert format_moment(at, JAKARTA, "en") == "28 Nov 2026 20:15 WIB"
    august = datetime(2026, 8, 5, 7, 3, tzinfo=JAKARTA).timestamp()
    assert format_moment(august, JAKARTA, "id") == "5 Agu 2026 07.03 WIB"
    assert format_moment(august, JAKARTA, "en") == "5 Aug 2026 07:03 WIB"
    assert format_moment(august, ZoneInfo("Asia/Makassar"), "id") == "5 Agu 2026 08.03 WITA"


def test_every_words_file_has_the_same_keys_in_both_languages() -> None:
    assert word_files()
    for path in word_files():
        tables = tomllib.loads(path.read_text("utf-8"))
        assert sorted(tables) == sorted(STAFF_LANGUAGES), path.name
        assert set(tables["id"]) == set(tables["en"]), path.name
    merged = load_words(word_files())
    assert set(merged["id"]) == set(merged["en"])


def test_words_files_refuse_a_missing_or_doubled_key(tmp_path: Path) -> None:
    one = tmp_path / "one.toml"
    one.write_text('[id]\nsave = "Simpan"\n[en]\nsave = "Save"\n', "utf-8")
    two = tmp_path / "two.toml"
    two.write_text('[id]\nsave = "Simpan"\n[en]\nsave = "Save"\n', "utf-8")
    with pytest.raises(ValueError, match="^two.toml: 'save' is defined in one.toml too$"):
        load_words([one, two])
    two.write_text('[id]\nopen = "Buka"\n[en]\n', "utf-8")
    with pytest.raises(ValueError, match=r"^two.toml: \[en\] differs in keys open$"):
        load_words([one, two])
