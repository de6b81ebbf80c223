"""The dashboard's own findings in the person's staff language."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tour.catalog import load_tour
from tour.scans.store import ScanKey, add_counts, connect

from .conftest import AiohttpClient, write_chinese_tour
from .staff import staff_client, studio_settings


async def write_quiet_plaque_scans(db_path: Path, stop_ids: Sequence[str], quiet: str) -> None:
    """Ten scans a day at every stop for 70 days, but only one a day lately at `quiet`."""
    now = datetime.now(UTC)
    counts: Counter[ScanKey] = Counter()
    for offset in range(70):
        hour = (now - timedelta(days=offset)).strftime("%Y-%m-%dT%H")
        for stop in stop_ids:
            counts[(hour, stop, "id", "qr")] = 1 if stop == quiet and offset < 14 else 10
    connection = await connect(db_path)
    try:
        await add_counts(connection, counts)
    finally:
        await connection.close()


@pytest.mark.parametrize(
    ("lang", "said", "not_said"),
    [
        ("id", "periksa plakat ini: pudar, rusak, atau hilang?", "check this plaque"),
        ("en", "check this plaque: faded, damaged or missing?", "periksa plakat"),
    ],
)
async def test_a_quiet_plaque_is_flagged_in_the_staff_language(
    aiohttp_client: AiohttpClient, tmp_path: Path, lang: str, said: str, not_said: str
) -> None:
    stops = write_chinese_tour(tmp_path / "stops")
    stop_ids = [stop.id for stop in load_tour(stops).stops]
    settings = studio_settings(tmp_path, stops)
    await write_quiet_plaque_scans(settings.db_path, stop_ids, quiet="gedung-tabib")
    client = await staff_client(aiohttp_client, settings, "ana", "editor", lang=lang)
    page = await (await client.get("/admin")).text()
    assert said in page
    assert not_said not in page
