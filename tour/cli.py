"""The `tour` command: thin wrappers over the library, one clear line per error."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import socket
import sqlite3
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from tour.catalog import QR_LEVELS, CatalogError, check_tour, load_tour
from tour.core.errors import TourError
from tour.core.settings import Settings, apply_settings
from tour.printing.qr import QR_DIR, terminal_qr, write_qr_codes
from tour.scans.stats import format_report, to_csv
from tour.scans.store import DailyCount, daily_counts, days_back, reading
from tour.staff.accounts import ROLES, check_name
from tour.staff.command import FIRST_ADMIN_HINT, read_password, staff_command, staff_exists
from tour.voice.narration import build_narration
from tour.voice.speech import ENGINES, choose_voice


class ArgumentParser(argparse.ArgumentParser):
    """Report bad options as one line with a hint, and exit 1 like any other bad input."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(1, f"{self.prog}: {message} (see '{self.prog} --help')\n")


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="tour",
        description="Build and serve the Pulau Penyengat QR audio tour.",
    )
    parser.add_argument(
        "--stops", type=Path, metavar="DIR", help="the tour folder (default: the bundled tour)"
    )
    parser.add_argument(
        "--media", type=Path, metavar="DIR", help="generated files (default: ./media)"
    )
    parser.add_argument(
        "--db", type=Path, metavar="PATH", help="scan database (default: ./var/tour.sqlite3)"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    commands.add_parser("check", help="validate every stop file")

    audio = commands.add_parser("audio", help="build the narration that is missing or changed")
    audio.add_argument(
        "--engine",
        choices=ENGINES,
        default="auto",
        help="the voice: gtts (Google, online), espeak (offline), or auto (gtts when reachable)",
    )
    audio.add_argument(
        "--stop", action="append", default=[], metavar="ID", help="only this stop (repeatable)"
    )
    audio.add_argument(
        "--lang", action="append", default=[], metavar="CODE", help="only this language"
    )
    audio.add_argument("--force", action="store_true", help="rebuild even unchanged audio")

    photos = commands.add_parser(
        "photos", help="write each stop photo as AVIF, WebP and JPEG to media/photos/"
    )
    photos.add_argument("--force", action="store_true", help="rebuild even unchanged photos")

    qr = commands.add_parser("qr", help="write the QR codes to media/qr/<code>.svg and .png")
    add_qr_options(qr)

    plaques = commands.add_parser("plaques", help="check the print, then write the plaques PDF")
    plaques.add_argument(
        "--out", type=Path, metavar="PDF", help="where to write (default: MEDIA/plaques.pdf)"
    )
    plaques.add_argument(
        "--size", default="a6", metavar="a6|a5|a4", help="plaque page size (default: a6)"
    )
    add_qr_options(plaques)

    serve = commands.add_parser("serve", help="run the web service")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=port_number, default=8080, help="port to listen on")
    serve.add_argument(
        "--no-scan-log", action="store_true", help="do not count scans (to measure its cost)"
    )
    serve.add_argument("--engine", choices=ENGINES, default="auto", help="voice for /admin")

    export = commands.add_parser("export", help="write the whole tour as a static site")
    export.add_argument("out", type=Path, metavar="DIR", help="the folder to write")
    export.add_argument(
        "--scan-endpoint",
        metavar="URL",
        help="a running tour serve's /api/scan, to count scans of the static site; that "
        "server must list this site's origin in scan_beacon_origins or TOUR_SCAN_ORIGINS",
    )

    add_staff_commands(commands)

    stats = commands.add_parser("stats", help="print scan figures")
    stats.add_argument(
        "--days", type=day_count, default=30, metavar="N", help="the last N days (default 30)"
    )
    stats.add_argument(
        "--csv", action="store_true", help="one row per day, stop and language, for a spreadsheet"
    )
    return parser


def add_staff_commands(commands: argparse._SubParsersAction[ArgumentParser]) -> None:
    staff = commands.add_parser("staff", help="manage the staff accounts of the /admin pages")
    actions = staff.add_subparsers(dest="staff_command", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="add an account (the password is asked for)")
    add.add_argument("name", help="login name: 1-32 of a-z, 0-9, '.', '_', '-'")
    add.add_argument("--role", required=True, choices=ROLES, help="what the account may do")
    actions.add_parser("list", help="list the accounts")
    passwd = actions.add_parser("passwd", help="set a new password; ends that person's sessions")
    passwd.add_argument("name")
    remove = actions.add_parser("remove", help="remove an account; ends its sessions")
    remove.add_argument("name")


