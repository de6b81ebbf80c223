"""Camera-like JPEGs for the photo tests: two colours, EXIF with GPS, XMP and a profile."""

from __future__ import annotations

from pathlib import Path

from PIL import ExifTags, Image, ImageCms

LEFT = (200, 30, 30)
"""The stored image's left half; orientation 6 turns it to the top."""
RIGHT = (30, 60, 200)
CAMERA_MODEL = "Penyengat-Test-Cam-7731"
"""A marker that must appear in no output file."""
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
    b'22-rdf-syntax-ns#"><rdf:Description photoshop:City="Xmp-Secret-Town"/></rdf:RDF>'
    b"</x:xmpmeta>"
)
GPS_LATITUDE = (0.0, 55.0, 46.5)
GPS_LONGITUDE = (104.0, 25.0, 13.25)


def camera_jpeg(path: Path, width: int = 1600, height: int = 1000, orientation: int = 6) -> Path:
    """Write a JPEG as a phone would: stored landscape, to be shown turned by `orientation`."""
    image = Image.new("RGB", (width, height), LEFT)
    image.paste(RIGHT, (width // 2, 0, width, height))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TestCam"
    exif[ExifTags.Base.Model] = CAMERA_MODEL
    exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = GPS_LATITUDE
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = GPS_LONGITUDE
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, "JPEG", quality=92, exif=exif, xmp=XMP, icc_profile=profile)
    return path
