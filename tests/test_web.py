"""The web service: routes, language negotiation, caching, 404s and page budget."""

from __future__ import annotations

import base64
import contextlib
import gzip
import hashlib
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import html5lib
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from markupsafe import escape

from tour.catalog import bundled_stops_dir, check_tour, load_tour
from tour.core.errors import SettingsError
from tour.core.languages import language_tag
from tour.core.settings import Settings
from tour.render.links import PATH_LINKS
from tour.web import create_app
from tour.web.common.negotiation import accepts_gzip
from tour.web.keys import site_key
from tour.web.lifecycle import check_routes

from .conftest import AiohttpClient

Client = TestClient[web.Request, web.Application]
TOUR = load_tour(bundled_stops_dir())
PAGE_BUDGET_BYTES = 14 * 1024


def all_page_paths() -> Iterator[str]:
    for lang in TOUR.languages:
        yield f"/{lang}/"
        for stop in TOUR.stops:
            yield f"/{lang}/{stop.code}"


def html_lang(body: str) -> str:
    match = re.search(r'<html lang="([A-Za-z-]+)" data-lang="[a-z]+">', body)
    assert match, body[:200]
    return match[1]


async def test_healthz(client: Client) -> None:
    response = await client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {"status": "ok", "stops": 14, "languages": ["id", "en", "zh"]}


async def test_home_is_indonesian_by_default_and_lists_every_stop(client: Client) -> None:
    response = await client.get("/")
    assert response.status == 200
    body = await response.text()
    assert html_lang(body) == "id"
    assert response.headers["Content-Language"] == "id"
    for number, stop in enumerate(TOUR.stops, start=1):
        assert f'href="/id/{stop.code}"><span class="num">{number}.</span>' in body
        assert escape(stop.name["id"]) in body
    assert "Awal tur" in body  # the first stop has no previous one
    assert body.count("dari perhentian sebelumnya") == len(TOUR.stops) - 1


async def test_home_in_english_with_accept_language(client: Client) -> None:
    response = await client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"})
    body = await response.text()
    assert html_lang(body) == "en"
    assert "Sultan of Riau Grand Mosque" in body
    assert "Accept-Language" in response.headers["Vary"]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, "id"),
        ({"Accept-Language": "en"}, "en"),
        ({"Accept-Language": "en-US"}, "en"),
        ({"Accept-Language": "fr, en;q=0.5"}, "en"),
        ({"Accept-Language": "en;q=0.4, id;q=0.8"}, "id"),
        ({"Accept-Language": "id;q=0, en;q=0.1"}, "en"),
        ({"Accept-Language": "de, fr"}, "id"),
        ({"Accept-Language": "*"}, "id"),
        ({"Accept-Language": ";;;q=zz,,en;q=abc"}, "id"),
        ({"Cookie": "lang=en"}, "en"),
        ({"Cookie": "lang=en", "Accept-Language": "id"}, "en"),
        ({"Cookie": "lang=xx", "Accept-Language": "en"}, "en"),
    ],
)
async def test_scan_negotiates_language(
    client: Client, headers: dict[str, str], expected: str
) -> None:
    response = await client.get("/s/masjid", headers=headers)
    assert response.status == 200
    body = await response.text()
    assert html_lang(body) == expected
    stop = TOUR.stop_by_code("masjid")
    assert stop is not None
    assert f"<h1>{stop.name[expected]}</h1>" in body
    assert response.headers["Vary"] == "Accept-Encoding, Accept-Language, Cookie"
    assert response.headers["Cache-Control"] == "private, no-cache"


async def test_scan_serves_the_page_without_redirect(client: Client) -> None:
    response = await client.get("/s/masjid", allow_redirects=False)
    assert response.status == 200
    assert response.history == ()
    direct = await client.get("/id/masjid")
    assert await response.read() == await direct.read()


async def test_scan_code_is_case_insensitive(client: Client) -> None:
    response = await client.get("/s/MASJID")
    assert response.status == 200
    assert "<h1>Masjid Raya Sultan Riau</h1>" in await response.text()


