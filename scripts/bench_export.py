"""The static export: its time and size, and a stop page from nginx beside `tour serve`.

Exports the bundled tour, serves the export with nginx using deploy/nginx's static
config (one worker), and drives a stop page on both servers with wrk in turn.

Usage: .venv/bin/python scripts/bench_export.py [--rounds 3] [--seconds 5]
"""

from __future__ import annotations

import contextlib
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bench_pages import Result, run_wrk, wrk_options
from serving import free_port, nginx_server, tour_server

ROOT = Path(__file__).resolve().parent.parent
PAGE = "/en/masjid"


@contextlib.contextmanager
def static_nginx(site_root: Path, folder: Path) -> Iterator[str]:
    """Serve the export with deploy/nginx's static config, as a city server would."""
    port = free_port()
    text = (ROOT / "deploy" / "nginx" / "penyengat-static.conf").read_text("utf-8")
    text = text.replace("    listen [::]:80;\n", "").replace(
        "listen 80;", f"listen 127.0.0.1:{port};"
    )
    text = text.replace("/srv/penyengat-tour/site", str(site_root))
    folder.mkdir(parents=True, exist_ok=True)
    site = folder / "static.conf"
    site.write_text(text, "utf-8")
    address = f"http://127.0.0.1:{port}"
    with nginx_server(folder, f"include {site};", site_root, address + PAGE):
        yield address


def main() -> int:
    args = wrk_options(__doc__.splitlines()[0])
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        media = folder / "media"
        with tour_server(media) as tour:
            export = folder / "site"
            command = [sys.executable, "-m", "tour", "--media", str(media), "export", str(export)]
            started = time.perf_counter()
            first = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            first_s = time.perf_counter() - started
            started = time.perf_counter()
            again = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            again_s = time.perf_counter() - started
            print(f"export: {first.strip()}  [whole command {first_s:.2f} s]")
            print(f"again:  {again.strip()}  [whole command {again_s:.2f} s]")
            with static_nginx(export, folder / "nginx") as static:
                results: dict[str, list[Result]] = {"tour serve": [], "nginx, export": []}
                targets = {"tour serve": tour, "nginx, export": static}
                for address in targets.values():
                    run_wrk(address + PAGE, args.connections, 1)
                for _ in range(args.rounds):
                    for name, address in targets.items():
                        results[name].append(
                            run_wrk(address + PAGE, args.connections, args.seconds)
                        )
    print(
        f"\n{PAGE}, gzip, {args.connections} connections, "
        f"{args.rounds} x {args.seconds} s, one process each"
    )
    median = {name: statistics.median(r.requests_per_s for r in rs) for name, rs in results.items()}
    for name, rs in results.items():
        worst = max(r.p99_ms for r in rs)
        print(f"{name:<14} median {median[name]:>9.0f} req/s   worst p99 {worst:6.2f} ms")
    print(f"nginx export / tour serve: {median['nginx, export'] / median['tour serve']:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
