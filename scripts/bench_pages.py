"""Requests per second for a QR scan (/s/<code>): tour serve, bare aiohttp and nginx.

Each server runs as one process on a loopback port and gets the same request, what a
phone sends (scripts/phone_scan.lua: a mobile browser's user agent, Accept-Language,
Accept-Encoding, no cookie), and answers the same bytes:
- `tour serve`, doing its real work (negotiation, ETag check, headers, scan counting);
- `tour serve --no-scan-log`, the same without counting, to price the scan log;
- a bare aiohttp handler returning those bytes and headers as a constant: the ceiling;
- nginx with the same bytes pre-compressed and `gzip_static on`: a static server's limit.
wrk drives each in turn, with the same connections and duration, for a few rounds; every
answer's status is counted, and a run with any answer but 200 is refused. One phone from
one address is one visit per half hour: the first request counts it, and the rest are
the reloads and repeat scans the visit log recognises.

Usage: .venv/bin/python scripts/bench_pages.py [--rounds 5] [--seconds 5] [--connections 64]
(or: make bench, which installs wrk and nginx from Debian's packages)
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from serving import free_port, nginx_server, tour_server, wait_until_up

CODE = "masjid"
PHONE_SCRIPT = Path(__file__).with_name("phone_scan.lua")
TARGET_RATIO = 0.90
# Headers that describe this one response and would differ between servers anyway.
PER_RESPONSE = {"date", "server", "content-length", "connection", "keep-alive"}

# The same bytes as files, pre-compressed, served as a static server does best.
NGINX_STATIC = """
  gzip_static on;
  etag on;
  server {{
    listen 127.0.0.1:{port};
    root {root};
    location / {{ default_type "text/html; charset=utf-8"; }}
  }}
"""


@dataclass
class Result:
    requests_per_s: float
    p99_ms: float
    requests: int = 0
    cpu_us_per_request: float | None = None
    """The server process's own CPU time (user + system) per answer: unlike requests per
    second, it hardly moves when other work on the machine takes turns on the cores."""


def cpu_seconds(pid: int) -> float:
    """Return the CPU time (user + system) process `pid` has used so far."""
    # Fields after the command name, which is in parentheses: utime and stime are 12th and 13th.
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def phone_headers() -> dict[str, str]:
    """Return the request headers phone_scan.lua gives wrk, read from the script itself."""
    text = PHONE_SCRIPT.read_text(encoding="utf-8")
    return dict(re.findall(r'^wrk\.headers\["([^"]+)"\] = "([^"]*)"$', text, re.MULTILINE))


def fetch_scan(address: str) -> tuple[bytes, dict[str, str]]:
    request = urllib.request.Request(f"{address}/s/{CODE}", headers=phone_headers())
    with urllib.request.urlopen(request) as response:
        body = response.read()
        headers = {k: v for k, v in response.headers.items() if k.lower() not in PER_RESPONSE}
    return body, headers


@contextlib.contextmanager
def bare_aiohttp(
    folder: Path,
    body: bytes,
    headers: dict[str, str],
    processes: list[subprocess.Popen[bytes]] | None = None,
) -> Iterator[str]:
    (folder / "body").write_bytes(body)
    (folder / "headers.json").write_text(json.dumps(headers), encoding="utf-8")
    port = free_port()
    script = Path(__file__).with_name("bare_aiohttp.py")
    process = subprocess.Popen(
        [sys.executable, str(script), str(port), str(folder / "body"), str(folder / "headers.json")]
    )
    if processes is not None:
        processes.append(process)
    address = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(address + "/")
        yield address
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextlib.contextmanager
def nginx(folder: Path, body: bytes) -> Iterator[str]:
    root = folder / "site"
    (root / "s").mkdir(parents=True)
    (root / "s" / CODE).write_bytes(gzip.decompress(body))
    (root / "s" / f"{CODE}.gz").write_bytes(body)
    port = free_port()
    address = f"http://127.0.0.1:{port}"
    http = NGINX_STATIC.format(port=port, root=root)
    with nginx_server(folder, http, root / "s", f"{address}/s/{CODE}"):
        yield address


def parse_duration_ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(url: str, connections: int, seconds: int, server_pid: int | None = None) -> Result:
    """Send the phone's request for `seconds`; refuse a run with any answer but 200.

    With `server_pid`, also measure that process's CPU time per answer.
    """
    cpu_before = cpu_seconds(server_pid) if server_pid is not None else 0.0
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    command += ["-s", str(PHONE_SCRIPT)]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p99 = re.search(r"99%\s+([\d.]+(?:us|ms|s))", output)
    statuses = {int(s): int(n) for s, n in re.findall(r"^status (\d+): (\d+)$", output, re.M)}
    if rate is None or p99 is None or set(statuses) != {200} or re.search("Socket errors", output):
        raise SystemExit(
            f"wrk gave no usable figures for {url} (every answer must be 200):\n{output}"
        )
    requests = statuses[200]
    cpu = None
    if server_pid is not None:
        cpu = (cpu_seconds(server_pid) - cpu_before) / requests * 1e6
    return Result(float(rate[1]), parse_duration_ms(p99[1]), requests, cpu)


def wrk_options(description: str) -> argparse.Namespace:
    """Parse the options every wrk benchmark here takes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=64)
    return parser.parse_args()


