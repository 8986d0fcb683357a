"""Plan every page of the site: which template renders which URL with which context. Pure."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from kpr_site.german import slugify
from kpr_site.model import PROJECT_STATUSES, SECTORS, NavItem, PressRelease, Project, Site
from kpr_site.urls import (
    FEED_URL,
    GALLERY_URL,
    MEMBERS_URL,
    PROJECTS_URL,
    SEARCH_BUNDLE_URL,
    SEARCH_URL,
    SITEMAP_URL,
    TOPICS_URL,
    press_page_url,
    topic_url,
    year_url,
)

__all__ = ["LEGAL_SLUGS", "PER_PAGE", "PageSpec", "plan_pages"]

PER_PAGE = 10
LEGAL_SLUGS = ("impressum", "datenschutz", "barrierefreiheit")


@dataclass(frozen=True)
class PageSpec:
    """One HTML page to render."""

    url: str
    template: str
    title: str
    description: str
    context: Mapping[str, Any]
    source: str
    """The file it comes from, or "(…)" for pages the generator makes itself."""
    og_type: str = "website"


def plan_pages(site: Site, bodies: Mapping[str, object]) -> list[PageSpec]:
    """All HTML pages, in a stable order. `bodies` maps source paths to resolved HTML."""
    return [*_home(site, bodies), *_press(site, bodies), *_projects(site, bodies),
            *_topics(site), *_members(site, bodies), *_pages(site, bodies), *_gallery(site),
            _search(), PageSpec("/404.html", "404.html", "Seite nicht gefunden",
                     "Diese Seite gibt es nicht (mehr).", {}, "(Fehlerseite)")]


def page_globals(site: Site) -> dict[str, Any]:
    """Values every template sees, derived from the whole site."""
    by_slug = {page.slug: page for page in site.pages}
    legal = tuple(NavItem(by_slug[s].title, by_slug[s].url) for s in LEGAL_SLUGS if s in by_slug)
    if site.config.feedback_email:
        feedback = f"mailto:{site.config.feedback_email}"
    elif "barrierefreiheit" in by_slug:
        feedback = by_slug["barrierefreiheit"].url + "#feedback"
    else:
        feedback = "/kontakt/"
    return {"legal_pages": legal, "feedback_url": feedback}


def _home(site: Site, bodies: Mapping[str, object]) -> Iterator[PageSpec]:
    running_first = sorted(site.projects, key=lambda p: PROJECT_STATUSES.index(p.status) != 1)
    yield PageSpec("/", "home.html", site.config.title, site.config.description, {
        "intro": bodies.get("content/site.yaml", ""),
        "latest_press": site.press[:5],
        "projects": tuple(running_first[:3]),
        "contact": site.config.contact,
    }, "content/site.yaml")


def _press(site: Site, bodies: Mapping[str, object]) -> Iterator[PageSpec]:
    years = [(year, year_url(year), len(list(items)))
             for year, items in groupby(site.press, key=lambda p: p.date.year)]
    shared = {"years": years, "topics": _topic_counts(site), "feed_url": FEED_URL}
    count = max(1, -(-len(site.press) // PER_PAGE))
    for number in range(1, count + 1):
        pagination = {
            "number": number, "count": count,
            "prev_url": press_page_url(number - 1) if number > 1 else None,
            "next_url": press_page_url(number + 1) if number < count else None,
        }
        title = "Pressemitteilungen" + (f" – Seite {number}" if number > 1 else "")
        chunk = site.press[(number - 1) * PER_PAGE : number * PER_PAGE]
        yield PageSpec(press_page_url(number), "press_list.html", title,
                       "Pressemitteilungen des Kommunalen Präventionsrats.",
                       {**shared, "releases": chunk, "pagination": pagination}, "(Presseliste)")
    for year, url, _ in years:
        releases = tuple(p for p in site.press if p.date.year == year)
        single = {"number": 1, "count": 1, "prev_url": None, "next_url": None}
        yield PageSpec(url, "press_list.html", f"Pressemitteilungen {year}",
                       f"Pressemitteilungen des Jahres {year}.",
                       {**shared, "releases": releases, "pagination": single}, "(Jahresarchiv)")
    for index, release in enumerate(site.press):
        yield PageSpec(release.url, "press_detail.html", release.title,
                       release.summary or site.config.description, {
                           "release": release, "body": bodies.get(release.path, ""),
                           "newer": site.press[index - 1] if index > 0 else None,
                           "older": site.press[index + 1] if index + 1 < len(site.press) else None,
                       }, release.path, og_type="article")


def _projects(site: Site, bodies: Mapping[str, object]) -> Iterator[PageSpec]:
    groups = [(status, tuple(p for p in site.projects if p.status == status))
              for status in ("laufend", "geplant", "abgeschlossen")]
    yield PageSpec(PROJECTS_URL, "project_list.html", "Projekte",
                   "Projekte und Mikroprojekte der Präventionsarbeit im Landkreis Rostock.",
                   {"groups": [g for g in groups if g[1]], "topics": _topic_counts(site)},
                   "(Projektliste)")
    for project in site.projects:
        yield PageSpec(project.url, "project_detail.html", project.title,
                       project.summary or site.config.description,
                       {"project": project, "body": bodies.get(project.path, "")}, project.path,
                       og_type="article")


def _topic_index(site: Site) -> dict[str, tuple[str, list[PressRelease], list[Project]]]:
    """slug → (display name, releases, projects); spellings that give one slug are one topic."""
    topics: dict[str, tuple[str, list[PressRelease], list[Project]]] = {}
    for release in site.press:
        for tag in release.tags:
            topics.setdefault(slugify(tag), (tag, [], []))[1].append(release)
    for project in site.projects:
        for topic in project.topics:
            topics.setdefault(slugify(topic), (topic, [], []))[2].append(project)
    return dict(sorted(topics.items()))


def _topic_counts(site: Site) -> list[tuple[str, str, int]]:
    return [(name, topic_url(name), len(press) + len(projects))
            for name, press, projects in _topic_index(site).values()]


def _topics(site: Site) -> Iterator[PageSpec]:
    index = _topic_index(site)
    yield PageSpec(TOPICS_URL, "topics.html", "Themen",
                   "Pressemitteilungen und Projekte nach Themen.",
                   {"topics": _topic_counts(site)}, "(Themenübersicht)")
    for name, press, projects in index.values():
        yield PageSpec(topic_url(name), "topic.html", f"Thema: {name}",
                       f"Pressemitteilungen und Projekte zum Thema {name}.",
                       {"topic": name, "releases": tuple(press), "projects": tuple(projects)},
                       "(Themenseite)")


def _members(site: Site, bodies: Mapping[str, object]) -> Iterator[PageSpec]:
    groups = []
    for sector in SECTORS:
        members = [m for m in site.members if m.sector == sector]
        members.sort(key=lambda m: not m.is_chair)  # stable: chair first, then file order
        if members:
            groups.append((sector, tuple(members)))
    yield PageSpec(MEMBERS_URL, "members.html", "Der Präventionsrat",
                   "Mitglieder des Kommunalen Präventionsrats des Landkreises Rostock.",
                   {"intro": bodies.get("content/members.yaml", ""), "groups": groups,
                    "member_count": len(site.members)}, "content/members.yaml")


def _pages(site: Site, bodies: Mapping[str, object]) -> Iterator[PageSpec]:
    for page in site.pages:
        yield PageSpec(page.url, "page.html", page.title,
                       page.summary or site.config.description,
                       {"page": page, "body": bodies.get(page.path, "")}, page.path)


def _search() -> PageSpec:
    """/suche/: the search form; results come from the Pagefind index (kpr_site.search)."""
    return PageSpec(SEARCH_URL, "search.html", "Suche",
                    "Pressemitteilungen, Projekte und Seiten des Präventionsrats durchsuchen.",
                    {"bundle_url": SEARCH_BUNDLE_URL, "topics_url": TOPICS_URL,
                     "sitemap_url": SITEMAP_URL}, "(Suche)")


def _gallery(site: Site) -> Iterator[PageSpec]:
    """/galerie/ (albums, newest first) and one page per album; none without albums."""
    if not site.albums:
        return
    yield PageSpec(GALLERY_URL, "gallery_list.html", "Galerie",
                   "Fotos aus der Arbeit des Kommunalen Präventionsrats.",
                   {"albums": site.albums}, "(Galerie)")
    for album in site.albums:
        yield PageSpec(album.url, "gallery_album.html", album.title,
                       album.description or f"Fotoalbum „{album.title}“ mit "
                       f"{len(album.photos)} {'Foto' if len(album.photos) == 1 else 'Fotos'}.",
                       {"album": album}, album.path)
