"""Where each thing is published: pure functions from model data to URL paths and files."""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterable
from pathlib import PurePosixPath

from kpr_site.errors import Location, SiteError
from kpr_site.german import slugify

__all__ = [
    "CALENDAR_URL",
    "DOCUMENTS_URL",
    "EVENTS_URL",
    "FEED_URL",
    "FUNDING_URL",
    "GALLERY_URL",
    "GROUPS_URL",
    "LIST_URLS",
    "MEMBERS_URL",
    "PRESS_URL",
    "PROJECTS_URL",
    "SCHEME",
    "SEARCH_BUNDLE_URL",
    "SEARCH_URL",
    "SITEMAP_URL",
    "TOPICS_URL",
    "album_url",
    "document_url",
    "event_url",
    "find_collisions",
    "funding_url",
    "group_url",
    "is_external",
    "join_url",
    "output_file",
    "page_url",
    "press_page_url",
    "press_url",
    "project_url",
    "topic_url",
    "year_url",
]

PRESS_URL = "/presse/"
FEED_URL = "/presse/feed.xml"
PROJECTS_URL = "/projekte/"
TOPICS_URL = "/themen/"
MEMBERS_URL = "/praeventionsrat/"
GALLERY_URL = "/galerie/"
EVENTS_URL = "/termine/"
CALENDAR_URL = "/termine/kalender.ics"
GROUPS_URL = "/arbeitsgruppen/"
FUNDING_URL = "/foerderung/"
DOCUMENTS_URL = "/dokumente/"
LIST_URLS = {"events": EVENTS_URL, "groups": GROUPS_URL, "funding": FUNDING_URL,
             "documents": DOCUMENTS_URL}
"""The list page of each content type whose introduction is content/<kind>.md."""

SEARCH_URL = "/suche/"
SEARCH_BUNDLE_URL = "/pagefind/"
"""The search index (kpr_site.search); the search page loads pagefind.js from here."""
SITEMAP_URL = "/sitemap.xml"


SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
"""A URL that starts with a scheme ("https:", "mailto:") leaves the site."""


def is_external(url: str) -> bool:
    """Whether `url` leaves the site: a scheme, or protocol-relative ("//host/…")."""
    return bool(SCHEME.match(url)) or url.startswith("//")


def join_url(base: str, path: str) -> str:
    """The one join of a base (a path prefix like "/kpr/" or a full base URL) and a site path;
    a URL that leaves the site is returned as it is."""
    if is_external(path):
        return path
    return base.rstrip("/") + "/" + path.lstrip("/")


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


def event_url(day: dt.date | None, slug: str) -> str:
    """/termine/2024/forum/; an event without a date: /termine/forum/."""
    return f"{EVENTS_URL}{day.year}/{slug}/" if day else f"{EVENTS_URL}{slug}/"


def group_url(slug: str) -> str:
    return f"{GROUPS_URL}{slug}/"


def funding_url(slug: str) -> str:
    return f"{FUNDING_URL}{slug}/"


def document_url(file: str) -> str:
    """/dokumente/richtlinie.pdf: the file name is the address, so links to it stay stable."""
    return f"{DOCUMENTS_URL}{file}"


def topic_url(name: str) -> str:
    return f"{TOPICS_URL}{slugify(name)}/"


def album_url(slug: str) -> str:
    return f"{GALLERY_URL}{slug}/"


@functools.lru_cache(maxsize=1 << 16)  # a preview asks for every page's at every save
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
