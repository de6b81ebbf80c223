"""QR codes for the plaques: payloads, the smallest symbol that fits, SVG and PNG files."""

from __future__ import annotations

import io
import ipaddress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import qrcode
import qrcode.constants
from qrcode.exceptions import DataOverflowError

from tour.core.errors import TourError
from tour.core.files import write_if_changed
from tour.core.model import Stop, Tour

QUIET_ZONE_MODULES = 4
MAX_VERSION = 10
"""Past version 10 (57 modules) a plaque code gets dense; shorten the base URL instead."""
PNG_PIXELS_PER_MODULE = 10
QR_DIR = "qr"
# Names no one can register (RFC 2606, RFC 6761), like the bundled tour's placeholder
# https://penyengat.example: a plaque printed with one leads nowhere. `localhost` is
# refused with the names of this machine and network, as are the names kept for home
# and private networks (home.arpa, RFC 8375; .internal).
RESERVED_TOP_LEVEL = frozenset({"example", "test", "invalid"})
PRIVATE_NAMES = ("home.arpa", "internal")
EXAMPLE_DOMAINS = ("example.com", "example.net", "example.org")

_LEVELS = {
    "L": qrcode.constants.ERROR_CORRECT_L,
    "M": qrcode.constants.ERROR_CORRECT_M,
    "Q": qrcode.constants.ERROR_CORRECT_Q,
    "H": qrcode.constants.ERROR_CORRECT_H,
}


class QrError(TourError):
    """A QR code cannot be made as asked."""


@dataclass(frozen=True, slots=True)
class QrCode:
    payload: str
    level: str
    version: int
    matrix: tuple[tuple[bool, ...], ...]
    """Dark (True) and light modules of the symbol, without the quiet zone."""

    @property
    def modules(self) -> int:
        """Modules along one side of the symbol, without the quiet zone."""
        return len(self.matrix)

    @property
    def modules_with_quiet_zone(self) -> int:
        return self.modules + 2 * QUIET_ZONE_MODULES


def local_address_reason(base_url: str) -> str | None:
    """Say why `base_url` cannot reach visitors' phones, or None if it is public."""
    host = (urlsplit(base_url).hostname or "").lower().rstrip(".")
    private = any(host == name or host.endswith(f".{name}") for name in PRIVATE_NAMES)
    if host == "localhost" or host.endswith((".localhost", ".local")) or private:
        return f"'{host}' is a name that only resolves on this machine or this network"
    if host.rsplit(".", 1)[-1] in RESERVED_TOP_LEVEL or any(
        host == domain or host.endswith(f".{domain}") for domain in EXAMPLE_DOMAINS
    ):
        return f"'{host}' is a name reserved for examples and tests (RFC 2606, RFC 6761)"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if address.is_loopback:
        return f"{host} is a loopback address: it points at whichever phone scans it"
    if address.is_private or address.is_link_local:
        return f"{host} is a private address: it cannot be reached from visitors' phones"
    return None


def payload_for(base_url: str, stop: Stop) -> str:
    return f"{base_url}/s/{stop.code}"


def make_qr(payload: str, level: str = "Q", max_version: int = MAX_VERSION) -> QrCode:
    """Encode `payload` in the smallest QR version that fits at error correction `level`."""
    if level not in _LEVELS:
        raise QrError(f"'{level}' is not a QR error correction level; use L, M, Q or H")
    code = qrcode.QRCode(error_correction=_LEVELS[level], border=0)
    code.add_data(payload)
    try:
        code.make(fit=True)
        too_large = code.version > max_version
    except DataOverflowError:  # beyond even version 40
        too_large = True
    if too_large:
        shown = payload if len(payload) <= 60 else payload[:57] + "..."
        raise QrError(
            f"'{shown}' ({len(payload)} characters) needs a QR version above {max_version} "
            f"at level {level}; use a shorter base URL or shorter stop codes"
        )
    matrix = tuple(tuple(bool(cell) for cell in row) for row in code.get_matrix())
    return QrCode(payload=payload, level=level, version=code.version, matrix=matrix)


