"""The content model: what editors write, as frozen dataclasses. No I/O here.

Every item carries `path` (its source file relative to the site root, for error messages)
and `url` (its public URL path, e.g. "/presse/2017/neustart/"). Bodies are not part of the
model: the rendered Markdown lives in a separate mapping keyed by `path` (kpr_site.bodies), so
list pages and caches never carry the full text around.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "CMS_BACKENDS",
    "GROUP_STATUSES",
    "PROJECT_STATUSES",
    "SECTORS",
    "Album",
    "Brand",
    "CmsSettings",
    "Contact",
    "Dated",
    "Document",
    "Event",
    "Funding",
    "FundingCall",
    "FundingProgramme",
    "Group",
    "Link",
    "ListIntro",
    "Member",
    "Moment",
    "NavItem",
    "Page",
    "Photo",
    "Place",
    "PressRelease",
    "Project",
    "Publication",
    "Registration",
    "Site",
    "SiteConfig",
    "Source",
    "day_of",
    "is_current",
    "is_published",
]

PROJECT_STATUSES = ("geplant", "laufend", "abgeschlossen")
GROUP_STATUSES = ("geplant", "aktiv", "abgeschlossen")
SECTORS = ("Polizei", "Verwaltung", "Verbände")

Moment = dt.date | dt.datetime
"""A day, or a day with a time: always in Berlin time (the loader converts other zones)."""


@dataclass(frozen=True)
class NavItem:
    title: str
    """Link text in the main navigation."""
    url: str
    """Target URL path, e.g. "/projekte/"."""


@dataclass(frozen=True)
class Contact:
    """The contact block shown on the home page and in the footer."""

    name: str
    role: str = ""
    organisation: str = ""
    street: str = ""
    city: str = ""
    phone: str = ""
    email: str = ""


CMS_BACKENDS = ("gitlab", "github")


@dataclass(frozen=True)
class CmsSettings:
    """`cms:` in content/site.yaml: editing in the browser at /admin/ (no /admin/ without it)."""

    backend: str
    """One of CMS_BACKENDS: where the repository is hosted."""
    repo: str
    """The repository as "group/name", e.g. "landkreis-rostock/kpr-site"."""
    branch: str = "main"
    """The branch editors' changes are committed to."""
    app_id: str = ""
    """The OAuth application's id (GitLab: the PKCE login needs it)."""
    base_url: str = ""
    """GitLab: the instance, e.g. "https://gitlab.opencode.de" (default gitlab.com). GitHub:
    the address of an OAuth helper service; without it editors log in with a token."""


@dataclass(frozen=True)
class Brand:
    """The county's look: content/site.yaml `brand:`."""

    logo: str = "logo.svg"
    """File in templates/static shown beside the name in the header."""
    name_line: str = ""
    """The name beside the logo; empty: the site's title."""
    share_image: str = ""
    """File in templates/static (PNG or JPEG, ideally 1200 × 630) shown when a page without a
    photo of its own is shared (og:image); empty: none."""
    colours: tuple[tuple[str, str], ...] = ()
    """(key, "#rrggbb") for the brand colours given: primary, accent, link (the rest keep
    the colours of site.css)."""


@dataclass(frozen=True)
class SiteConfig:
    """content/site.yaml."""

    title: str
    description: str
    base_url: str
    """Absolute URL of the published site, ending in "/", e.g. "https://kpr.example.de/"."""
    language: str
    contact: Contact
    nav: tuple[NavItem, ...]
    custom_domain: bool = False
    """True: base_url is the site's own domain, and the Pages pipelines publish for it; False: they
    publish for the address GitHub or GitLab Pages assigns (…github.io/…, …gitlab.io/…)."""
    intro: str = ""
    """Short introduction (Markdown) shown on the home page."""
    feedback_email: str = ""
    """Address for accessibility feedback (BITV), linked in every footer."""
    short_title: str = ""
    """Short form of the title for browser tabs ("Seite – Kurzname"); empty: the title."""
    brand: Brand = Brand()
    cms: CmsSettings | None = None
    """Editing in the browser at /admin/; None (the default) builds no /admin/."""

    @property
    def base_path(self) -> str:
        """The URL path the site lives under, "/" or e.g. "/kpr/" on a project site."""
        rest = self.base_url.split("://", 1)[-1]
        return "/" + rest.partition("/")[2]


@dataclass(frozen=True, kw_only=True)
class Publication:
    """When a Markdown content item is on the site: the fields every such type shares."""

    draft: bool = False
    publish: dt.date | None = None
    """Not on the site before this day (`publish: 2024-05-01`)."""
    expires: dt.date | None = None
    """From this day on out of lists, feeds, calendars and the sitemap; the page itself stays
    reachable (links keep working) with a notice and without search-engine indexing."""