async def test_stop_page_content(client: Client) -> None:
    response = await client.get("/en/tabib")
    assert response.status == 200
    body = await response.text()
    stop = TOUR.stop_by_code("tabib")
    assert stop is not None
    for paragraph in stop.paragraphs("en"):
        assert escape(paragraph) in body
    assert "Stop 3 of 14" in body
    assert '<a href="/en/masjid" rel="prev">' in body
    assert '<a href="/en/engku-puteri" rel="next">' in body
    assert "min walk" in body
    assert '<link rel="canonical" href="https://penyengat.example/en/tabib">' in body
    assert '<link rel="alternate" hreflang="id" href="https://penyengat.example/id/tabib">' in body
    # the other language's name is marked with its own language
    assert '<p class="note" lang="id">Gedung Tabib</p>' in body
    assert '<a href="/id/tabib" hreflang="id" lang="id">Bahasa Indonesia</a>' in body


async def test_first_and_last_stops(client: Client) -> None:
    first = await (await client.get("/en/dermaga")).text()
    assert 'rel="prev"' not in first
    assert 'rel="next"' in first
    last = await (await client.get("/en/balai-adat")).text()
    assert 'rel="next"' not in last
    assert "End of the tour" in last


async def test_estimated_location_is_marked(client: Client) -> None:
    body = await (await client.get("/en/perigi")).text()
    assert "Its position on the map is an estimate." in body
    body = await (await client.get("/en/masjid")).text()
    assert "an estimate" not in body


async def test_explicit_language_page_sets_the_cookie(client: Client) -> None:
    response = await client.get("/en/masjid")
    cookie = response.cookies["lang"]
    assert cookie.value == "en"
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == "/"
    # the next scan, from the same phone, opens in English
    scan = await client.get("/s/tabib")
    assert html_lang(await scan.text()) == "en"


async def test_cookie_not_resent_when_unchanged(client: Client) -> None:
    response = await client.get("/en/masjid", headers={"Cookie": "lang=en"})
    assert "Set-Cookie" not in response.headers


async def test_language_root_redirects_to_index(client: Client) -> None:
    response = await client.get("/en", allow_redirects=False)
    assert response.status == 301
    assert response.headers["Location"] == "/en/"


@pytest.mark.parametrize(
    ("path", "headers", "lang"),
    [
        ("/en/nowhere", {}, "en"),
        ("/id/nowhere", {"Accept-Language": "en"}, "id"),
        ("/s/nowhere", {"Accept-Language": "en"}, "en"),
        ("/s/nowhere", {}, "id"),
        ("/fr/masjid", {"Accept-Language": "en"}, "en"),
        ("/fr/", {}, "id"),
        ("/fr", {}, "id"),
        ("/no/such/path", {"Cookie": "lang=en"}, "en"),
        ("/s/..%2F..%2Fetc%2Fpasswd", {}, "id"),
        ("/en/%3Cscript%3E", {}, "en"),
    ],
)
async def test_unknown_page_is_404_in_visitor_language_with_stop_list(
    client: Client, path: str, headers: dict[str, str], lang: str
) -> None:
    response = await client.get(path, headers=headers)
    assert response.status == 404
    body = await response.text()
    assert html_lang(body) == lang
    assert TOUR.ui[lang]["not_found_title"] in body
    for stop in TOUR.stops:
        assert f'href="/{lang}/{stop.code}"' in body
    # only the page's own scripts; the requested path is never echoed into the page
    assert body.count("<script") == 2
    assert '<script src="/offline.js" defer></script>' in body


