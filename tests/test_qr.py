"""QR codes that scan: every PNG and SVG decoded by a real decoder (zxing-cpp)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from tour.catalog import bundled_stops_dir, load_tour
from tour.core.errors import SettingsError
from tour.core.settings import Settings, apply_settings
from tour.printing.qr import QrError, local_address_reason, make_qr, terminal_qr, write_qr_codes

from .qr_reading import decode, decode_png, rasterise_svg, rasterise_terminal
from .running import run_tour

# The bundled placeholder: a reserved name, so every print here is a test print.
PUBLIC = "https://penyengat.example"
TOUR = load_tour(bundled_stops_dir())


def test_every_png_and_svg_decodes_to_its_payload(tmp_path: Path) -> None:
    files = write_qr_codes(TOUR, tmp_path, PUBLIC, allow_local=True)
    assert len(files) == len(TOUR.stops) == 14
    for item in files:
        payload = f"{PUBLIC}/s/{item.stop.code}"
        assert item.qr.payload == payload
        png = (tmp_path / "qr" / f"{item.stop.code}.png").read_bytes()
        assert decode_png(png) == [payload]
        svg = (tmp_path / "qr" / f"{item.stop.code}.svg").read_text("utf-8")
        assert decode(rasterise_svg(svg)) == [payload]
        assert item.qr.version <= 4, (item.stop.code, item.qr.version)
        assert item.qr.level == "Q"
        side = item.qr.modules + 8  # a quiet zone of 4 modules on each side
        assert f'viewBox="0 0 {side} {side}"' in svg


def test_codes_are_the_smallest_version_that_fits() -> None:
    tiny = make_qr("http://a.b")
    assert tiny.version == 1  # 10 bytes fit version 1 at level Q (11 bytes)
    assert tiny.modules == 21
    versions = [make_qr(PUBLIC + "/s/" + "x" * length).version for length in range(0, 120, 10)]
    assert versions == sorted(versions)
    assert versions[0] < versions[-1]
    assert make_qr(f"{PUBLIC}/s/engku-puteri").version == 4


def test_level_h_for_exposed_plaques(tmp_path: Path) -> None:
    files = write_qr_codes(TOUR, tmp_path, PUBLIC, level="H", allow_local=True)
    assert {item.qr.level for item in files} == {"H"}
    png = (tmp_path / "qr" / "masjid.png").read_bytes()
    [result] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert result.ec_level == "H"
    assert result.text == f"{PUBLIC}/s/masjid"


def test_files_are_rewritten_only_when_they_change(tmp_path: Path) -> None:
    first = write_qr_codes(TOUR, tmp_path, PUBLIC, allow_local=True)
    assert all(item.written == (f"{item.stop.code}.svg", f"{item.stop.code}.png") for item in first)
    png = tmp_path / "qr" / "masjid.png"
    stamp = png.stat().st_mtime_ns
    again = write_qr_codes(TOUR, tmp_path, PUBLIC, allow_local=True)
    assert all(item.written == () for item in again)
    assert png.stat().st_mtime_ns == stamp
    moved = write_qr_codes(TOUR, tmp_path, "https://tour.example", allow_local=True)
    assert all(len(item.written) == 2 for item in moved)
    assert decode_png(png.read_bytes()) == ["https://tour.example/s/masjid"]


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://localhost:8080", True),
        ("http://127.0.0.1:8080", True),
        ("http://127.8.0.1", True),
        ("http://[::1]:8080", True),
        ("http://10.1.2.3", True),
        ("http://172.16.0.9", True),
        ("http://172.31.255.1", True),
        ("http://192.168.1.20:8080", True),
        ("http://tour-laptop.local", True),
        ("https://tour.home.arpa", True),
        ("https://penyengat.internal", True),
        ("https://internal.tanjungpinangkota.go.id", False),
        ("https://arpa.go.id", False),
        ("http://169.254.1.1", True),
        ("http://172.32.0.1", False),
        ("https://penyengat.example", True),
        ("https://penyengat.example.", True),
        ("https://tour.test", True),
        ("https://penyengat.invalid", True),
        ("http://tour.localhost:8080", True),
        ("https://example.com", True),
        ("https://tour.example.org", True),
        ("https://example.community", False),
        ("https://notexample.net", False),
        ("https://tanjungpinangkota.go.id", False),
    ],
)
def test_local_addresses_are_recognised(url: str, local: bool) -> None:
    assert (local_address_reason(url) is not None) is local


def test_loopback_is_refused_unless_allowed(tmp_path: Path) -> None:
    with pytest.raises(QrError, match=r"127\.0\.0\.1 is a loopback address"):
        write_qr_codes(TOUR, tmp_path, "http://127.0.0.1:8080")
    files = write_qr_codes(TOUR, tmp_path, "http://127.0.0.1:8080", allow_local=True)
    assert decode_png((tmp_path / "qr" / "kursi.png").read_bytes()) == [
        "http://127.0.0.1:8080/s/kursi"
    ]
    assert len(files) == 14


def test_base_url_from_environment_is_validated_in_the_settings() -> None:
    assert apply_settings(TOUR, Settings.from_env({})).base_url == "https://penyengat.example"
    chosen = Settings.from_env({"TOUR_BASE_URL": "https://tour.example/"})
    assert chosen.base_url == "https://tour.example"
    assert apply_settings(TOUR, chosen).base_url == "https://tour.example"
    with pytest.raises(SettingsError, match="must be an absolute http"):
        Settings.from_env({"TOUR_BASE_URL": "penyengat.example"})


@pytest.mark.parametrize(
    ("env", "args", "expected"),
    [
        (
            {"TOUR_BASE_URL": "penyengat.example"},
            [],
            "tour: TOUR_BASE_URL: 'penyengat.example' must be an absolute http(s) URL such as "
            "https://penyengat.example",
        ),
        (
            {"TOUR_BASE_URL": "https://penyengat example.id"},
            [],
            "tour: TOUR_BASE_URL: 'https://penyengat example.id' must not contain spaces",
        ),
        (
            {"TOUR_BASE_URL": "https://penyengat.example/?from=qr"},
            [],
            "tour: TOUR_BASE_URL: 'https://penyengat.example/?from=qr' must have no query (?...) "
            "or fragment (#...)",
        ),
        (
            {"TOUR_BASE_URL": "https://penyengat.example/" + "x" * 300},
            ["--allow-local"],
            "tour: 'https://penyengat.example/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...' (336 characters) "
            "needs a QR version above 10 at level Q; use a shorter base URL or shorter stop codes",
        ),
        (
            {"TOUR_BASE_URL": "http://localhost:8080"},
            [],
            "tour: base URL http://localhost:8080: 'localhost' is a name that only resolves on "
            "this machine or this network, so printed codes would not work for visitors; set "
            "TOUR_BASE_URL or base_url in tour.toml to the public address, or pass --allow-local "
            "for a test print",
        ),
        (
            {},
            ["--ecc", "X"],
            "tour qr: argument --ecc: invalid choice: 'X' (choose from 'L', 'M', 'Q', 'H') "
            "(see 'tour qr --help')",
        ),
    ],
)
def test_qr_bad_input_is_one_line(
    tmp_path: Path, env: dict[str, str], args: list[str], expected: str
) -> None:
    result = run_tour("--media", str(tmp_path), "qr", *args, env=env)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == expected + "\n"
    assert not (tmp_path / "qr").exists()


RESERVED_REASON = "is a name reserved for examples and tests (RFC 2606, RFC 6761)"
LOCAL_REASON = "is a name that only resolves on this machine or this network"


@pytest.mark.parametrize("command", ["qr", "plaques"])
@pytest.mark.parametrize(
    ("base_url", "host", "reason"),
    [
        ("", "penyengat.example", RESERVED_REASON),  # the bundled tour.toml's placeholder
        ("https://penyengat.test", "penyengat.test", RESERVED_REASON),
        ("https://penyengat.invalid", "penyengat.invalid", RESERVED_REASON),
        ("https://penyengat.localhost", "penyengat.localhost", LOCAL_REASON),
    ],
)
def test_reserved_names_are_refused_with_what_to_set(
    tmp_path: Path, command: str, base_url: str, host: str, reason: str
) -> None:
    result = run_tour("--media", str(tmp_path), command, env={"TOUR_BASE_URL": base_url})
    shown = base_url or "https://penyengat.example"
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"tour: base URL {shown}: '{host}' {reason}, so printed codes would not work for "
        "visitors; set TOUR_BASE_URL or base_url in tour.toml to the public address, or pass "
        "--allow-local for a test print\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_qr_command_prints_versions(tmp_path: Path) -> None:
    result = run_tour(
        "--media", str(tmp_path), "qr", "--allow-local", env={"TOUR_BASE_URL": PUBLIC}
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1] == (
        "masjid           version  4 (33 modules, level Q)  https://penyengat.example/s/masjid"
        "  written"
    )
    assert lines[-1] == f"14 QR codes in {tmp_path / 'qr'}: 14 changed"


def test_terminal_code_scans() -> None:
    url = "http://192.0.2.10:8080/"
    assert decode(rasterise_terminal(terminal_qr(url))) == [url]
