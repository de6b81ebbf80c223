"""Stop photos: the checks, the build (formats, widths, no metadata), pages, serving, export."""

from __future__ import annotations

import io
import json
import re
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import html5lib
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from PIL import ExifTags, Image

from tour.catalog import SourceLines, check_tour, load_tour
from tour.catalog.stop_photos import MAX_PHOTO_PIXELS
from tour.core.errors import TourError
from tour.core.settings import Settings
from tour.export import site_files
from tour.photos.build import ENCODINGS, OFFLINE_WIDTH, PhotoError, build_photos, make_files
from tour.photos.manifest import (
    MEDIA_TYPES,
    OFFLINE_EXTENSION,
    load_photo_manifest,
    photo_manifest_path,
    photos_dir,
)
from tour.render.links import PATH_LINKS
from tour.render.offline import offline_assets
from tour.render.site import read_manifest, read_photo_manifest, render_site
from tour.web import create_app

from .conftest import AiohttpClient
from .photo_files import CAMERA_MODEL, LEFT, RIGHT, XMP, camera_jpeg

Client = TestClient[web.Request, web.Application]
XHTML = "{http://www.w3.org/1999/xhtml}"


def photo_table(file: str, alt_en: str | None = "A red and blue wall", extra: str = "") -> str:
    alt = f'alt.en = "{alt_en}"\n' if alt_en is not None else ""
    return (
        f'\n[[photos]]\nfile = "{file}"\nalt.id = "Dinding merah dan biru"\n{alt}'
        f'credit = "Test Photographer"\nlicence = "CC BY-SA 4.0"\n{extra}'
    )


def add_photos(stops: Path, stop_id: str, *tables: str) -> None:
    path = stops / f"{stop_id}.toml"
    path.write_text(path.read_text("utf-8") + "".join(tables), "utf-8")


@pytest.fixture
def photo_tour(small_tour: Path) -> Path:
    """The small tour with two photos at alpha: a turned phone photo and a landscape one."""
    camera_jpeg(small_tour / "photos" / "front.jpg")  # 1600×1000 stored, shown 1000×1600
    camera_jpeg(small_tour / "photos" / "side.jpg", 2000, 1200, orientation=1)
    add_photos(small_tour, "alpha", photo_table("photos/front.jpg"), photo_table("photos/side.jpg"))
    return small_tour


@pytest.fixture
def photo_media(photo_tour: Path, tmp_path: Path) -> Path:
    media = tmp_path / "media"
    report = build_photos(load_tour(photo_tour), photo_tour, media)
    assert report.ok, report.failed
    assert sorted(report.built) == ["photos/front.jpg", "photos/side.jpg"]
    return media


# --- tour check ----------------------------------------------------------------------------


def line_of(path: Path, text: str, occurrence: int = 0) -> int:
    """The line number of the `occurrence`-th line of `path` that starts with `text`."""
    numbers = [
        number
        for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1)
        if line.startswith(text)
    ]
    return numbers[occurrence]


