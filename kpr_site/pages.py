"""Plan every page of the site: which template renders which URL with which context. Pure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import groupby
from typing import Any, TypeVar

from kpr_site.german import counted, slugify
from kpr_site.model import (
    PROJECT_STATUSES,
    SECTORS,
    Dated,
    Document,
    Event,
    FundingCall,
    FundingProgramme,
    Group,
    ListIntro,
    Moment,
    NavItem,
    PressRelease,
    Project,
    Site,
    day_of,
    is_current,
)
from kpr_site.urls import (
    CALENDAR_URL,
    DOCUMENTS_URL,
    EVENTS_URL,
    FEED_URL,
    FUNDING_URL,
    GALLERY_URL,
    GROUPS_URL,
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

__all__ = ["EASY_SLUGS", "LEGAL_SLUGS", "PER_PAGE", "PageSpec", "Topic", "current", "plan_pages"]

PER_PAGE = 10
LEGAL_SLUGS = ("impressum", "datenschutz", "barrierefreiheit")
EASY_SLUGS = ("leichte-sprache", "gebaerdensprache")
"""Pages BITV 2.0 § 4 asks for: explanations in Leichte Sprache and Deutsche Gebärdensprache,
linked from the home page and every footer."""
HOME_EVENTS = 3
HOME_CALLS = 5
D = TypeVar("D", bound=Dated)
S = TypeVar("S", Group, Project)


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
    indexed: bool = True
    """In the sitemap and open to search engines; not for an expired page or the 404 page."""


def plan_pages(site: Site, bodies: Mapping[str, object]) -> list[PageSpec]:
    """All HTML pages, in a stable order. `bodies` maps source paths to resolved HTML."""
    topics = _topic_index(site)
    return [*_home(site, bodies), *_press(site, bodies, topics), *_projects(site, bodies, topics),
            *_events(site, bodies), *_groups(site, bodies), *_funding(site, bodies),
            *_documents(site, bodies), *_topics(site, topics), *_members(site, bodies),
            *_pages(site, bodies), *_gallery(site), _search(),
            PageSpec("/404.html", "404.html", "Seite nicht gefunden",
                     "Diese Seite gibt es nicht (mehr).", {}, "(Fehlerseite)", indexed=False)]


def page_globals(site: Site) -> dict[str, Any]:
    """Values every template sees, derived from the whole site."""
    by_slug = {page.slug: page for page in site.pages}
    legal = tuple(NavItem(by_slug[s].title, by_slug[s].url) for s in LEGAL_SLUGS if s in by_slug)
    easy = tuple(NavItem(by_slug[s].title, by_slug[s].url) for s in EASY_SLUGS if s in by_slug)
    if site.config.feedback_email:
        feedback = f"mailto:{site.config.feedback_email}"
    elif "barrierefreiheit" in by_slug:
        feedback = by_slug["barrierefreiheit"].url + "#feedback"
    else:
        feedback = "/kontakt/"
    return {"legal_pages": legal, "easy_pages": easy, "feedback_url": feedback}


def current(items: Iterable[D], today: dt.date) -> tuple[D, ...]:
    """The items that have not expired on `today`: what lists, feeds and calendars show."""
    return tuple(item for item in items if is_current(item, today))


def _detail(item: Any, today: dt.date) -> dict[str, Any]:
    """Context every detail page shares: the day it expired (for a notice), if it has."""
    return {"expired": None if is_current(item, today) else item.expires}


def _home(site: Site, bodies: Mapping[str, object]) -> Iterator[PageSpec]:
    today = site.today
    projects = current(site.projects, today)
    running_first = sorted(projects, key=lambda p: PROJECT_STATUSES.index(p.status) != 1)
    upcoming = [e for e in current(site.events, today) if e.start and e.is_upcoming(today)]
    yield PageSpec("/", "home.html", site.config.title, site.config.description, {
        "intro": bodies.get("content/site.yaml", ""),
        "latest_press": current(site.press, today)[:5],
        "projects": tuple(running_first[:3]),
        "events": tuple(upcoming[:HOME_EVENTS]),
        "calls": tuple(_calls(site, open_calls=True)[:HOME_CALLS]),
        "contact": site.config.contact,
    }, "content/site.yaml")


def _calls(site: Site, open_calls: bool) -> list[tuple[FundingCall, FundingProgramme]]:
    """Open calls, the nearest deadline first; or expired ones, the latest first."""
    found = [(call, programme) for programme in current(site.funding, site.today)
             for call in programme.calls if call.is_open(site.today) == open_calls]
    return sorted(found, key=lambda pair: (day_of(pair[0].deadline), str(pair[0].deadline),
                                           pair[1].title), reverse=not open_calls)


def _press(site: Site, bodies: Mapping[str, object], topic_index: list[Topic]
           ) -> Iterator[PageSpec]:
    press = current(site.press, site.today)
    years = [(year, year_url(year), len(list(items)))
             for year, items in groupby(press, key=lambda p: p.date.year)]
    topics = [(t.name, t.url, len(t.press)) for t in topic_index if t.press]
    shared = {"years": years, "topics": topics, "feed_url": FEED_URL}
    count = max(1, -(-len(press) // PER_PAGE))
    for number in range(1, count + 1):
        pagination = {
            "number": number, "count": count,
            "prev_url": press_page_url(number - 1) if number > 1 else None,
            "next_url": press_page_url(number + 1) if number < count else None,
        }
        title = "Pressemitteilungen" + (f" – Seite {number}" if number > 1 else "")
        chunk = press[(number - 1) * PER_PAGE : number * PER_PAGE]
        yield PageSpec(press_page_url(number), "press_list.html", title,
                       "Pressemitteilungen des Kommunalen Präventionsrats.",
                       {**shared, "releases": chunk, "pagination": pagination}, "(Presseliste)")
    for year, url, _ in years:
        releases = tuple(p for p in press if p.date.year == year)
        single = {"number": 1, "count": 1, "prev_url": None, "next_url": None}
        yield PageSpec(url, "press_list.html", f"Pressemitteilungen {year}",
                       f"Pressemitteilungen des Jahres {year}.",
                       {**shared, "releases": releases, "pagination": single}, "(Jahresarchiv)")
    position = {release.path: index for index, release in enumerate(press)}  # not tuple.index:
    for release in site.press:  # comparing dataclasses made this 0.8 s at 1,000 releases
        index = position.get(release.path, -1)
        yield PageSpec(release.url, "press_detail.html", release.title,
                       release.summary or site.config.description, {
                           "release": release, "body": bodies.get(release.path, ""),
                           "newer": press[index - 1] if index > 0 else None,
                           "older": press[index + 1] if 0 <= index < len(press) - 1 else None,
                           "groups": _named(site.groups, release.groups),
                           **_detail(release, site.today),
                       }, release.path, og_type="article", indexed=index >= 0)


def _named(items: Iterable[S], slugs: Iterable[str]) -> tuple[S, ...]:
    """The items (groups, projects) with these slugs that are on the site, in the given order."""
    by_slug = {item.slug: item for item in items}
    return tuple(by_slug[slug] for slug in slugs if slug in by_slug)


def _projects(site: Site, bodies: Mapping[str, object], topic_index: list[Topic]
              ) -> Iterator[PageSpec]:
    projects = current(site.projects, site.today)
    groups = [(status, tuple(p for p in projects if p.status == status))
              for status in ("laufend", "geplant", "abgeschlossen")]
    topics = [(t.name, t.url, len(t.projects)) for t in topic_index if t.projects]
    yield PageSpec(PROJECTS_URL, "project_list.html", "Projekte",
                   "Projekte und Mikroprojekte der Präventionsarbeit im Landkreis Rostock.",
                   {"groups": [g for g in groups if g[1]], "topics": topics}, "(Projektliste)")
    for project in site.projects:
        events = [e for e in current(site.events, site.today) if project.slug in e.projects]
        yield PageSpec(project.url, "project_detail.html", project.title,
                       project.summary or site.config.description,
                       {"project": project, "body": bodies.get(project.path, ""),
                        "groups": _named(site.groups, project.groups),
                        "events": tuple(events),
                        **_detail(project, site.today)},
                       project.path, og_type="article", indexed=is_current(project, site.today))


def _intro(site: Site, url: str) -> ListIntro | None:
    return next((intro for intro in site.intros if intro.url == url), None)


def _list_page(
    site: Site, bodies: Mapping[str, object], url: str, template: str, title: str,
    description: str, context: dict[str, Any], generated: str,
) -> PageSpec:
    """A list page whose title and introduction may come from content/<kind>.md."""
    intro = _intro(site, url)
    return PageSpec(url, template, intro.title if intro else title,
                    (intro.summary if intro else "") or description,
                    {**context, "intro": bodies.get(intro.path, "") if intro else ""},
                    intro.path if intro else generated)


def _events(site: Site, bodies: Mapping[str, object]) -> Iterator[PageSpec]:
    if not site.events and not _intro(site, EVENTS_URL):
        return
    today = site.today
    events = current(site.events, today)
    past = [e for e in reversed(events) if e.start and not e.is_upcoming(today)]
    yield _list_page(site, bodies, EVENTS_URL, "event_list.html", "Termine",
                     "Veranstaltungen, Seminare und das Präventionsforum im Landkreis Rostock.", {
                         "upcoming": tuple(e for e in events if e.start and e.is_upcoming(today)),
                         "undated": tuple(e for e in events if e.start is None),
                         "past_years": [(year, tuple(items)) for year, items in
                                        groupby(past, key=lambda e: _year(e.start))],
                         "calendar_url": CALENDAR_URL if any(e.start for e in site.events) else None,
                     }, "(Terminliste)")
    for event in site.events:
        yield PageSpec(event.url, "event_detail.html", event.title,
                       event.summary or site.config.description, {
                           "event": event, "body": bodies.get(event.path, ""),
                           "groups": _named(site.groups, event.groups),
                           "projects": _named(current(site.projects, today), event.projects),
                           "registration_open": _registration_open(event, today),
                           "upcoming": event.is_upcoming(today), **_detail(event, today),
                       }, event.path, og_type="article", indexed=is_current(event, today))


def _year(start: Moment | None) -> int:
    return day_of(start).year if start is not None else 0


def _registration_open(event: Event, today: dt.date) -> bool:
    registration = event.registration
    if registration is None or not event.is_upcoming(today):
        return False
    return registration.deadline is None or day_of(registration.deadline) >= today


def _groups(site: Site, bodies: Mapping[str, object]) -> Iterator[PageSpec]:
    if not site.groups and not _intro(site, GROUPS_URL):
        return
    today = site.today
    groups = current(site.groups, today)
    by_status = [(status, tuple(g for g in groups if g.status == status))
                 for status in ("aktiv", "geplant", "abgeschlossen")]
    yield _list_page(site, bodies, GROUPS_URL, "group_list.html", "Arbeitsgruppen",
                     "Die Arbeitsgruppen des Kommunalen Präventionsrats.",
                     {"groups": [g for g in by_status if g[1]]}, "(Arbeitsgruppen)")
    people = {member.name: member for member in site.members}
    for group in site.groups:
        events = [e for e in current(site.events, today) if group.slug in e.groups]
        yield PageSpec(group.url, "group_detail.html", group.title,
                       group.summary or site.config.description, {
                           "group": group, "body": bodies.get(group.path, ""),
                           "lead": people.get(group.lead),
                           "members": tuple(people[name] for name in group.members),
                           "projects": tuple(p for p in current(site.projects, today)
                                             if group.slug in p.groups),
                           "events": tuple(sorted(events, key=lambda e: not e.is_upcoming(today))),
                           "releases": tuple(r for r in current(site.press, today)
                                             if group.slug in r.groups),
                           **_detail(group, today),
                       }, group.path, indexed=is_current(group, today))


def _funding(site: Site, bodies: Mapping[str, object]) -> Iterator[PageSpec]:
    if not site.funding and not _intro(site, FUNDING_URL):
        return
    today = site.today
    yield _list_page(site, bodies, FUNDING_URL, "funding_list.html", "Förderung",
                     "Förderprogramme und offene Aufrufe für Präventionsprojekte.", {
                         "programmes": current(site.funding, today),
                         "open_calls": tuple(_calls(site, open_calls=True)),
                         "closed_calls": tuple(_calls(site, open_calls=False)),
                     }, "(Förderung)")
    for programme in site.funding:
        yield PageSpec(programme.url, "funding_detail.html", programme.title,
                       programme.summary or site.config.description, {
                           "programme": programme, "body": bodies.get(programme.path, ""),
                           "documents": _documents_named(site.documents, programme.documents),
                           "open_calls": tuple(c for c in programme.calls if c.is_open(today)),
                           "closed_calls": tuple(reversed([c for c in programme.calls
                                                           if not c.is_open(today)])),
                           **_detail(programme, today),
                       }, programme.path, indexed=is_current(programme, today))


def _documents_named(documents: Iterable[Document], names: Iterable[str]) -> tuple[Document, ...]:
    """Documents by file name or title (references checked when loading)."""
    found: dict[str, Document] = {}
    for document in documents:
        found.setdefault(document.title, document)
        if document.file:
            found.setdefault(document.file, document)
    return tuple(found[name] for name in names if name in found)


def _documents(site: Site, bodies: Mapping[str, object]) -> Iterator[PageSpec]:
    if not site.documents and not _intro(site, DOCUMENTS_URL):
        return
    yield _list_page(site, bodies, DOCUMENTS_URL, "document_list.html", "Dokumente",
                     "Richtlinien, Formulare und weitere Dokumente zum Herunterladen.",
                     {"documents": site.documents}, "(Dokumente)")


@dataclass(frozen=True)
class Topic:
    """One topic across all content types; spellings that give one slug are one topic."""

    name: str
    url: str
    press: tuple[PressRelease, ...] = ()
    projects: tuple[Project, ...] = ()
    events: tuple[Event, ...] = ()
    groups: tuple[Group, ...] = ()
    funding: tuple[FundingProgramme, ...] = ()

    @property
    def counts(self) -> list[tuple[str, int]]:
        """(German label, number) for each type that has entries."""
        labels = (("Pressemitteilung", "Pressemitteilungen", self.press),
                  ("Projekt", "Projekte", self.projects), ("Termin", "Termine", self.events),
                  ("Arbeitsgruppe", "Arbeitsgruppen", self.groups),
                  ("Förderprogramm", "Förderprogramme", self.funding))
        return [(one if len(items) == 1 else many, len(items))
                for one, many, items in labels if items]


def _topic_index(site: Site) -> list[Topic]:
    """Every topic of the items that have not expired, by slug."""
    names: dict[str, str] = {}
    found: dict[str, dict[str, list[Any]]] = {}
    kinds = (("press", site.press, "tags"), ("projects", site.projects, "topics"),
             ("events", site.events, "topics"), ("groups", site.groups, "topics"),
             ("funding", site.funding, "topics"))
    for kind, items, field in kinds:
        for item in current(items, site.today):
            for name in getattr(item, field):
                slug = slugify(name)
                names.setdefault(slug, name)
                found.setdefault(slug, {}).setdefault(kind, []).append(item)
    return [Topic(names[slug], topic_url(names[slug]),
                  **{kind: tuple(items) for kind, items in found[slug].items()})
            for slug in sorted(found)]


def _topics(site: Site, index: list[Topic]) -> Iterator[PageSpec]:
    yield PageSpec(TOPICS_URL, "topics.html", "Themen",
                   "Pressemitteilungen, Projekte, Termine, Arbeitsgruppen und Förderprogramme "
                   "nach Themen.", {"topics": tuple(index)}, "(Themenübersicht)")
    for topic in index:
        yield PageSpec(topic.url, "topic.html", f"Thema: {topic.name}",
                       f"Alles zum Thema {topic.name}.", {"topic": topic}, "(Themenseite)")


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
                       {"page": page, "body": bodies.get(page.path, ""),
                        **_detail(page, site.today)},
                       page.path, indexed=is_current(page, site.today))


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
                       f"{counted(len(album.photos), 'Foto', 'Fotos')}.",
                       {"album": album}, album.path)