async def test_gzip_when_accepted(client: Client) -> None:
    plain = await client.get("/en/masjid", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    raw = await plain.read()
    response = await client.get(
        "/en/masjid", headers={"Accept-Encoding": "gzip"}, auto_decompress=False
    )
    assert response.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["Vary"]
    assert gzip.decompress(await response.read()) == raw
    assert response.headers["ETag"] != plain.headers["ETag"]


@pytest.mark.parametrize(
    ("accept_encoding", "expected"),
    [
        ("gzip;q=0, *", False),  # an explicit refusal beats the wildcard
        ("*, gzip;q=0", False),
        ("x-gzip;q=0, *;q=0.5", False),
        ("*;q=0", False),
        ("*", True),
        ("gzip", True),
        ("GZIP;q=0.5", True),
        ("gzip;q=0.5, *;q=0", True),
        ("deflate", False),
        ("deflate, br", False),
        ("", False),
    ],
)
def test_accepts_gzip(accept_encoding: str, expected: bool) -> None:
    assert accepts_gzip(accept_encoding) is expected


async def test_no_gzip_when_refused_beside_a_wildcard(client: Client) -> None:
    response = await client.get(
        "/en/masjid", headers={"Accept-Encoding": "gzip;q=0, *"}, auto_decompress=False
    )
    assert response.status == 200
    assert "Content-Encoding" not in response.headers
    assert (await response.read()).startswith(b"<!doctype html>")


async def test_etag_gives_304(client: Client) -> None:
    first = await client.get("/en/masjid")
    etag = first.headers["ETag"]
    again = await client.get("/en/masjid", headers={"If-None-Match": etag})
    assert again.status == 304
    assert await again.read() == b""
    assert again.headers["ETag"] == etag
    other = await client.get("/en/masjid", headers={"If-None-Match": '"stale"'})
    assert other.status == 200


async def test_head_sends_headers_only(client: Client) -> None:
    response = await client.head("/id/masjid")
    assert response.status == 200
    assert await response.read() == b""
    assert int(response.headers["Content-Length"]) > 1000
    missing = await client.head("/id/nowhere")
    assert missing.status == 404


async def test_post_is_not_allowed(client: Client) -> None:
    response = await client.post("/id/masjid")
    assert response.status == 405


async def test_every_page_within_budget_valid_and_local(client: Client) -> None:
    parser = html5lib.HTMLParser(strict=True)
    for path in all_page_paths():
        response = await client.get(
            path, headers={"Accept-Encoding": "gzip"}, auto_decompress=False
        )
        assert response.status == 200, path
        compressed = await response.read()
        assert len(compressed) <= PAGE_BUDGET_BYTES, (path, len(compressed))
        body = gzip.decompress(compressed).decode("utf-8")
        parser.parse(body)  # raises on any HTML parse error
        assert html_lang(body) == language_tag(path.split("/")[1])
        # nothing is fetched from another host: no src= anywhere, <link>s name only this
        # tour's own public address (canonical, hreflang), and the one off-site <a> is the
        # OpenStreetMap link a visitor may choose to follow
        for match in re.finditer(r'src="([^"]*)"', body):
            assert match[1].startswith("/"), (path, match[1])  # this server only
        for match in re.finditer(r'<link [^>]*href="([^"]*)"', body):
            assert match[1].startswith(("https://penyengat.example/", "/")), (path, match[1])
        for match in re.finditer(r'<a [^>]*href="(https?:[^"]*)"', body):
            assert match[1].startswith("https://www.openstreetmap.org/?mlat="), (path, match[1])
        assert body.count("<h1>") == 1


async def test_security_headers(client: Client) -> None:
    response = await client.get("/id/masjid")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Vary"] == "Accept-Encoding"


async def test_the_stored_header_sets_stay_as_built_whatever_was_answered(
    client: Client,
) -> None:
    gzip_phone = {"Accept-Encoding": "gzip, deflate, br", "Accept-Language": "id"}
    first = await client.get("/s/masjid", headers=gzip_phone)
    assert first.status == 200
    etag = first.headers["ETag"]
    unchanged = await client.get("/s/masjid", headers={**gzip_phone, "If-None-Match": etag})
    assert unchanged.status == 304
    assert "Content-Encoding" not in unchanged.headers
    missing = [await client.get("/s/no-such-code", headers=gzip_phone) for _ in range(2)]
    assert [answer.status for answer in missing] == [404, 404]
    assert "ETag" not in missing[0].headers  # an error page is no version of anything
    assert set(missing[0].headers) == set(missing[1].headers)
    again = await client.get("/s/masjid", headers=gzip_phone)
    assert again.status == 200
    assert await again.read() == await first.read()
    per_answer = {"Date", "Content-Length", "Server"}
    assert {k: v for k, v in again.headers.items() if k not in per_answer} == {
        k: v for k, v in first.headers.items() if k not in per_answer
    }
    site = client.app[site_key].current
    built = site.headers_for(site.pages.stops[("id", "masjid")], True, True, False)
    assert built["ETag"] == etag
    assert built["Content-Encoding"] == "gzip"
    assert not per_answer & set(built)  # each answer added these to its own copy
    # The 404 answers removed the ETag from their own copy, never from the stored set.
    not_found = site.headers_for(site.pages.not_found["id"], True, True, False)
    assert "ETag" in not_found


def test_base_url_from_environment(settings: Settings) -> None:
    app = create_app(replace(settings, base_url="https://tour.example.org/"))
    page = app[site_key].current.pages.stops[("en", "masjid")]
    assert b'href="https://tour.example.org/en/masjid"' in page.body


def test_bad_base_url_from_environment_is_one_clear_error(settings: Settings) -> None:
    with pytest.raises(SettingsError) as raised:
        create_app(replace(settings, base_url="penyengat.example"))
    assert str(raised.value) == (
        "TOUR_BASE_URL: 'penyengat.example' must be an absolute http(s) URL such as "
        "https://penyengat.example"
    )


@pytest.mark.parametrize(
    ("accept_language", "expected"),
    [
        ("ms-MY", "id"),  # Malay: the tour has none, the fallback table offers Indonesian
        ("ms, en;q=0.5", "en"),  # a language the tour has wins over a fallback
        ("jv", "id"),
        ("de, ms;q=0.3", "id"),
    ],
)
async def test_fallback_table(client: Client, accept_language: str, expected: str) -> None:
    response = await client.get("/s/kursi", headers={"Accept-Language": accept_language})
    assert html_lang(await response.text()) == expected


async def test_tour_json(client: Client) -> None:
    response = await client.get("/api/tour.json")
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    data = await response.json()
    assert data["languages"] == ["id", "en", "zh"]
    assert [stop["code"] for stop in data["stops"]] == [stop.code for stop in TOUR.stops]
    masjid = data["stops"][1]
    assert masjid["number"] == 2
    assert masjid["name"]["en"] == "Sultan of Riau Grand Mosque"
    assert masjid["text"]["id"].startswith("Inilah Masjid Raya Sultan Riau.")
    assert masjid["scan_url"] == "https://penyengat.example/s/masjid"
    assert masjid["pages"]["en"] == {
        "path": "/en/masjid",
        "url": "https://penyengat.example/en/masjid",
    }
    assert masjid["audio"] == {}  # this client's media folder has no narration


async def test_stops_geojson_is_rfc7946(client: Client) -> None:
    response = await client.get("/api/stops.geojson")
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/geo+json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    data = await response.json(content_type="application/geo+json")
    assert data["type"] == "FeatureCollection"
    assert len(data["features"]) == 14
    for feature, stop in zip(data["features"], TOUR.stops, strict=True):
        assert feature["type"] == "Feature"
        assert feature["geometry"]["type"] == "Point"
        lon, lat = feature["geometry"]["coordinates"]
        assert (lon, lat) == (stop.location.lon, stop.location.lat)  # longitude first
        assert 104 < lon < 105
        assert 0 < lat < 1
        assert isinstance(feature["properties"], dict)
        assert feature["properties"]["name_id"] == stop.name["id"]


async def test_unknown_api_document_is_404(client: Client) -> None:
    response = await client.get("/api/secrets.json")
    assert response.status == 404


async def test_every_response_carries_the_security_headers(client: Client) -> None:
    for path in ("/id/masjid", "/s/masjid", "/api/tour.json", "/nowhere"):
        response = await client.get(path)
        headers = response.headers
        policy = headers["Content-Security-Policy"]
        assert policy.startswith("default-src 'none'; script-src 'self' 'sha256-")
        assert "'unsafe-inline'" not in policy
        assert headers["Permissions-Policy"].startswith("geolocation=(self)")
        # the bundled tour's public address is https
        assert headers["Strict-Transport-Security"] == "max-age=31536000"


def test_no_hsts_for_an_http_address(settings: Settings) -> None:
    app = create_app(replace(settings, base_url="http://tour.example"))
    assert "Strict-Transport-Security" not in app[site_key].current.security_headers


async def test_inline_style_and_script_match_the_policy_hashes(client: Client) -> None:
    response = await client.get("/id/masjid")
    body = await response.text()
    policy = response.headers["Content-Security-Policy"]
    for tag, directive in (("style", "style-src"), ("script", "script-src 'self'")):
        [inline] = re.findall(rf"<{tag}>(.*?)</{tag}>", body, re.DOTALL)
        digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
        assert f"{directive} 'sha256-{digest}'" in policy


async def test_practical_notes_and_map_links(client: Client) -> None:
    masjid = await (await client.get("/en/masjid")).text()
    assert '<h2 id="notes-heading">Good to know</h2>' in masjid
    assert "No photography inside the mosque." in masjid
    assert 'href="geo:0.929444,104.420389"' in masjid
    assert "openstreetmap.org/?mlat=0.929444&amp;mlon=104.420389" in masjid
    tabib = await (await client.get("/en/tabib")).text()
    assert "Good to know" not in tabib
    last = await (await client.get("/id/balai-adat")).text()
    assert "Pompong ke Tanjungpinang" in last


async def test_robots_txt(client: Client) -> None:
    response = await client.get("/robots.txt")
    assert response.status == 200
    assert await response.text() == "User-agent: *\nAllow: /\n"


STATIC_COPY = "https://static.example"
BEACON = {"code": "kursi", "lang": "en", "source": "qr"}


def scan_counts(settings: Settings) -> list[tuple[str, str, str, int]]:
    with contextlib.closing(sqlite3.connect(settings.db_path)) as connection:
        return connection.execute(
            "SELECT stop, lang, source, SUM(count) FROM scans GROUP BY stop, lang, source"
        ).fetchall()


@pytest.fixture
async def beacon_client(aiohttp_client: AiohttpClient, settings: Settings) -> Client:
    return await aiohttp_client(create_app(replace(settings, scan_origins=(STATIC_COPY,))))


async def test_scan_beacon_from_a_static_copy(beacon_client: Client, settings: Settings) -> None:
    good = await beacon_client.post("/api/scan", data=BEACON, headers={"Origin": STATIC_COPY})
    assert good.status == 204
    assert good.headers["Access-Control-Allow-Origin"] == STATIC_COPY
    assert good.headers["Vary"] == "Origin"
    for bad in (
        {"code": "nowhere", "lang": "en", "source": "qr"},
        {"code": "kursi", "lang": "fr", "source": "qr"},
        {"code": "kursi", "lang": "en", "source": "email"},
        {},
    ):
        response = await beacon_client.post("/api/scan", data=bad, headers={"Origin": STATIC_COPY})
        assert response.status == 400
        assert response.headers["Access-Control-Allow-Origin"] == STATIC_COPY
        assert "Send code, lang and source" in await response.text()
    await beacon_client.close()
    assert scan_counts(settings) == [("bukit-kursi", "en", "qr", 1)]


@pytest.mark.parametrize(
    "headers",
    [{"Origin": "https://elsewhere.example"}, {"Origin": "null"}, {}],
    ids=["another origin", "an opaque origin", "no origin"],
)
async def test_beacon_from_an_origin_not_listed_is_not_counted(
    beacon_client: Client, settings: Settings, headers: dict[str, str]
) -> None:
    response = await beacon_client.post("/api/scan", data=BEACON, headers=headers)
    assert response.status == 403
    assert "Access-Control-Allow-Origin" not in response.headers
    assert await response.text() == (
        f"Origin '{headers.get('Origin', '')}' may not report scans here; list it in "
        "scan_beacon_origins in tour.toml, or in TOUR_SCAN_ORIGINS."
    )
    await beacon_client.close()
    assert scan_counts(settings) == []


async def test_no_beacon_endpoint_without_listed_origins(
    client: Client, settings: Settings
) -> None:
    response = await client.post("/api/scan", data=BEACON, headers={"Origin": STATIC_COPY})
    assert response.status == 404
    assert "Access-Control-Allow-Origin" not in response.headers
    await client.close()
    assert scan_counts(settings) == []


async def test_beacons_are_budgeted_per_client(beacon_client: Client) -> None:
    from tour.web.visitor.views import BEACONS_PER_CLIENT

    def beacon(client: str) -> dict[str, str]:
        return {"Origin": STATIC_COPY, "X-Real-IP": client}

    for _ in range(BEACONS_PER_CLIENT):
        response = await beacon_client.post("/api/scan", data=BEACON, headers=beacon("192.0.2.1"))
        assert response.status == 204
    refused = await beacon_client.post("/api/scan", data=BEACON, headers=beacon("192.0.2.1"))
    assert refused.status == 429
    assert await refused.text() == "Too many scans from this address; try again later."
    other = await beacon_client.post("/api/scan", data=BEACON, headers=beacon("192.0.2.2"))
    assert other.status == 204


def write_origins(stops: Path, origins: str) -> None:
    tour_toml = stops / "tour.toml"
    text = tour_toml.read_text("utf-8").replace(
        "order = [", f"scan_beacon_origins = {origins}\norder = [", 1
    )
    tour_toml.write_text(text, "utf-8")


async def test_scan_origins_from_the_environment_override_tour_toml(
    aiohttp_client: AiohttpClient, small_tour: Path, tmp_path: Path
) -> None:
    write_origins(small_tour, '["https://Listed.example:443/"]')
    assert load_tour(small_tour).scan_beacon_origins == ("https://listed.example",)
    environ = {"TOUR_SCAN_ORIGINS": "https://a.example, http://b.example:8080  https://a.example"}
    settings = Settings.from_env(environ, stops_dir=small_tour, db_path=tmp_path / "scans.db")
    # checked and tidied once, in the settings: each origin once, as browsers write it
    assert settings.scan_origins == ("https://a.example", "http://b.example:8080")
    client = await aiohttp_client(create_app(settings))
    statuses = {}
    for origin in ("https://listed.example", "https://a.example", "http://b.example:8080"):
        response = await client.post(
            "/api/scan",
            data={"code": "alpha", "lang": "en", "source": "qr"},
            headers={"Origin": origin},
        )
        statuses[origin] = response.status
    assert statuses == {
        "https://listed.example": 403,
        "https://a.example": 204,
        "http://b.example:8080": 204,
    }
    listed = await aiohttp_client(
        create_app(Settings.from_env({}, stops_dir=small_tour, db_path=tmp_path / "other.db"))
    )
    response = await listed.post(
        "/api/scan",
        data={"code": "alpha", "lang": "en", "source": "qr"},
        headers={"Origin": "https://listed.example"},
    )
    assert response.status == 204


def test_bad_scan_origin_from_the_environment_is_one_clear_error(settings: Settings) -> None:
    environ = {"TOUR_SCAN_ORIGINS": "https://ok.example,https://tour.example/api/scan"}
    with pytest.raises(SettingsError) as raised:
        create_app(replace(settings, scan_origins=Settings.from_env(environ).scan_origins))
    assert str(raised.value) == (
        "TOUR_SCAN_ORIGINS: 'https://tour.example/api/scan' must be scheme://host[:port] only, "
        "with no path, such as https://penyengat.example"
    )


def test_bad_scan_origin_in_tour_toml_is_located(small_tour: Path) -> None:
    write_origins(
        small_tour, '[\n  "https://ok.example",\n  "tour.example",\n  "https://x.example:99999",\n]'
    )
    _, problems = check_tour(small_tour)
    assert [(problem.line, problem.field, str(problem.message)) for problem in problems] == [
        (
            6,
            "scan_beacon_origins",
            "'tour.example' must be an origin such as https://penyengat.example",
        ),
        (
            7,
            "scan_beacon_origins",
            "'https://x.example:99999' has a port that is not a number from 0 to 65535",
        ),
    ]
    assert all(problem.path.endswith("tour.toml") for problem in problems)


def test_start_up_fails_when_routes_and_page_links_disagree(settings: Settings) -> None:
    app = create_app(settings)
    tour = app[site_key].current.tour
    check_routes(app, tour, PATH_LINKS)
    lang, code = tour.languages[0], tour.stops[0].code
    moved = replace(PATH_LINKS, stop=lambda lang, code: f"/{lang}/stops/{code}")
    with pytest.raises(RuntimeError) as raised:
        check_routes(app, tour, moved)
    assert str(raised.value) == (
        f"route 'stop' serves /{lang}/{code} but pages link to /{lang}/stops/{code}"
    )