@dataclass(frozen=True)
class PressRelease(Publication):
    """content/press/YYYY-MM-DD-slug.md — a Pressemitteilung."""

    path: str
    slug: str
    url: str
    title: str
    date: dt.date
    """The day of publication, as written (also in the file name)."""
    time: dt.datetime | None = None
    """The time of publication, where the editor gave one (`date: 2017-02-10T14:30`)."""
    summary: str = ""
    tags: tuple[str, ...] = ()
    author: str = ""
    source: str = ""
    """Where it was first published, e.g. "Pressemitteilung des Landkreises Rostock vom 10.02.2017"."""
    image: str = ""
    """The picture as written: relative to this file, e.g. "../../gallery/sitzung/foto1.jpg"."""
    image_alt: str = ""
    """Its text alternative: `image_alt:`, else the album's `alt` for that photo."""
    image_path: str = ""
    """`image` relative to the site root ("gallery/sitzung/foto1.jpg"), set by the loader."""
    groups: tuple[str, ...] = ()
    """Slugs of the working groups this release is about (content/groups/<slug>.md)."""


@dataclass(frozen=True)
class Funding:
    program: str
    amount_eur: int | None = None


@dataclass(frozen=True)
class Project(Publication):
    """content/projects/slug.md — a project or Mikroprojekt."""

    path: str
    slug: str
    url: str
    title: str
    status: str
    """One of PROJECT_STATUSES."""
    summary: str = ""
    topics: tuple[str, ...] = ()
    funding: Funding | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    place: str = ""
    target_group: str = ""
    contact: str = ""
    image: str = ""
    """As PressRelease.image."""
    image_alt: str = ""
    image_path: str = ""
    groups: tuple[str, ...] = ()
    """Slugs of the working groups the project belongs to."""


@dataclass(frozen=True)
class Page(Publication):
    """content/pages/slug.md — a standalone page such as Kontakt or Impressum."""

    path: str
    slug: str
    url: str
    title: str
    summary: str = ""
    nav_order: int | None = None


@dataclass(frozen=True)
class Member:
    """One entry of content/members.yaml."""

    name: str
    sector: str
    """One of SECTORS."""
    role: str = ""
    """Role in the council, e.g. "Vorsitzende"."""
    function: str = ""
    """Job title, e.g. "Dezernentin für Finanzen und Soziales"."""
    organisation: str = ""
    line: int = 0

    @property
    def is_chair(self) -> bool:
        return self.role.startswith("Vorsitz")


@dataclass(frozen=True)
class Photo:
    """One photo of an album (gallery/<album>/album.yaml, `photos:`)."""

    path: str
    """Source file relative to the site root, e.g. "gallery/sitzung/foto1.jpg"."""
    alt: str
    caption: str = ""
    credit: str = ""
    line: int = 0


@dataclass(frozen=True)
class Album:
    """gallery/<slug>/album.yaml."""

    path: str
    slug: str
    url: str
    title: str
    date: dt.date
    photos: tuple[Photo, ...]
    description: str = ""
    cover: str = ""
    """Source path of the cover photo; the first photo when album.yaml names none."""


@dataclass(frozen=True)
class Place:
    """Where an event takes place."""

    name: str
    """E.g. "Kreishaus Güstrow, großer Saal"."""
    address: str = ""
    """Street and town, e.g. "Am Wall 3–5, 18273 Güstrow"."""


@dataclass(frozen=True)
class Registration:
    """How to register for an event: a link or an e-mail address, and until when."""

    url: str = ""
    """A web form (https://…)."""
    email: str = ""
    deadline: Moment | None = None
    """Last day (or moment) to register."""
    note: str = ""
    """E.g. "Die Teilnahme ist kostenlos."."""


@dataclass(frozen=True)
class Event(Publication):
    """content/events/YYYY-MM-DD-slug.md — a Termin; content/events/slug.md — one whose date is
    not fixed yet (`schedule:` says when, e.g. "einmal im Jahr")."""

    path: str
    slug: str
    url: str
    title: str
    start: Moment | None
    """First day, or first day and time; None for an event whose date is not fixed yet."""
    end: Moment | None = None
    """Last day (all-day events) or end time; None: a single day, or open end."""
    schedule: str = ""
    """When, for an event without a date: "einmal im Jahr"."""
    summary: str = ""
    place: Place | None = None
    organiser: str = ""
    registration: Registration | None = None
    accessibility: str = ""
    """Notes on access: step-free entrance, induction loop, sign-language interpreting …"""
    topics: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    """Slugs of working groups (content/groups/<slug>.md)."""
    projects: tuple[str, ...] = ()
    """Slugs of projects (content/projects/<slug>.md)."""

    @property
    def all_day(self) -> bool:
        return not isinstance(self.start, dt.datetime)

    @property
    def first_day(self) -> dt.date | None:
        return day_of(self.start) if self.start is not None else None

    @property
    def last_day(self) -> dt.date | None:
        """The day it ends (the start day when no end is given)."""
        return day_of(self.end) if self.end is not None else self.first_day

    @property
    def calendar_url(self) -> str:
        """Its iCalendar file, e.g. "/termine/2024/forum/termin.ics"."""
        return f"{self.url}termin.ics"

    def is_upcoming(self, today: dt.date) -> bool:
        """Still to come or running on `today`; events without a date count as upcoming."""
        return self.last_day is None or self.last_day >= today


