"""Render every page of a tour once: stop pages, indexes and 404 pages, as stored bytes."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from tour.core.languages import language_tag, word_space
from tour.core.model import Photo, Stop, Tour
from tour.core.sentences import Sentence, split_text
from tour.photos.manifest import PhotoEntry, media_type
from tour.render.links import Links
from tour.render.map import map_layout
from tour.render.stored import StoredResponse

RATES = (0.75, 1, 1.25, 1.5)
"""Playback speeds offered beside the player."""


@dataclass(frozen=True, slots=True)
class PageSet:
    stops: dict[tuple[str, str], StoredResponse]
    """Keyed by (language, stop code)."""
    indexes: dict[str, StoredResponse]
    not_found: dict[str, StoredResponse]
    content_security_policy: str
    """Allows exactly the inline style and script of these pages, by their hashes."""
    retired: dict[tuple[str, str], StoredResponse] = field(default_factory=dict)
    """Keyed by (language, old code): the page a retired stop's plaque still leads to."""


@dataclass(frozen=True, slots=True)
class AudioLink:
    """A narration as a page shows it."""

    url: str
    duration: str
    """As m:ss."""
    size: int = 0
    captions: str = ""
    """The WebVTT captions' URL; empty for a narration built before captions."""
    captions_size: int = 0


@dataclass(frozen=True, slots=True)
class PictureSource:
    type: str
    srcset: str


@dataclass(frozen=True, slots=True)
class PhotoView:
    """A photo as a page shows it: modern formats first, a JPEG for every browser."""

    sources: tuple[PictureSource, ...]
    src: str
    srcset: str
    width: int
    height: int
    """The widest file's size: with both set, the browser reserves the space (no shift)."""
    alt: str
    credit: str
    licence: str

    def strip_sizes(self) -> str:
        """The width the strip shows it at: its aspect ratio at STRIP_HEIGHT_PX tall."""
        return f"{round(STRIP_HEIGHT_PX * self.width / self.height)}px"


LEAD_PHOTO_SIZES = "(min-width: 40rem) 38rem, calc(100vw - 2rem)"
"""The page column: 40rem wide at most, less 1rem of padding on each side."""
STRIP_HEIGHT_PX = 192
"""The strip's photos are 12rem tall (page.css)."""
MODERN_FORMATS = ("avif", "webp")
FALLBACK_WIDTH = 960
"""The JPEG `src` for browsers without srcset: sharp enough on most phones."""


def templates_dir() -> Path:
    """Return the templates folder: inside an installed wheel, or at the source root."""
    installed = Path(__file__).resolve().parent.parent / "templates"
    if installed.is_dir():
        return installed
    return Path(__file__).resolve().parent.parent.parent / "templates"


def make_environment(folder: Path | None = None) -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder or templates_dir()),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(language_tag=language_tag, word_space=word_space)
    return environment


def format_distance(metres: float, decimal_mark: str) -> str:
    if metres < 1000:
        return f"{max(10, round(metres / 10) * 10)} m"
    return f"{metres / 1000:.1f} km".replace(".", decimal_mark)


def format_megabytes(size: int, decimal_mark: str) -> str:
    return f"{size / 1_000_000:.1f} MB".replace(".", decimal_mark)


def compass_word(bearing: float, compass: str) -> str:
    words = compass.split(",")
    return words[round(bearing / (360 / len(words))) % len(words)].strip()


@dataclass(frozen=True, slots=True)
class Leg:
    """A walk from one stop to a neighbour, as shown on a page."""

    stop: Stop
    number: int
    distance: str
    minutes: int
    direction: str


def csp_hash(source: str) -> str:
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def content_security_policy(style: str, script: str) -> str:
    """Allow only this server's scripts, and the inline style and script by hash.

    No 'unsafe-inline' and no 'unsafe-eval': an injected script cannot run.
    """
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src 'self' {csp_hash(script)}",
            f"style-src {csp_hash(style)}",
            "img-src 'self' data:",
            "media-src 'self'",
            "connect-src 'self'",
            "manifest-src 'self'",
            "worker-src 'self'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


