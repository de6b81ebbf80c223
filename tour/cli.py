"""The `tour` command: thin wrappers over the library, one clear line per error."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from tour.catalog import CatalogError, check_tour, load_tour
from tour.errors import TourError
from tour.narration import build_narration
from tour.settings import Settings
from tour.speech import ENGINES, choose_voice


class ArgumentParser(argparse.ArgumentParser):
    """Report bad options as one line and exit 2, as argparse does, with a hint."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: {message} (see '{self.prog} --help')\n")


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

    serve = commands.add_parser("serve", help="run the web service")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=port_number, default=8080, help="port to listen on")
    return parser


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


def run_serve(settings: Settings, host: str, port: int) -> int:
    from aiohttp import web

    from tour.web import create_app

    app = create_app(settings)
    print(f"Serving the tour at http://{host}:{port}/ (Ctrl-C to stop)", flush=True)
    web.run_app(app, host=host, port=port, print=None)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = settings_from(args)
    try:
        if args.command == "check":
            return run_check(settings)
        if args.command == "audio":
            return run_audio(settings, args)
        if args.command == "serve":
            return run_serve(settings, args.host, args.port)
    except CatalogError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        print("The tour has problems; run 'tour check' for the full list.", file=sys.stderr)
        return 1
    except TourError as error:
        print(f"tour: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"tour: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    raise AssertionError(f"unhandled command {args.command}")
