"""Take the screenshots of the staff studio in docs/, in Indonesian, on a 1280×900 desktop.

Usage: .venv/bin/python scripts/studio_screenshots.py [DOCS_FOLDER]

Writes, into DOCS_FOLDER (default docs/):
  studio-form-problem.png  the mosque's form, its Indonesian text made too short: the
                           word-count problem shows next to the field as it is typed
  studio-preview.png       the preview of a draft, exactly as a visitor would see it
  studio-history.png       the stop's history after a publish, with the change as a diff

It serves a copy of the bundled tour with its own staff database, so the bundled files
are never changed; narration is built by eSpeak, offline.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright
from serving import CHROMIUM_ARGS, free_port, wait_until_up

from tour.catalog import bundled_stops_dir
from tour.staff.words import staff_words

STOP = "masjid-raya"
PASSWORD = "kata sandi panjang 2026"
TOO_SHORT = "Inilah Masjid Raya Sultan Riau."
# The draft drops one sentence of the Indonesian text; the rest stays as it is.
DROPPED = " Cerita itu hidup turun-temurun, walaupun seorang penulis menyebutnya dongeng belaka."


def control(name: str) -> str:
    """A form control by its id, which holds a dot (`text.id`) that CSS would misread."""
    return f'[id="{name}"]'


def scroll_to(page: Page, selector: str, margin: int = 96) -> None:
    """Scroll so that `selector` sits near the top of the window, under `margin` pixels."""
    page.locator(selector).first.evaluate(
        "(element, margin) => window.scrollTo(0,"
        " element.getBoundingClientRect().top + window.scrollY - margin)",
        margin,
    )


def take(page: Page, address: str, docs: Path) -> None:
    page.goto(address + "/admin")
    page.locator("#user").fill("admin")
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url(address + "/admin")

    page.goto(f"{address}/admin/stops/{STOP}")
    text = page.locator(control("text.id"))
    original = text.input_value()
    text.fill(TOO_SHORT)
    expect(page.locator(control("problems-text.id"))).to_be_visible()
    scroll_to(page, 'label[for="text.id"]', margin=160)
    page.screenshot(path=str(docs / "studio-form-problem.png"))

    assert DROPPED in original
    text.fill(original.replace(DROPPED, ""))
    expect(page.locator(control("problems-text.id"))).to_be_hidden()
    with page.expect_navigation():
        page.locator('button[name="action"][value="save"]').click()
    # Listen first, so the preview plays the draft's own narration.
    page.locator("#listen-lang").select_option("id")
    page.locator("#listen").click()
    expect(page.locator("#listen-status")).to_contain_text(
        staff_words()["id"]["studio_listen_done"], timeout=180_000
    )
    page.goto(f"{address}/admin/stops/{STOP}/preview?lang=id")
    expect(page.locator("audio")).to_have_attribute("src", re.compile("^/admin/drafts/audio/"))
    expect(page.locator("nav.staff-preview")).to_be_visible()
    page.screenshot(path=str(docs / "studio-preview.png"))

    page.goto(f"{address}/admin/stops/{STOP}")
    with page.expect_navigation():
        page.locator('button[name="action"][value="publish"]').click()
    expect(page.locator("#form-message")).to_contain_text(staff_words()["id"]["studio_published"])
    page.goto(f"{address}/admin/stops/{STOP}/history")
    expect(page.locator("pre.diff del").first).to_be_visible()
    scroll_to(page, "section.revision", margin=16)
    # The diff box scrolls on its own: bring its removed and added lines into view.
    page.locator("pre.diff").first.evaluate(
        "pre => { const removed = pre.querySelector('del');"
        " pre.scrollTop += removed.getBoundingClientRect().top"
        " - pre.getBoundingClientRect().top - 24; }"
    )
    page.screenshot(path=str(docs / "studio-history.png"))


def main() -> int:
    docs = Path(sys.argv[1] if len(sys.argv) > 1 else "docs")
    docs.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        stops = folder / "stops"
        shutil.copytree(bundled_stops_dir(), stops)
        tour = [sys.executable, "-m", "tour", "--stops", str(stops)]
        tour += ["--media", str(folder / "media"), "--db", str(folder / "tour.db")]
        subprocess.run(
            [*tour, "staff", "add", "admin", "--role", "admin"],
            input=PASSWORD,
            text=True,
            check=True,
            capture_output=True,
        )
        port = free_port()
        address = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [*tour, "serve", "--port", str(port), "--engine", "espeak"],
            stdout=subprocess.DEVNULL,
        )
        try:
            wait_until_up(address + "/healthz")
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
                )
                page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="id-ID")
                take(page, address, docs)
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    for name in ("studio-form-problem.png", "studio-preview.png", "studio-history.png"):
        print(f"wrote {docs / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
