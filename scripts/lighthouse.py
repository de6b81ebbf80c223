"""Score a stop page and the index with Lighthouse (npm) in Debian's Chromium, mobile.

Installs Lighthouse 12 (the last line that runs on Node 20) under .tools/ on first use,
serves the bundled tour with narration, and prints the four category scores per page.
Exit status 1 when any score is under 0.95.

Usage: .venv/bin/python scripts/lighthouse.py   (or: make lighthouse)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from serving import tour_server

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / ".tools" / "lighthouse"
LIGHTHOUSE = TOOLS / "node_modules" / ".bin" / "lighthouse"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
TARGET = 0.95
CHROME_FLAGS = (
    "--headless=new --no-sandbox --disable-gpu --disable-quic --no-first-run "
    "--disable-background-networking --disable-component-update --disable-sync"
)


def install() -> None:
    if LIGHTHOUSE.exists():
        return
    if shutil.which("npm") is None:
        raise SystemExit("Lighthouse needs Node.js and npm: run 'sudo apt-get install nodejs npm'")
    TOOLS.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(TOOLS), "lighthouse@12"],
        check=True,
    )


def score(url: str, report: Path) -> dict[str, float]:
    env = {**os.environ, "CHROME_PATH": "/usr/bin/chromium"}
    subprocess.run(
        [
            str(LIGHTHOUSE),
            url,
            "--quiet",
            "--output=json",
            f"--output-path={report}",
            f"--chrome-flags={CHROME_FLAGS}",
            f"--only-categories={','.join(CATEGORIES)}",
            "--form-factor=mobile",
        ],
        check=True,
        env=env,
    )
    data = json.loads(report.read_text(encoding="utf-8"))
    return {name: float(data["categories"][name]["score"]) for name in CATEGORIES}


def main() -> int:
    install()
    worst = 1.0
    with tempfile.TemporaryDirectory() as folder:
        media = Path(folder) / "media"
        with tour_server(media, base_url_is_local=True) as address:
            for path in ("/id/masjid", "/id/"):
                scores = score(address + path, Path(folder) / "report.json")
                shown = "  ".join(f"{name} {value:.2f}" for name, value in scores.items())
                print(f"{path:<12} {shown}")
                worst = min(worst, *scores.values())
    print(f"lowest score {worst:.2f}; target {TARGET}")
    return 0 if worst >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