def main() -> int:
    args = wrk_options(__doc__.splitlines()[0])

    # The two servers of the ratio run next to each other in each round, so they share
    # that moment's load on the machine.
    names = ("tour serve", "bare aiohttp", "tour, no log", "nginx")
    results: dict[str, list[Result]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        tours: list[subprocess.Popen[bytes]] = []
        bares: list[subprocess.Popen[bytes]] = []
        with (
            tour_server(folder / "media", processes=tours) as tour,
            tour_server(folder / "media", serve_options=("--no-scan-log",)) as unlogged,
        ):
            body, headers = fetch_scan(tour)
            with (
                bare_aiohttp(folder, body, headers, bares) as bare,
                nginx(folder / "nginx", body) as static,
            ):
                targets = dict(zip(names, (tour, bare, unlogged, static), strict=True))
                pids = {"tour serve": tours[0].pid, "bare aiohttp": bares[0].pid}
                for address in targets.values():  # warm up every server once
                    run_wrk(f"{address}/s/{CODE}", args.connections, 1)
                for round_number in range(1, args.rounds + 1):
                    for name, address in targets.items():
                        url = f"{address}/s/{CODE}"
                        result = run_wrk(url, args.connections, args.seconds, pids.get(name))
                        results[name].append(result)
                        cpu = result.cpu_us_per_request
                        print(
                            f"round {round_number} {name:<13} {result.requests_per_s:>9.0f} req/s"
                            f"   p99 {result.p99_ms:6.2f} ms"
                            + (f"   {cpu:5.1f} us CPU/request" if cpu is not None else ""),
                            flush=True,
                        )

    print(
        f"\n/s/{CODE}, {len(body)} bytes gzip, the phone's request (scripts/phone_scan.lua), "
        f"{args.connections} connections, {args.rounds} x {args.seconds} s each, "
        "one server process"
    )
    median = {name: statistics.median(r.requests_per_s for r in rs) for name, rs in results.items()}
    median_p99 = {name: statistics.median(r.p99_ms for r in rs) for name, rs in results.items()}
    worst_p99 = {name: max(r.p99_ms for r in rs) for name, rs in results.items()}
    for name in results:
        print(
            f"{name:<13} median {median[name]:>9.0f} req/s   "
            f"p99 median {median_p99[name]:6.2f} ms, worst {worst_p99[name]:6.2f} ms"
        )
    tours_, bares_ = results["tour serve"], results["bare aiohttp"]
    to_ceiling = median["tour serve"] / median["bare aiohttp"]
    per_round = [t.requests_per_s / b.requests_per_s for t, b in zip(tours_, bares_, strict=True)]
    cpu_tour = statistics.median(r.cpu_us_per_request or 0.0 for r in tours_)
    cpu_bare = statistics.median(r.cpu_us_per_request or 0.0 for r in bares_)
    to_nginx = median["tour serve"] / median["nginx"]
    logging_cost = median["tour serve"] / median["tour, no log"]
    print(
        f"tour / bare aiohttp: {to_ceiling:.2f} (req/s, medians of {args.rounds})   "
        f"per round: {' '.join(f'{ratio:.2f}' for ratio in per_round)}   "
        f"(target >= {TARGET_RATIO:.2f})"
    )
    print(
        f"CPU per request: tour {cpu_tour:.1f} us, bare aiohttp {cpu_bare:.1f} us "
        f"(medians); bare / tour {cpu_bare / cpu_tour:.2f}"
    )
    print(f"tour / nginx:        {to_nginx:.2f}")
    print(f"with / without scan log: {logging_cost:.2f}   (target >= 0.90)")
    print(
        f"p99 at {args.connections} connections (median of {args.rounds}): "
        f"tour {median_p99['tour serve']:.2f} ms, bare aiohttp {median_p99['bare aiohttp']:.2f} ms "
        "(target < 20 ms)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