def problems_of(stops: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.chdir(stops.parent)  # problems name files relative to the working folder
    tour, problems = check_tour(stops)
    assert tour is None
    return [str(problem) for problem in problems]


def test_photos_are_read_into_the_model(photo_tour: Path) -> None:
    alpha = load_tour(photo_tour).stop_by_id("alpha")
    assert alpha is not None
    assert [photo.file for photo in alpha.photos] == ["photos/front.jpg", "photos/side.jpg"]
    assert dict(alpha.photos[0].alt) == {
        "id": "Dinding merah dan biru",
        "en": "A red and blue wall",
    }
    assert (alpha.photos[0].credit, alpha.photos[0].licence) == (
        "Test Photographer",
        "CC BY-SA 4.0",
    )


def test_check_names_each_bad_photo_at_its_line(
    small_tour: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    camera_jpeg(small_tour / "photos" / "good.jpg")
    # Stored 1600×700 but turned a quarter: shown 700 px wide.
    camera_jpeg(small_tour / "photos" / "narrow.jpg", 1600, 700, orientation=6)
    (small_tour / "photos" / "notes.jpg").write_text("not an image", "utf-8")
    add_photos(
        small_tour,
        "alpha",
        photo_table("photos/good.jpg"),
        photo_table("photos/missing.jpg"),
        photo_table("photos/good.jpg", alt_en=None),
        photo_table("photos/narrow.jpg"),
        photo_table("photos/notes.jpg"),
        photo_table("/etc/passwd"),
        photo_table("photos/../../outside.jpg"),
        photo_table("photos/good.jpg", extra='lisence = "CC0"\n'),
    )
    alpha = small_tour / "alpha.toml"
    assert problems_of(small_tour, monkeypatch) == [
        f"stops/alpha.toml:{line_of(alpha, 'file =', 1)}: photos[2].file: 'photos/missing.jpg' "
        "does not exist in stops; check the name, or add the photo",
        f"stops/alpha.toml:{line_of(alpha, 'alt.id', 2)}: photos[3].alt.en: missing the 'en' alt "
        "text; every photo needs one in each tour language (id, en)",
        f"stops/alpha.toml:{line_of(alpha, 'file =', 3)}: photos[4].file: 'photos/narrow.jpg' "
        "is 700 px wide; use an original at least 800 px wide, so it stays sharp on phones",
        f"stops/alpha.toml:{line_of(alpha, 'file =', 4)}: photos[5].file: 'photos/notes.jpg' "
        "cannot be read as an image (UnidentifiedImageError); save it as JPEG, PNG, WebP or AVIF",
        f"stops/alpha.toml:{line_of(alpha, 'file =', 5)}: photos[6].file: '/etc/passwd' is "
        "outside the stops folder; give a path relative to it, such as photos/masjid-front.jpg",
        f"stops/alpha.toml:{line_of(alpha, 'file =', 6)}: photos[7].file: "
        "'photos/../../outside.jpg' is outside the stops folder; give a path relative to it, "
        "such as photos/masjid-front.jpg",
        f"stops/alpha.toml:{line_of(alpha, 'lisence', 0)}: photos[8].lisence: unknown field; "
        "did you mean 'licence'?",
    ]


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares `width`×`height` pixels but holds almost none: a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0\0"))
        + chunk(b"IEND", b"")
    )


def test_check_accepts_only_web_photo_formats_and_a_pixel_limit(
    small_tour: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = small_tour / "photos"
    folder.mkdir()
    for name, pillow_format in (("plan.gif", "GIF"), ("plan.bmp", "BMP")):
        Image.new("RGB", (900, 600), "red").save(folder / name, pillow_format)
    # An EPS header is enough for Pillow to read its size, and to run Ghostscript on load.
    (folder / "plan.eps").write_text(
        "%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 900 600\nshowpage\n", "ascii"
    )
    height = MAX_PHOTO_PIXELS // 1000 + 1
    (folder / "huge.png").write_bytes(png_header(1000, height))
    names = ["plan.gif", "plan.bmp", "plan.eps", "huge.png"]
    add_photos(small_tour, "alpha", *(photo_table(f"photos/{name}") for name in names))
    alpha = small_tour / "alpha.toml"
    unreadable = (
        "cannot be read as an image (UnidentifiedImageError); save it as JPEG, PNG, WebP or AVIF"
    )
    assert problems_of(small_tour, monkeypatch) == [
        f"stops/alpha.toml:{line_of(alpha, 'file =', 0)}: photos[1].file: 'photos/plan.gif' "
        + unreadable,
        f"stops/alpha.toml:{line_of(alpha, 'file =', 1)}: photos[2].file: 'photos/plan.bmp' "
        + unreadable,
        f"stops/alpha.toml:{line_of(alpha, 'file =', 2)}: photos[3].file: 'photos/plan.eps' "
        + unreadable,
        f"stops/alpha.toml:{line_of(alpha, 'file =', 3)}: photos[4].file: 'photos/huge.png' "
        "has too many pixels to decode safely; scale it down below 80 megapixels",
    ]


def test_a_photo_over_the_pixel_limit_fails_its_build_with_one_line(tmp_path: Path) -> None:
    source = png_header(1000, MAX_PHOTO_PIXELS // 1000 + 1)
    with pytest.raises(PhotoError) as caught:
        make_files(source, "0" * 16, tmp_path)
    assert str(caught.value) == (
        "has too many pixels to decode safely; scale it down below 80 megapixels"
    )
    assert list(tmp_path.iterdir()) == []


def test_check_requires_credit_and_licence(
    small_tour: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    camera_jpeg(small_tour / "photos" / "good.jpg")
    add_photos(
        small_tour,
        "alpha",
        '\n[[photos]]\nfile = "photos/good.jpg"\nalt.id = "Dinding"\nalt.en = "Wall"\n',
    )
    header = line_of(small_tour / "alpha.toml", "[[photos]]")
    assert problems_of(small_tour, monkeypatch) == [
        f'stops/alpha.toml:{header}: photos[1].credit: missing; add credit = "<who took the '
        'photo>"',
        f'stops/alpha.toml:{header}: photos[1].licence: missing; add licence = "<such as CC '
        'BY-SA 4.0>"',
    ]


def test_entry_lines_follow_each_array_table() -> None:
    lines = SourceLines(
        '[[photos]]\nfile = "a.jpg"\n\n[[photos]]\ncredit = "x"\nalt.en = "y"\n'
        '[photos.alt]\nid = "z"\n[location]\nlat = 1\n'
    )
    assert lines.entry_line(("photos",), 0, "file") == 2
    assert lines.entry_line(("photos",), 1, "file") == 4  # missing: the table's header
    assert lines.entry_line(("photos",), 1, "alt", "en") == 6
    assert lines.entry_line(("photos",), 1, "alt", "id") == 8
    assert lines.entry_line(("photos",), 1, "lat") == 4  # [location] is not part of it


# --- tour photos ---------------------------------------------------------------------------


def output_files(media: Path) -> list[Path]:
    """Everything in the photos folder but the manifest and the build lock."""
    skipped = {"manifest.json", ".build.lock"}
    return sorted(path for path in photos_dir(media).iterdir() if path.name not in skipped)


def test_every_file_is_upright_decodable_and_free_of_metadata(photo_media: Path) -> None:
    with Image.open(camera_jpeg(photo_media.parent / "source.jpg")) as source:
        # The test is worth something only if the source carries what must be removed.
        assert source.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        assert {"exif", "xmp", "icc_profile"} <= set(source.info)
    entry = load_photo_manifest(photo_media).entries["photos/front.jpg"]
    assert (entry.width, entry.height) == (1000, 1600)  # the portrait photo stays portrait
    formats = {"avif": "AVIF", "webp": "WEBP", "jpg": "JPEG"}
    assert entry.files
    for file in entry.files:
        data = (photos_dir(photo_media) / file.file).read_bytes()
        assert len(data) == file.size
        image = Image.open(io.BytesIO(data))
        image.load()
        assert image.format == formats[file.format]
        assert image.size == (file.width, file.height)
        assert image.height > image.width
        assert len(image.getexif()) == 0
        assert not {"exif", "xmp", "XML:com.adobe.xmp", "icc_profile"} & set(image.info)
        for marker in (b"Exif\x00\x00", CAMERA_MODEL.encode(), XMP[:20], b"Xmp-Secret-Town"):
            assert marker not in data, (file.file, marker)
        # Orientation 6 turns the stored left half to the top.
        rgb = image.convert("RGB")
        top = rgb.getpixel((image.width // 2, image.height // 8))
        bottom = rgb.getpixel((image.width // 2, image.height * 7 // 8))
        assert isinstance(top, tuple)
        assert isinstance(bottom, tuple)
        assert max(abs(a - b) for a, b in zip(top, LEFT, strict=True)) < 12, top
        assert max(abs(a - b) for a, b in zip(bottom, RIGHT, strict=True)) < 12, bottom


def test_widths_are_never_upscaled(photo_media: Path) -> None:
    entries = load_photo_manifest(photo_media).entries
    widths = {name: sorted({file.width for file in entry.files}) for name, entry in entries.items()}
    assert widths == {"photos/front.jpg": [480, 960, 1000], "photos/side.jpg": [480, 960, 1440]}
    for entry in entries.values():
        assert sorted(file.format for file in entry.files) == sorted(["avif", "webp", "jpg"] * 3)


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {path.name: (path.stat().st_ino, path.stat().st_mtime_ns) for path in folder.iterdir()}


def test_a_second_build_writes_nothing(photo_tour: Path, photo_media: Path) -> None:
    before = snapshot(photos_dir(photo_media))
    report = build_photos(load_tour(photo_tour), photo_tour, photo_media)
    assert (report.built, sorted(report.kept), report.removed) == (
        [],
        ["photos/front.jpg", "photos/side.jpg"],
        [],
    )
    assert snapshot(photos_dir(photo_media)) == before


def test_changed_and_removed_photos_leave_no_old_files(photo_tour: Path, photo_media: Path) -> None:
    old = load_photo_manifest(photo_media).entries
    camera_jpeg(photo_tour / "photos" / "front.jpg", 1800, 1200, orientation=1)
    alpha = photo_tour / "alpha.toml"
    text = alpha.read_text("utf-8")
    alpha.write_text(text[: text.rindex("[[photos]]")], "utf-8")  # side.jpg is dropped
    report = build_photos(load_tour(photo_tour), photo_tour, photo_media)
    assert report.built == ["photos/front.jpg"]
    assert sorted(report.removed) == sorted(
        file.file for entry in old.values() for file in entry.files
    )
    manifest = load_photo_manifest(photo_media)
    assert list(manifest.entries) == ["photos/front.jpg"]
    assert manifest.entries["photos/front.jpg"].hash != old["photos/front.jpg"].hash
    assert [path.name for path in output_files(photo_media)] == sorted(manifest.files())


def test_a_photo_manifest_naming_a_file_outside_the_photo_folder_is_damaged(
    photo_media: Path,
) -> None:
    path = photo_manifest_path(photo_media)
    data = json.loads(path.read_text("utf-8"))
    data["entries"]["photos/front.jpg"]["files"][0]["file"] = "../../evil.jpg"
    path.write_text(json.dumps(data), "utf-8")
    with pytest.raises(TourError) as caught:
        load_photo_manifest(photo_media)
    assert str(caught.value) == (
        f"{path}: the photo manifest cannot be read (photos/front.jpg names the file "
        "'../../evil.jpg', which no build writes); run 'tour photos' to rebuild it"
    )


def test_tour_photos_command_reports_each_file_and_fails_on_a_damaged_photo(
    photo_tour: Path, tmp_path: Path
) -> None:
    media = tmp_path / "media"
    command = [sys.executable, "-m", "tour", "--stops", str(photo_tour), "--media", str(media)]
    first = subprocess.run([*command, "photos"], capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert sorted(line.split(":")[0] for line in lines[:2]) == [
        "built photos/front.jpg",
        "built photos/side.jpg",
    ]
    assert lines[2].startswith("photos: 2 built, 0 kept, 0 failed, 0 old file(s) removed in ")
    # The header still reads, so `tour check` passes; the pixels are cut off half-way.
    side = photo_tour / "photos" / "side.jpg"
    side.write_bytes(side.read_bytes()[:4000])
    second = subprocess.run([*command, "photos"], capture_output=True, text=True, timeout=300)
    assert second.returncode == 1
    assert second.stdout.splitlines()[-1].startswith("photos: 0 built, 1 kept, 1 failed")
    assert second.stderr.startswith("failed: photos/side.jpg: cannot be decoded (OSError: ")
    assert len(second.stderr.splitlines()) == 1
    assert "Traceback" not in second.stderr


# --- pages, tour.json, serving, export -----------------------------------------------------


@pytest.fixture
def photo_settings(photo_tour: Path, photo_media: Path, tmp_path: Path) -> Settings:
    return Settings(stops_dir=photo_tour, media_dir=photo_media, db_path=tmp_path / "tour.db")


@pytest.fixture
async def photo_client(aiohttp_client: AiohttpClient, photo_settings: Settings) -> Client:
    return await aiohttp_client(create_app(photo_settings))


async def test_the_page_shows_the_first_photo_under_the_title_and_the_rest_in_a_strip(
    photo_client: Client, photo_media: Path
) -> None:
    response = await photo_client.get("/en/alpha")
    assert response.status == 200
    page = await response.text()
    document = html5lib.parse(page)
    entries = load_photo_manifest(photo_media).entries
    figures = document.findall(f".//{XHTML}figure")
    lead = figures[0]
    assert lead.get("class") == "photo"
    main = document.find(f".//{XHTML}main")
    assert main is not None
    children = [child.tag.removeprefix(XHTML) for child in main]
    assert children[children.index("h1") + 2] == "figure"  # after the title and its other name
    sources = lead.findall(f".//{XHTML}source")
    front = entries["photos/front.jpg"]
    for source, extension in zip(sources, ("avif", "webp"), strict=True):
        assert source.get("type") == f"image/{extension}"
        assert source.get("srcset") == ", ".join(
            f"/media/photos/{file.file} {file.width}w" for file in front.versions(extension)
        )
        assert source.get("sizes") == "(min-width: 40rem) 38rem, calc(100vw - 2rem)"
    image = lead.find(f".//{XHTML}img")
    assert image is not None
    assert image.get("src") == f"/media/photos/{front.hash}-960.jpg"
    assert image.get("srcset") == ", ".join(
        f"/media/photos/{file.file} {file.width}w" for file in front.versions("jpg")
    )
    assert (image.get("width"), image.get("height")) == ("1000", "1600")
    assert image.get("alt") == "A red and blue wall"
    assert image.get("fetchpriority") == "low"
    assert image.get("loading") is None  # in the first screen on a phone: not lazy
    caption = lead.find(f"{XHTML}figcaption")
    assert caption is not None
    assert caption.text == "Test Photographer · CC BY-SA 4.0"
    strip = document.find(f".//{XHTML}ul[@class='strip']")
    assert strip is not None
    strip_image = strip.find(f".//{XHTML}img")
    assert strip_image is not None
    assert strip_image.get("loading") == "lazy"
    assert strip_image.get("sizes") == f"{round(192 * 1440 / 864)}px"
    assert (strip_image.get("width"), strip_image.get("height")) == ("1440", "864")
    indonesian = await (await photo_client.get("/id/alpha")).text()
    assert 'alt="Dinding merah dan biru"' in indonesian
    beta = await (await photo_client.get("/en/beta")).text()
    assert "<picture>" not in beta


async def test_saving_the_tour_counts_and_lists_each_photo_at_480_px(
    photo_client: Client, photo_media: Path
) -> None:
    entries = load_photo_manifest(photo_media).entries
    document = await (await photo_client.get("/api/tour.json")).json()
    alpha = document["stops"][0]
    saved = [(photo["path"], photo["size"]) for photo in alpha["photos"]]
    expected = []
    for name in ("photos/front.jpg", "photos/side.jpg"):
        offline = entries[name].offline
        assert (offline.width, offline.format) == (OFFLINE_WIDTH, OFFLINE_EXTENSION)
        expected.append((f"/media/photos/{offline.file}", offline.size))
    assert saved == expected
    assert document["stops"][1]["photos"] == []
    # The button announces narration and photos together (no narration built here).
    page = await (await photo_client.get("/en/alpha")).text()
    megabytes = f"{sum(size for _, size in expected) / 1_000_000:.1f} MB"
    assert re.search(rf'id="save-tour">[^<]*\({re.escape(megabytes)}\)</button>', page)


def test_the_service_worker_finds_the_saved_version_of_any_photo_file(
    photo_settings: Settings,
) -> None:
    tour = load_tour(photo_settings.stops_dir)
    site = render_site(
        tour,
        read_manifest(photo_settings.media_dir),
        photo_settings.media_dir,
        PATH_LINKS,
        read_photo_manifest(photo_settings.media_dir),
    )
    worker = offline_assets(tour, site.pages, site.api, [])["/sw.js"].body.decode()
    assert f"-{OFFLINE_WIDTH}.{OFFLINE_EXTENSION}`" in worker


async def test_photo_files_are_served_by_manifest_name_with_immutable_caching(
    photo_client: Client, photo_media: Path
) -> None:
    files = load_photo_manifest(photo_media).entries["photos/side.jpg"].files
    assert files
    for file in files:
        response = await photo_client.get(f"/media/photos/{file.file}")
        assert response.status == 200
        assert await response.read() == (photos_dir(photo_media) / file.file).read_bytes()
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        expected = {"avif": "image/avif", "webp": "image/webp", "jpg": "image/jpeg"}
        assert response.headers["Content-Type"] == expected[file.format]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    (photos_dir(photo_media) / "stray.jpg").write_bytes(b"not listed")
    for name in ("manifest.json", ".build.lock", "stray.jpg", "..%2Fmanifest.json"):
        assert (await photo_client.get(f"/media/photos/{name}")).status == 404


def test_the_export_includes_every_photo_file(photo_settings: Settings) -> None:
    exported = {path: content for path, content in site_files(photo_settings, None)}
    manifest = load_photo_manifest(photo_settings.media_dir)
    photo_paths = {path for path in exported if path.startswith("media/photos/")}
    assert photo_paths == {f"media/photos/{name}" for name in manifest.files()}
    assert photo_paths
    for path in photo_paths:
        content = exported[path]
        assert isinstance(content, Path)
        assert (
            content.read_bytes()
            == (photos_dir(photo_settings.media_dir) / Path(path).name).read_bytes()
        )
    assert json.loads(photo_manifest_path(photo_settings.media_dir).read_text())["version"] == 1


def test_a_photo_manifest_entry_without_a_jpeg_is_damaged(photo_media: Path) -> None:
    path = photo_manifest_path(photo_media)
    data = json.loads(path.read_text("utf-8"))
    entry = data["entries"]["photos/front.jpg"]
    entry["files"] = [file for file in entry["files"] if not file["file"].endswith(".jpg")]
    path.write_text(json.dumps(data), "utf-8")
    with pytest.raises(TourError) as caught:
        load_photo_manifest(photo_media)
    assert str(caught.value) == (
        f"{path}: the photo manifest cannot be read (photos/front.jpg has no JPEG); "
        "run 'tour photos' to rebuild it"
    )


def test_every_format_a_build_writes_has_its_media_type() -> None:
    assert (
        {encoding.extension for encoding in ENCODINGS}
        == set(MEDIA_TYPES)
        == {
            "avif",
            "webp",
            "jpg",
        }
    )