def add_qr_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ecc",
        choices=QR_LEVELS,
        help="QR error correction (default: tour.toml's, Q); H for exposed plaques",
    )
    parser.add_argument(
        "--allow-local",
        action="store_true",
        help="allow a base URL on this machine, a private network or a reserved example name "
        "(such as the bundled tour's https://penyengat.example), for a test print",
    )


def day_count(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of days; use 1-3650") from None
    if not 1 <= days <= 3650:
        raise argparse.ArgumentTypeError(f"{days} is out of range; use 1-3650")
    return days


def port_number(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a port number; use 1-65535") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is out of range; use 1-65535")
    return port


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings.from_env(stops_dir=args.stops, media_dir=args.media, db_path=args.db)


def run_check(settings: Settings) -> int:
    tour, problems = check_tour(settings.stops_dir)
    if tour is None:
        for problem in problems:
            print(problem)
        print(f"{len(problems)} problem(s) found; fix them and run 'tour check' again.")
        return 1
    print(
        f"ok: {len(tour.stops)} stops in {len(tour.languages)} languages "
        f"({', '.join(tour.languages)}), default {tour.default_language}"
    )
    return 0


def run_audio(settings: Settings, args: argparse.Namespace) -> int:
    tour = load_tour(settings.stops_dir)
    voice, why = choose_voice(args.engine)
    print(f"voice: {why}", flush=True)
    started = time.monotonic()
    report = build_narration(
        tour,
        settings.media_dir,
        voice,
        stops=args.stop,
        langs=args.lang,
        force=args.force,
        progress=lambda line: print(line, flush=True),
    )
    print(f"{report.summary()} in {time.monotonic() - started:.2f} s")
    for label, reason in report.failed:
        print(f"failed: {label}: {reason}", file=sys.stderr)
    return 0 if report.ok else 1


def run_photos(settings: Settings, force: bool) -> int:
    from tour.photos.build import build_photos  # Pillow's encoders load only for this command

    tour = load_tour(settings.stops_dir)
    started = time.monotonic()
    report = build_photos(
        tour,
        settings.stops_dir,
        settings.media_dir,
        force=force,
        progress=lambda line: print(line, flush=True),
    )
    print(f"{report.summary()} in {time.monotonic() - started:.2f} s")
    for name, reason in report.failed:
        print(f"failed: {name}: {reason}", file=sys.stderr)
    return 0 if report.ok else 1


def run_qr(settings: Settings, args: argparse.Namespace) -> int:
    tour = apply_settings(load_tour(settings.stops_dir), settings)
    files = write_qr_codes(
        tour, settings.media_dir, tour.base_url, level=args.ecc, allow_local=args.allow_local
    )
    for item in files:
        state = "written" if item.written else "unchanged"
        print(
            f"{item.stop.code:<16} version {item.qr.version:>2} ({item.qr.modules} modules, "
            f"level {item.qr.level})  {item.qr.payload}  {state}"
        )
    changed = sum(1 for item in files if item.written)
    print(f"{len(files)} QR codes in {settings.media_dir / QR_DIR}: {changed} changed")
    return 0


def run_plaques(settings: Settings, args: argparse.Namespace) -> int:
    # reportlab is large: load it only for the command that draws PDFs.
    from tour.printing.plaques import write_plaques

    tour = apply_settings(load_tour(settings.stops_dir), settings)
    out = args.out or settings.media_dir / "plaques.pdf"
    report = write_plaques(
        tour, tour.base_url, out, args.size, level=args.ecc, allow_local=args.allow_local
    )
    smallest = min(report.checks, key=lambda check: check.module_mm)
    versions = sorted({check.qr.version for check in report.checks})
    print(
        f"print check ({report.size.upper()}): QR versions {', '.join(map(str, versions))}; "
        f"smallest code {smallest.symbol_mm:.1f} mm ({smallest.stop.id}), "
        f"module {smallest.module_mm:.2f} mm, scans from about {smallest.scan_distance_m:.2f} m"
    )
    for warning in report.warnings:
        print(f"warning: {warning}")
    print(f"wrote {report.path}: {report.pages} pages ({len(report.checks)} plaques + index)")
    return 0


def run_stats(settings: Settings, days: int, as_csv: bool) -> int:
    tour = load_tour(settings.stops_dir)
    until = datetime.now(UTC).date()
    since = days_back(days, until)
    if not settings.db_path.exists():
        print(to_csv([]) if as_csv else f"No scans yet: {settings.db_path} does not exist.", end="")
        print("" if as_csv else " It is created when 'tour serve' runs.")
        return 0

    async def read() -> list[DailyCount]:
        async with reading(settings.db_path) as connection:
            return await daily_counts(connection, since)

    rows = asyncio.run(read())
    print(to_csv(rows) if as_csv else format_report(tour, rows, since, until), end="")
    if not as_csv:
        print()
    return 0


def run_export(settings: Settings, out: Path, scan_endpoint: str | None) -> int:
    from tour.export import export_site, headers_folder

    report = export_site(settings, out, scan_endpoint)
    print(
        f"exported {report.files} files, {report.total_bytes / 1_000_000:.1f} MB, to "
        f"{report.folder} in {report.seconds:.2f} s ({report.reused} unchanged)"
    )
    if report.headers_changed:
        print(
            f"security headers changed in {headers_folder(report.folder)}: reload nginx "
            "(sudo systemctl reload nginx) so the pages' scripts are allowed"
        )
    return 0


def run_staff(settings: Settings, args: argparse.Namespace) -> int:
    password = ""
    if args.staff_command in ("add", "passwd"):
        check_name(args.name)  # before asking for a password that would be thrown away
        password = read_password()
    name, role = getattr(args, "name", ""), getattr(args, "role", "")
    zone = ZoneInfo(settings.time_zone)
    lines = asyncio.run(
        staff_command(settings.db_path, args.staff_command, name, role, password, zone)
    )
    print("\n".join(lines))
    return 0


def lan_address() -> str | None:
    """Return this machine's address on the local network, found without sending anything."""
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
    except OSError:
        return None
    for *_, address in infos:
        host = str(address[0])
        if not host.startswith("127."):
            return host
    return None


def run_serve(settings: Settings, host: str, port: int, count_scans: bool = True) -> int:
    from aiohttp import web

    from tour.web import create_app

    # The tour's own events (reloads, dropped scans, a start on the last good stop files)
    # go to stderr, set up before the app loads the tour. No access log: it would record
    # visitors' addresses, and the scan log already counts what staff need.
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    tour_log = logging.getLogger("tour")
    tour_log.addHandler(handler)
    tour_log.setLevel(logging.INFO)
    app = create_app(replace(settings, count_scans=count_scans))
    if not asyncio.run(staff_exists(settings.db_path)):
        print(f"The staff pages (/admin) are off until an account exists. {FIRST_ADMIN_HINT}")
    shown = host
    if host in ("0.0.0.0", "::", ""):
        shown = lan_address() or "127.0.0.1"
    url = f"http://{shown}:{port}/"
    print(f"Serving the tour at {url} (Ctrl-C to stop)")
    print("Scan to open it on a phone on the same network:")
    print(terminal_qr(url), flush=True)
    # Everything built so far lives as long as the server: keep the garbage collector from
    # walking it again and again while requests run.
    gc.collect()
    gc.freeze()
    web.run_app(app, host=host, port=port, print=None, access_log=None)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = settings_from(args)
        if args.command == "check":
            return run_check(settings)
        if args.command == "audio":
            return run_audio(settings, args)
        if args.command == "photos":
            return run_photos(settings, args.force)
        if args.command == "qr":
            return run_qr(settings, args)
        if args.command == "plaques":
            return run_plaques(settings, args)
        if args.command == "export":
            return run_export(settings, args.out, args.scan_endpoint)
        if args.command == "staff":
            return run_staff(settings, args)
        if args.command == "stats":
            return run_stats(settings, args.days, args.csv)
        if args.command == "serve":
            # --engine: the voice of narration built from the staff pages.
            settings = replace(settings, audio_engine=args.engine)
            return run_serve(settings, args.host, args.port, not args.no_scan_log)
    except CatalogError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        print("The tour has problems; run 'tour check' for the full list.", file=sys.stderr)
        return 1
    except TourError as error:
        print(f"tour: {error}", file=sys.stderr)
        return 1
    except (OSError, sqlite3.Error) as error:
        print(f"tour: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        # A bug, not bad input: still one line for staff, the details for whoever fixes it.
        if os.environ.get("TOUR_DEBUG"):
            raise
        print(
            f"tour: internal error ({type(error).__name__}: {error}); run again with "
            "TOUR_DEBUG=1 to see where, and report it",
            file=sys.stderr,
        )
        return 70
    raise AssertionError(f"unhandled command {args.command}")