@dataclass(frozen=True)
class Group(Publication):
    """content/groups/slug.md — an Arbeitsgruppe of the council."""

    path: str
    slug: str
    url: str
    title: str
    status: str
    """One of GROUP_STATUSES."""
    summary: str = ""
    topics: tuple[str, ...] = ()
    goal: str = ""
    """What the group is to produce, e.g. a Handlungskonzept."""
    start: dt.date | None = None
    end: dt.date | None = None
    lead: str = ""
    """Name of the person leading it, as in content/members.yaml."""
    members: tuple[str, ...] = ()
    """Names of its members, as in content/members.yaml."""


@dataclass(frozen=True)
class FundingCall:
    """One call for applications of a funding programme, with its deadline."""

    title: str
    deadline: Moment
    """Last day (or moment) to apply; afterwards the call is listed as "abgelaufen"."""
    note: str = ""
    line: int = 0

    def is_open(self, today: dt.date) -> bool:
        return day_of(self.deadline) >= today


@dataclass(frozen=True)
class FundingProgramme(Publication):
    """content/funding/slug.md — a Förderprogramm."""

    path: str
    slug: str
    url: str
    title: str
    funder: str
    """Who gives the money, e.g. "Land Mecklenburg-Vorpommern"."""
    summary: str = ""
    max_amount: int | str | None = None
    """The most one project can get, in euros; or a placeholder text while it is unknown."""
    applicants: str = ""
    """Who may apply."""
    how_to_apply: str = ""
    documents: tuple[str, ...] = ()
    """Documents for applicants: file names or titles of entries in content/documents.yaml."""
    calls: tuple[FundingCall, ...] = ()
    topics: tuple[str, ...] = ()


@dataclass(frozen=True)
class Document:
    """One entry of content/documents.yaml: a file in content/documents/, or an address."""

    title: str
    file: str = ""
    """Its name in content/documents/ (published at /dokumente/<file>)."""
    url: str = ""
    """An external address instead of a file."""
    pending: str = ""
    """Written instead of `url` while the address is unknown: "[Vom Landkreis zu bestätigen: …]"."""
    description: str = ""
    language: str = "de"
    accessible: bool | None = None
    """Whether the file is barrierefrei (e.g. a tagged PDF); None: not stated."""
    format: str = ""
    """"PDF", "DOCX" … (from the file name; may be given for an address)."""
    size: int = 0
    """In bytes (files only)."""
    line: int = 0

    @property
    def source_path(self) -> str:
        return f"content/documents/{self.file}" if self.file else ""


@dataclass(frozen=True)
class ListIntro:
    """content/<kind>.md, e.g. content/funding.md: title and introduction of a list page."""

    path: str
    url: str
    title: str
    summary: str = ""


@dataclass(frozen=True)
class Site:
    """Everything loaded from the sources. Lists are sorted: press newest first, events by
    date, others by title. Items not published on `today` (draft, `publish` later) are not here
    unless drafts are shown; expired ones are (their pages stay reachable)."""

    config: SiteConfig
    press: tuple[PressRelease, ...] = ()
    projects: tuple[Project, ...] = ()
    pages: tuple[Page, ...] = ()
    members: tuple[Member, ...] = ()
    albums: tuple[Album, ...] = ()
    events: tuple[Event, ...] = ()
    groups: tuple[Group, ...] = ()
    funding: tuple[FundingProgramme, ...] = ()
    documents: tuple[Document, ...] = ()
    intros: tuple[ListIntro, ...] = ()
    today: dt.date = dt.date(1970, 1, 1)
    """The build date (options.build_date): decides upcoming and past events, open and expired
    calls, publish and expires."""


class Dated(Protocol):
    """Anything with publication dates: every Markdown content type."""

    @property
    def draft(self) -> bool: ...
    @property
    def publish(self) -> dt.date | None: ...
    @property
    def expires(self) -> dt.date | None: ...


def is_published(item: Dated, today: dt.date) -> bool:
    """On the site on `today`: no draft, and its `publish` day has come."""
    return not item.draft and (item.publish is None or item.publish <= today)


def is_current(item: Dated, today: dt.date) -> bool:
    """Shown in lists, feeds, calendars and the sitemap on `today`: not expired."""
    return item.expires is None or item.expires > today


def day_of(moment: Moment) -> dt.date:
    """The day of a moment (moments are in Berlin time)."""
    return moment.date() if isinstance(moment, dt.datetime) else moment


# ---------- Markdown texts and their links ----------


@dataclass(frozen=True)
class Source:
    """A Markdown text to convert: a file's body, or a Markdown value in a YAML file."""

    path: str
    body: str
    body_line: int


@dataclass(frozen=True)
class Link:
    """A link or image in a body that points into the site."""

    kind: str
    """"file" (relative path to a source file), "site" (a path like /kontakt/), "anchor"."""
    target: str
    """Site-root-relative source path for "file", the path for "site", "" for "anchor"."""
    fragment: str
    url: str
    """The destination as a browser reads Python-Markdown's output: escapes and character
    references resolved. Shown in messages."""
    tag: str
    """"a" or "img"."""
    alt: str = ""
    """The alternative text of an image, for its responsive <picture>."""
    line: int = 0
    """Lines from the body's first line to the one that holds the link."""
