"""Run a generated, photo-like test image through `tour photos` and print its file sizes.

Usage: .venv/bin/python scripts/photo_sizes.py [--keep DIR]

The image is drawn here: a sky gradient, hills and a strip of sea under grain at
several scales, like foliage and stone, with EXIF (a GPS position, a camera model) and
XMP. It is a test image, not a photo of Penyengat, and goes only into a temporary copy
of the bundled tour. The script prints the size of every file, checks that no metadata
survived, and exits 1 if the 480 px AVIF is over 40 KB.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
from pathlib import Path

from PIL import ExifTags, Image, ImageChops, ImageDraw, ImageFilter

from tour.catalog import load_tour
from tour.core.paths import bundled_stops_dir
from tour.photos.build import WIDTHS, build_photos
from tour.photos.manifest import load_photo_manifest, photos_dir

AVIF_480_BUDGET = 40 * 1024
PHOTO_TABLE = """
[[photos]]
file = "photos/test.jpg"
alt.id = "Gambar uji buatan komputer: langit, bukit dan laut"
alt.en = "A computer-generated test image: sky, hills and sea"
alt.zh = "计算机生成的测试图像：天空、山丘和大海"
credit = "Test image drawn by scripts/photo_sizes.py, not a photo of the site"
licence = "CC0"
"""


def grain(width: int, height: int) -> Image.Image:
    """Noise at several scales at once, as in leaves, bark, stone and water."""
    out = Image.new("L", (width, height), 128)
    for scale, strength in ((32, 0.5), (8, 0.35), (2, 0.25), (1, 0.12)):
        small = Image.effect_noise((max(1, width // scale), max(1, height // scale)), 60)
        layer = small.resize((width, height), Image.Resampling.BICUBIC)
        layer = layer.point(lambda value, s=strength: (value - 128) * s + 128)
        out = ImageChops.add(out, layer, scale=1.0, offset=-128)
    return out


def photo_like(width: int = 4000, height: int = 3000, seed: int = 7) -> Image.Image:
    """Draw a landscape: sky, three ranges of hills, a strip of sea, all under grain."""
    chooser = random.Random(seed)
    sky = Image.linear_gradient("L").resize((width, height))
    image = Image.merge(
        "RGB",
        (
            sky.point(lambda v: 90 + v * 0.5),
            sky.point(lambda v: 140 + v * 0.35),
            sky.point(lambda v: 230 - v * 0.3),
        ),
    )
    draw = ImageDraw.Draw(image)
    horizon = int(height * 0.6)
    for layer in range(3):
        base = horizon - height // 12 + layer * height // 25
        points = [(0, height)]
        points += [
            (x, base + chooser.randint(-height // 40, height // 40))
            for x in range(0, width + 60, 60)
        ]
        points.append((width, height))
        shade = 60 + layer * 25
        draw.polygon(points, fill=(shade // 2, shade, shade // 3))
    draw.rectangle((0, int(height * 0.82), width, height), fill=(40, 90, 120))
    image = image.filter(ImageFilter.GaussianBlur(2))
    return ImageChops.add(image, grain(width, height).convert("RGB"), scale=1.0, offset=-128)


def write_test_tour(folder: Path) -> Path:
    """Copy the bundled tour and give its mosque stop the test image, with camera metadata."""
    stops = folder / "stops"
    shutil.copytree(bundled_stops_dir(), stops)
    with (stops / "masjid-raya.toml").open("a", encoding="utf-8") as stop_file:
        stop_file.write(PHOTO_TABLE)
    exif = Image.Exif()
    exif[ExifTags.Base.Model] = "Test camera"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (0.0, 55.0, 46.5)
    (stops / "photos").mkdir(exist_ok=True)
    photo_like().save(stops / "photos" / "test.jpg", quality=92, exif=exif, xmp=b"<x:xmpmeta/>")
    return stops


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="write the test tour and media here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        folder = args.keep or Path(temporary)
        stops = write_test_tour(folder)
        media = folder / "media"
        report = build_photos(load_tour(stops), stops, media, progress=print)
        if not report.ok:
            return 1
        entry = load_photo_manifest(media).entries["photos/test.jpg"]
        print(f"source: 4000×3000 JPEG, {(stops / 'photos' / 'test.jpg').stat().st_size:,} bytes")
        print(f"{'width':>6} {'AVIF':>9} {'WebP':>9} {'JPEG':>9}")
        sizes = {(file.width, file.format): file.size for file in entry.files}
        for width in WIDTHS:
            row = [sizes[(width, extension)] for extension in ("avif", "webp", "jpg")]
            print(f"{width:>6} " + " ".join(f"{size / 1024:>6.1f} KB" for size in row))
        metadata = []
        for file in entry.files:
            data = (photos_dir(media) / file.file).read_bytes()
            with Image.open(photos_dir(media) / file.file) as image:
                if len(image.getexif()) or {"exif", "xmp", "icc_profile"} & set(image.info):
                    metadata.append(file.file)
            if b"Exif\x00\x00" in data or b"xmpmeta" in data:
                metadata.append(file.file)
        print(f"metadata (EXIF, GPS, XMP, ICC) in output files: {metadata or 'none'}")
        avif = sizes[(480, "avif")]
        print(f"480 px AVIF: {avif:,} bytes of a {AVIF_480_BUDGET:,}-byte budget")
        return 1 if metadata or avif > AVIF_480_BUDGET else 0


if __name__ == "__main__":
    sys.exit(main())
