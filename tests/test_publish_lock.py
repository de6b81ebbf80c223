"""Two publishes of different stops at once: the publish lock writes one, then the other."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

import tour.staff.publish
import tour.web.studio.publishing
from tour.staff.editing import write_files
from tour.staff.journal import Change
from tour.web import create_app
from tour.web.studio.keys import studio_key

from .conftest import AiohttpClient
from .staff import browser_session, create_account, log_in, studio_settings
from .test_studio_pages import form_values

FIRST, SECOND = "masjid-raya", "balai-adat"


async def test_publishes_sent_at_once_are_written_one_after_the_other(
    aiohttp_client: AiohttpClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = studio_settings(tmp_path)
    for name in ("pia", "putu"):
        await create_account(settings.db_path, name, "publisher", lang="en")
    client = await aiohttp_client(create_app(settings))
    assert (await log_in(client, "pia")).status == 303
    other = await browser_session(client, "putu")
    steps: list[str] = []

    def watched_write(
        stops_dir: Path,
        texts: Mapping[str, str],
        bases: Mapping[str, str],
        remove: Sequence[str] = (),
        change: Change | None = None,
    ) -> None:
        name = ",".join(texts)
        steps.append(f"enter {name}")
        time.sleep(0.1)  # a slow disk: the other publish would write meanwhile if it could
        write_files(stops_dir, texts, bases, remove, change)
        steps.append(f"exit {name}")

    monkeypatch.setattr(tour.staff.publish, "write_files", watched_write)
    first = form_values(await (await client.get(f"/admin/stops/{FIRST}")).text())
    second = form_values(await (await other.get(f"/admin/stops/{SECOND}")).text())
    first |= {"note": "first", "action": "publish"}
    second |= {"note": "second", "action": "publish"}
    first["text.en"] += " Edited."
    second["text.en"] += " Edited."
    answers = await asyncio.gather(
        client.post(f"/admin/stops/{FIRST}", data=first),
        other.post(f"/admin/stops/{SECOND}", data=second),
    )
    pages = [await answer.text() for answer in answers]
    await other.close()
    assert [answer.status for answer in answers] == [200, 200], pages
    assert all("Published." in page for page in pages)
    assert len(steps) == 4
    # Both bases were current, so only the lock keeps the two writes apart.
    assert steps[0].split()[1] == steps[1].split()[1]
    assert steps[2].split()[1] == steps[3].split()[1]
    assert sorted(step.split()[1] for step in steps[::2]) == [f"{SECOND}.toml", f"{FIRST}.toml"]
    await client.app[studio_key].jobs.stop()