class PageRenderer:
    def __init__(
        self,
        tour: Tour,
        links: Links,
        environment: jinja2.Environment,
        audio: Mapping[tuple[str, str], AudioLink],
        photos: Mapping[str, PhotoEntry],
    ) -> None:
        self.tour = tour
        self.links = links
        self.environment = environment
        self.audio = audio
        self.photos = photos
        self.map = map_layout(tour)
        # Saving the tour keeps each photo's 480 px version too, whatever the language.
        photo_bytes = sum(entry.offline.size for entry in photos.values())
        self.save_bytes = {
            lang: photo_bytes
            + sum(
                link.size + link.captions_size
                for (_, link_lang), link in audio.items()
                if link_lang == lang
            )
            for lang in tour.languages
        }
        # Inline, so the first view is one request; hashed, so the CSP can allow exactly these.
        self.style = self.source("page.css")
        self.script = self.source("page.js")

    def source(self, name: str) -> str:
        loader = self.environment.loader
        assert loader is not None
        text, _, _ = loader.get_source(self.environment, name)
        return text.strip()

    def absolute(self, path: str) -> str:
        return self.tour.base_url + path

    def leg(self, origin: Stop, target: Stop | None, lang: str) -> Leg | None:
        if target is None:
            return None
        ui = self.tour.ui[lang]
        metres = origin.location.distance_m(target.location)
        return Leg(
            stop=target,
            number=self.tour.position(target),
            distance=format_distance(metres, ui["decimal_mark"]),
            minutes=self.tour.walking_minutes(metres),
            direction=compass_word(origin.location.bearing_deg(target.location), ui["compass"]),
        )

    def common(self, lang: str) -> dict[str, Any]:
        return {
            "tour": self.tour,
            "lang": lang,
            "ui": self.tour.ui[lang],
            "links": self.links,
            "absolute": self.absolute,
            "inline_style": Markup(self.style),
            "inline_script": Markup(self.script),
            "map": self.map,
            "save_size": format_megabytes(
                self.save_bytes[lang], self.tour.ui[lang]["decimal_mark"]
            ),
        }

    def prefetch(self, stop: Stop, lang: str) -> list[str]:
        """The next two stops' pages and narration, to fetch in the background."""
        index = self.tour.stops.index(stop)
        paths = []
        for upcoming in self.tour.stops[index + 1 : index + 3]:
            paths.append(self.links.stop(lang, upcoming.code))
            link = self.audio.get((upcoming.id, lang))
            if link is not None:
                paths.append(link.url)
            if link is not None and link.captions:
                paths.append(link.captions)
        return paths

    def photo_view(self, photo: Photo, lang: str) -> PhotoView | None:
        """Return how the page shows `photo`, or None while `tour photos` has not built it."""
        entry = self.photos.get(photo.file)
        if entry is None:
            return None

        def srcset(extension: str) -> str:
            versions = entry.versions(extension)
            return ", ".join(f"{self.links.photo(file.file)} {file.width}w" for file in versions)

        jpegs = entry.versions("jpg")
        fallback = [file for file in jpegs if file.width <= FALLBACK_WIDTH][-1]
        return PhotoView(
            sources=tuple(
                PictureSource(media_type(extension), srcset(extension))
                for extension in MODERN_FORMATS
            ),
            src=self.links.photo(fallback.file),
            srcset=srcset("jpg"),
            width=jpegs[-1].width,
            height=jpegs[-1].height,
            alt=photo.alt[lang],
            credit=photo.credit,
            licence=photo.licence,
        )

    def transcript(self, stop: Stop, lang: str) -> list[list[tuple[int, Sentence]]]:
        """Number the text's sentences across paragraphs, as the caption cues number them."""
        numbered: list[list[tuple[int, Sentence]]] = []
        number = 0
        for paragraph in split_text(stop.text[lang], lang):
            numbered.append([(number := number + 1, sentence) for sentence in paragraph])
        return numbered

    def stop_page(self, stop: Stop, lang: str) -> str:
        previous, following = self.tour.neighbours(stop)
        return self.environment.get_template("stop.html").render(
            **self.common(lang),
            stop=stop,
            prefetch=self.prefetch(stop, lang),
            audio=self.audio.get((stop.id, lang)),
            photos=[view for photo in stop.photos if (view := self.photo_view(photo, lang))],
            lead_photo_sizes=LEAD_PHOTO_SIZES,
            transcript=self.transcript(stop, lang),
            notes=[note.text[lang] for note in self.tour.notes_for(stop)],
            rates=[
                (str(rate), str(rate).replace(".", self.tour.ui[lang]["decimal_mark"]))
                for rate in RATES
            ],
            number=self.tour.position(stop),
            previous=self.leg(stop, previous, lang),
            next=self.leg(stop, following, lang),
            alternates={code: self.links.stop(code, stop.code) for code in self.tour.languages},
        )

    def index_entries(self, lang: str) -> list[tuple[Stop, Leg | None]]:
        """Return each stop in walking order with the walk from the one before it."""
        entries: list[tuple[Stop, Leg | None]] = []
        previous: Stop | None = None
        for stop in self.tour.stops:
            entries.append((stop, self.leg(previous, stop, lang) if previous else None))
            previous = stop
        return entries

    def index_page(self, lang: str) -> str:
        return self.environment.get_template("index.html").render(
            **self.common(lang),
            entries=self.index_entries(lang),
            alternates={code: self.links.index(code) for code in self.tour.languages},
        )

    def not_found_page(self, lang: str) -> str:
        return self.environment.get_template("not_found.html").render(
            **self.common(lang),
            entries=self.index_entries(lang),
            alternates={},
        )

    def retired_page(self, lang: str, moved_to: str) -> str:
        """The page of a code that no stop has any more: where the stop went, or closed."""
        return self.environment.get_template("retired.html").render(
            **self.common(lang),
            moved_to=self.tour.stop_by_id(moved_to) if moved_to else None,
            alternates={},
        )

    def render_all(self) -> PageSet:
        languages = self.tour.languages
        return PageSet(
            stops={
                (lang, stop.code): StoredResponse.from_html(lang, self.stop_page(stop, lang))
                for lang in languages
                for stop in self.tour.stops
            },
            indexes={
                lang: StoredResponse.from_html(lang, self.index_page(lang)) for lang in languages
            },
            not_found={
                lang: StoredResponse.from_html(lang, self.not_found_page(lang))
                for lang in languages
            },
            content_security_policy=content_security_policy(self.style, self.script),
            retired={
                (lang, code): StoredResponse.from_html(lang, self.retired_page(lang, moved_to))
                for lang in languages
                for code, moved_to in self.tour.retired.items()
            },
        )


def render_pages(
    tour: Tour,
    links: Links,
    audio: Mapping[tuple[str, str], AudioLink] | None = None,
    folder: Path | None = None,
    photos: Mapping[str, PhotoEntry] | None = None,
) -> PageSet:
    """Render every (stop, language) page, each index and each 404 page.

    `audio` maps (stop id, language) to the narration to offer on that page; `photos`
    maps a photo's file (as stop files name it) to its built files.
    """
    environment = make_environment(folder)
    return PageRenderer(tour, links, environment, audio or {}, photos or {}).render_all()
