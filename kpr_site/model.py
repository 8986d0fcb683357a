"""The content model: what editors write, as frozen dataclasses. No I/O here.

Every item carries `path` (its source file relative to the site root, for error messages)
and `url` (its public URL path, e.g. "/presse/2017/neustart/"). Bodies are not part of the
model: the rendered Markdown lives in a separate mapping keyed by `path` (kpr_site.bodies), so
list pages and caches never carry the full text around.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

__all__ = [
    "CMS_BACKENDS",
    "PROJECT_STATUSES",
    "SECTORS",
    "Album",
    "CmsSettings",
    "Contact",
    "Funding",
    "Member",
    "NavItem",
    "Page",
    "Photo",
    "PressRelease",
    "Project",
    "Site",
    "SiteConfig",
]

PROJECT_STATUSES = ("geplant", "laufend", "abgeschlossen")
SECTORS = ("Polizei", "Verwaltung", "Verbände")


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
class SiteConfig:
    """content/site.yaml."""

    title: str
    description: str
    base_url: str
    """Absolute URL of the published site, ending in "/", e.g. "https://kpr.example.de/"."""
    language: str
    contact: Contact
    nav: tuple[NavItem, ...]
    intro: str = ""
    """Short introduction (Markdown) shown on the home page."""
    feedback_email: str = ""
    """Address for accessibility feedback (BITV), linked in every footer."""
    cms: CmsSettings | None = None
    """Editing in the browser at /admin/; None (the default) builds no /admin/."""

    @property
    def base_path(self) -> str:
        """The URL path the site lives under, "/" or e.g. "/kpr/" on a project site."""
        rest = self.base_url.split("://", 1)[-1]
        return "/" + rest.partition("/")[2]


@dataclass(frozen=True)
class PressRelease:
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
    draft: bool = False


@dataclass(frozen=True)
class Funding:
    program: str
    amount_eur: int | None = None


@dataclass(frozen=True)
class Project:
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
    draft: bool = False


@dataclass(frozen=True)
class Page:
    """content/pages/slug.md — a standalone page such as Kontakt or Impressum."""

    path: str
    slug: str
    url: str
    title: str
    summary: str = ""
    nav_order: int | None = None
    draft: bool = False


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
class Site:
    """Everything loaded from the sources. Lists are sorted: press newest first, others by title."""

    config: SiteConfig
    press: tuple[PressRelease, ...] = ()
    projects: tuple[Project, ...] = ()
    pages: tuple[Page, ...] = ()
    members: tuple[Member, ...] = ()
    albums: tuple[Album, ...] = ()
