"""Where each thing is published: pure functions from model data to URL paths and files."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import PurePosixPath

from kpr_site.errors import Location, SiteError
from kpr_site.german import slugify

__all__ = [
    "FEED_URL", "GALLERY_URL", "MEMBERS_URL", "PRESS_URL", "PROJECTS_URL", "SEARCH_BUNDLE_URL",
    "SEARCH_URL", "SITEMAP_URL", "TOPICS_URL",
    "album_url", "find_collisions", "output_file", "page_url", "press_page_url", "press_url",
    "project_url", "topic_url", "year_url",
]

PRESS_URL = "/presse/"
FEED_URL = "/presse/feed.xml"
PROJECTS_URL = "/projekte/"
TOPICS_URL = "/themen/"
MEMBERS_URL = "/praeventionsrat/"
GALLERY_URL = "/galerie/"
SEARCH_URL = "/suche/"
SEARCH_BUNDLE_URL = "/pagefind/"
"""The search index (kpr_site.search); the search page loads pagefind.js from here."""
SITEMAP_URL = "/sitemap.xml"


def press_url(date: dt.date, slug: str) -> str:
    return f"{PRESS_URL}{date.year}/{slug}/"


def press_page_url(number: int) -> str:
    """Page 1 of the press list is /presse/, later pages /presse/seite/N/."""
    return PRESS_URL if number == 1 else f"{PRESS_URL}seite/{number}/"


def year_url(year: int) -> str:
    return f"{PRESS_URL}{year}/"


def project_url(slug: str) -> str:
    return f"{PROJECTS_URL}{slug}/"


def page_url(slug: str) -> str:
    return f"/{slug}/"


def topic_url(name: str) -> str:
    return f"{TOPICS_URL}{slugify(name)}/"


def album_url(slug: str) -> str:
    return f"{GALLERY_URL}{slug}/"


def output_file(url: str) -> PurePosixPath:
    """'/presse/' → presse/index.html; '/presse/feed.xml' → presse/feed.xml."""
    relative = url.lstrip("/")
    if not relative or url.endswith("/"):
        return PurePosixPath(relative) / "index.html"
    return PurePosixPath(relative)


def find_collisions(claims: Iterable[tuple[str, str]]) -> list[SiteError]:
    """Each (url, source) claim; two sources for one URL are an error naming both.

    A source is a file path, or a description in parentheses for generated pages.
    """
    owners: dict[str, str] = {}
    errors = []
    for url, source in claims:
        first = owners.setdefault(url, source)
        if first != source:
            path = source if not source.startswith("(") else first
            other = first if path == source else source
            errors.append(SiteError(
                f"Die Adresse {url} wird doppelt vergeben: auch von {other}.",
                Location(path),
                "Benennen Sie eine der Dateien um (der Dateiname bestimmt die Adresse).",
            ))
    return errors