def dark_runs(qr: QrCode) -> list[tuple[int, int, int]]:
    """Return (x, y, length) runs of dark modules per row, in symbol coordinates."""
    runs = []
    for y, row in enumerate(qr.matrix):
        x = 0
        while x < len(row):
            if row[x]:
                start = x
                while x < len(row) and row[x]:
                    x += 1
                runs.append((start, y, x - start))
            else:
                x += 1
    return runs


def qr_svg(qr: QrCode) -> bytes:
    """Draw the code as one vector path, with its quiet zone, scalable to any print size."""
    side = qr.modules_with_quiet_zone
    offset = QUIET_ZONE_MODULES
    path = "".join(
        f"M{x + offset} {y + offset}h{length}v1h-{length}z" for x, y, length in dark_runs(qr)
    )
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {side} {side}" '
        f'shape-rendering="crispEdges">'
        f"<title>{_xml_escape(qr.payload)}</title>"
        f'<rect width="{side}" height="{side}" fill="#fff"/>'
        f'<path d="{path}" fill="#000"/></svg>\n'
    )
    return svg.encode("utf-8")


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def qr_png(qr: QrCode, pixels_per_module: int = PNG_PIXELS_PER_MODULE) -> bytes:
    """Draw the code as a black-and-white PNG with its quiet zone."""
    from PIL import Image, ImageDraw

    side = qr.modules_with_quiet_zone * pixels_per_module
    image = Image.new("1", (side, side), 1)
    draw = ImageDraw.Draw(image)
    for x, y, length in dark_runs(qr):
        left = (x + QUIET_ZONE_MODULES) * pixels_per_module
        top = (y + QUIET_ZONE_MODULES) * pixels_per_module
        draw.rectangle(
            (left, top, left + length * pixels_per_module - 1, top + pixels_per_module - 1),
            fill=0,
        )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def refuse_local(base_url: str, allow_local: bool) -> None:
    reason = local_address_reason(base_url)
    if reason and not allow_local:
        raise QrError(
            f"base URL {base_url}: {reason}, so printed codes would not work for visitors; "
            "set TOUR_BASE_URL or base_url in tour.toml to the public address, "
            "or pass --allow-local for a test print"
        )


@dataclass(frozen=True, slots=True)
class QrFile:
    stop: Stop
    qr: QrCode
    written: tuple[str, ...]
    """The files that changed; empty when both were already up to date."""


def tour_codes(tour: Tour, base_url: str, level: str | None = None) -> list[tuple[Stop, QrCode]]:
    """Make every stop's code; fail on the first that does not fit, naming it."""
    chosen = level or tour.qr_error_correction
    return [(stop, make_qr(payload_for(base_url, stop), chosen)) for stop in tour.stops]


def write_qr_codes(
    tour: Tour,
    media_dir: Path,
    base_url: str,
    *,
    level: str | None = None,
    allow_local: bool = False,
) -> list[QrFile]:
    """Write media/qr/<code>.svg and .png for every stop, rewriting only what changed."""
    refuse_local(base_url, allow_local)
    folder = media_dir / QR_DIR
    results = []
    for stop, qr in tour_codes(tour, base_url, level):
        written: list[str] = []
        for suffix, data in ((".svg", qr_svg(qr)), (".png", qr_png(qr))):
            path = folder / f"{stop.code}{suffix}"
            if write_if_changed(path, data):
                written.append(path.name)
        results.append(QrFile(stop=stop, qr=qr, written=tuple(written)))
    return results


def terminal_qr(text: str) -> str:
    """Render `text` as a QR code in terminal block characters, for a phone to scan."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_L, border=2)
    code.add_data(text)
    code.make(fit=True)
    buffer = io.StringIO()
    code.print_ascii(out=buffer, invert=True)
    return buffer.getvalue()
