"""The `tour` command: exit codes and one-line errors, never a traceback."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from aiohttp import web

from tour.catalog import bundled_stops_dir
from tour.cli import lan_address, main
from tour.web.keys import settings_key

from .conftest import write_small_tour
from .net import free_port, wait_until_up
from .qr_reading import decode, rasterise_terminal
from .running import run_tour


def test_check_bundled_tour(capsys: pytest.CaptureFixture[str]) -> None:
    exit_code = main(["check"])
    output = capsys.readouterr().out
    assert exit_code == 0, output
    assert output == "ok: 14 stops in 3 languages (id, en, zh), default id\n"


def test_check_reports_problem_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_small_tour(tmp_path / "stops")
    alpha = folder / "alpha.toml"
    alpha.write_text(alpha.read_text("utf-8").replace("lat = 0.95", "lat = 9.5"), "utf-8")
    exit_code = main(["--stops", str(folder), "check"])
    lines = capsys.readouterr().out.splitlines()
    assert exit_code == 1
    assert lines[0] == (
        f"{alpha}:4: location.lat: 9.5, 104.4 lies outside the tour area (lat 0.9 to 1, "
        "lon 104.3 to 104.5); check for a typo in the digits"
    )
    assert lines[1] == "1 problem(s) found; fix them and run 'tour check' again."


def test_check_shows_paths_relative_to_the_working_folder(tmp_path: Path) -> None:
    folder = write_small_tour(tmp_path / "stops")
    (folder / "beta.toml").write_text('code = "beta"\n', "utf-8")
    result = run_tour("--stops", "stops", "check", cwd=tmp_path)
    assert result.returncode == 1
    assert (
        result.stdout.splitlines()[0]
        == "stops/beta.toml:1: location: missing; add a [location] table"
    )


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("missing", ":1: stops: the stops folder does not exist;"),
        ("not-utf8", "alpha.toml:1: file: not UTF-8 (byte 0xff); save the file as UTF-8"),
        (
            "syntax",
            "alpha.toml:1: toml: Expected '=' after a key in a key/value pair; "
            "fix the TOML syntax here",
        ),
    ],
)
def test_check_never_prints_a_traceback(tmp_path: Path, setup: str, expected: str) -> None:
    folder = write_small_tour(tmp_path / "stops")
    if setup == "missing":
        folder = tmp_path / "missing"
    elif setup == "not-utf8":
        (folder / "alpha.toml").write_bytes(b"\xff\xfe code")
    else:
        (folder / "alpha.toml").write_text("this is not toml\n", "utf-8")
    result = run_tour("--stops", str(folder), "check")
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert expected in result.stdout.splitlines()[0]


def test_unknown_option_is_one_line() -> None:
    result = run_tour("check", "--bogus")
    assert result.returncode == 1
    assert result.stderr == "tour: unrecognized arguments: --bogus (see 'tour --help')\n"


def test_bad_port_is_one_line() -> None:
    result = run_tour("serve", "--port", "http")
    assert result.returncode == 1
    assert "argument --port: 'http' is not a port number; use 1-65535" in result.stderr
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize("engine", ["espeak", "auto"])
def test_serve_engine_is_the_voice_of_the_staff_pages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine: str
) -> None:
    # Narration built after a publish uses this voice: an offline server must be able to
    # say eSpeak, or every publish would first probe Google over the network.
    served: list[web.Application] = []
    monkeypatch.setattr(web, "run_app", lambda app, **options: served.append(app))
    folder = write_small_tour(tmp_path / "stops")
    options = ["--engine", engine] if engine != "auto" else []
    db = str(tmp_path / "tour.db")
    assert main(["--stops", str(folder), "--db", db, "serve", "--port", "1", *options]) == 0
    assert served[0][settings_key].audio_engine == engine


def test_serve_refuses_an_unknown_engine() -> None:
    result = run_tour("serve", "--engine", "festival")
    assert result.returncode == 1
    assert "argument --engine: invalid choice: 'festival'" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_serve_refuses_a_broken_tour(tmp_path: Path) -> None:
    folder = write_small_tour(tmp_path / "stops")
    (folder / "beta.toml").write_text('code = "beta"\ntxt = "x"\n', "utf-8")
    result = run_tour("--stops", str(folder), "serve", "--port", "1")
    assert result.returncode == 1
    assert "beta.toml:2: txt: unknown field; did you mean 'text'?" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_with_bad_base_url_is_one_line() -> None:
    env = {**os.environ, "TOUR_BASE_URL": "ftp://penyengat.example"}
    result = subprocess.run(
        [sys.executable, "-m", "tour", "serve", "--port", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr == (
        "tour: TOUR_BASE_URL: 'ftp://penyengat.example' must be an absolute http(s) URL "
        "such as https://penyengat.example\n"
    )


def test_serve_runs_the_real_service(tmp_path: Path) -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "tour", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
            body = response.read().decode("utf-8")
        assert '<html lang="id" data-lang="id">' in body
        assert body.count('<li><a href="/id/') == 14
    finally:
        server.terminate()
        stdout, stderr = server.communicate(timeout=30)
    url = f"http://127.0.0.1:{port}/"
    # No staff account in this folder's database yet: serve says how to make the first.
    assert stdout.startswith(
        "The staff pages (/admin) are off until an account exists. "
        "Create the first admin with: tour staff add NAME --role admin\n"
        f"Serving the tour at {url} (Ctrl-C to stop)\n"
    )
    art = stdout.split("same network:\n", 1)[1]
    assert decode(rasterise_terminal(art)) == [url]
    assert "Traceback" not in stderr


def test_lan_address_is_not_loopback() -> None:
    address = lan_address()
    assert address is None or not address.startswith("127.")


def test_sighup_reloads_the_stop_files(tmp_path: Path) -> None:
    stops = tmp_path / "stops"
    shutil.copytree(bundled_stops_dir(), stops)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "tour", "--stops", str(stops), "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    page = f"http://127.0.0.1:{port}/en/perigi"

    def read_page() -> str:
        with urllib.request.urlopen(page, timeout=5) as response:
            body: str = response.read().decode("utf-8")
            return body

    def wait_for(text: str) -> str:
        body = ""
        for _ in range(300):  # bounded wait: the reload runs in the background
            try:
                body = read_page()
            except OSError:
                body = ""
            if text in body:
                break
            time.sleep(0.05)
        return body

    try:
        assert "Perigi" in wait_for("Perigi")
        well = stops / "perigi-puteri.toml"
        text = well.read_text("utf-8")
        well.write_text(text.replace('en = "Princesses\' Well"', 'en = "The Well"'), "utf-8")
        server.send_signal(signal.SIGHUP)
        assert "<h1>The Well</h1>" in wait_for("<h1>The Well</h1>")

        well.write_text(text.replace("lat = ", "lat = 9"), "utf-8")  # an edit with a typo
        server.send_signal(signal.SIGHUP)
        time.sleep(1.0)
        assert "<h1>The Well</h1>" in read_page()  # the last good tour stays live
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=30)
    assert "reload refused: " in stderr
    assert "perigi-puteri.toml" in stderr
    assert "location.lat" in stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize(
    ("setup", "args", "expected"),
    [
        (
            "none",
            ["--scan-endpoint", "scans.example"],
            "tour: --scan-endpoint: 'scans.example' must be",
        ),
        ("file", [], "is a file; give a folder to export into"),
        ("other", [], "holds other files; export into an empty folder or an earlier export"),
    ],
)
def test_export_bad_input_is_one_line(
    tmp_path: Path, setup: str, args: list[str], expected: str
) -> None:
    out = tmp_path / "site"
    if setup == "file":
        out.write_text("not a folder")
    elif setup == "other":
        out.mkdir()
        (out / "thesis.docx").write_text("keep me")
    result = run_tour("--media", str(tmp_path / "media"), "export", str(out), *args)
    assert result.returncode == 1
    assert expected in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert "Traceback" not in result.stderr
    if setup == "other":
        assert (out / "thesis.docx").read_text() == "keep me"
