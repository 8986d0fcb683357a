"""Walk content/ in sorted order and build the content model, collecting every error."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kpr_site.config import CONFIG_PATH, load_config
from kpr_site.errors import Location, SiteError
from kpr_site.fields import (
    Field,
    boolean,
    choice,
    date,
    date_or_time,
    integer,
    list_of,
    mapping,
    text,
    text_list,
    validate,
    validate_list,
)
from kpr_site.frontmatter import (
    Document,
    YamlMemo,
    decode_text,
    parse_yaml,
    split_body,
    split_front_matter,
)
from kpr_site.gallery import attach_images, load_albums
from kpr_site.german import slugify
from kpr_site.model import (
    PROJECT_STATUSES,
    SECTORS,
    Funding,
    Member,
    Page,
    PressRelease,
    Project,
    Site,
)
from kpr_site.urls import page_url, press_url, project_url

__all__ = [
    "MEMBERS_PATH", "MEMBERS_SCHEMA", "SCHEMAS", "LoadResult", "Source", "content_files",
    "load_site", "unused_files",
]

MEMBERS_PATH = "content/members.yaml"
_PRESS_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})-(.+)\.md")


@dataclass(frozen=True)
class Source:
    """A Markdown text to convert: a file's body, or a Markdown value in a YAML file."""

    path: str
    body: str
    body_line: int


@dataclass
class LoadResult:
    site: Site | None
    sources: dict[str, Source] = field(default_factory=dict)
    errors: list[SiteError] = field(default_factory=list)
    hashes: dict[str, str] | None = None
    """SHA-256 of every Markdown file as read, when asked for (a first build: the manifest
    then needs no second read of every file)."""


_TITLE = Field(text, True, "Titel", "Die Überschrift, wie sie auf der Website erscheint.")
_DRAFT = Field(boolean, label="Entwurf",
               hint="Ein Entwurf erscheint nicht auf der Website (nur in der Vorschau mit --drafts).")
_IMAGE = Field(text, label="Bild", hint="Pfad zu einem Foto aus einem Album, z. B. "
               "/gallery/sitzung-2017/foto-1.jpg")
_IMAGE_ALT = Field(text, label="Bildbeschreibung", hint="Was auf dem Bild zu sehen ist; ohne "
                   "Angabe gilt der Alternativtext des Fotos im Album.")
_PRESS = {
    "title": _TITLE,
    "date": Field(date_or_time, True, "Datum",
                  "Tag der Veröffentlichung (JJJJ-MM-TT), auf Wunsch mit Uhrzeit."),
    "summary": Field(text, label="Zusammenfassung",
                     hint="Ein bis zwei Sätze für die Übersicht und für Suchmaschinen."),
    "tags": Field(text_list, label="Themen", hint="Themen, z. B. Suchtprävention, Jugend."),
    "author": Field(text, label="Autorin oder Autor"),
    "source": Field(text, label="Quelle", hint="Wo die Mitteilung zuerst erschien, z. B. "
                    "„Pressemitteilung des Landkreises Rostock vom 10.02.2017“."),
    "image": _IMAGE, "image_alt": _IMAGE_ALT, "draft": _DRAFT,
}
_PROJECT = {
    "title": _TITLE,
    "status": Field(choice(*PROJECT_STATUSES), True, "Status", "geplant, laufend oder abgeschlossen."),
    "summary": Field(text, label="Zusammenfassung", hint="Ein bis zwei Sätze für die Projektliste."),
    "topics": Field(text_list, label="Themen", hint="Themen, z. B. Verkehrssicherheit."),
    "funding": Field(mapping({
        "program": Field(text, True, "Förderprogramm"),
        "amount_eur": Field(integer, label="Betrag in Euro",
                            hint="Ganze Zahl ohne Punkt und Euro-Zeichen, z. B. 15000."),
    }), label="Förderung"),
    "start": Field(date, label="Beginn", hint="JJJJ-MM-TT"),
    "end": Field(date, label="Ende", hint="JJJJ-MM-TT; nicht vor dem Beginn."),
    "place": Field(text, label="Ort"), "target_group": Field(text, label="Zielgruppe"),
    "contact": Field(text, label="Kontakt"), "image": _IMAGE, "image_alt": _IMAGE_ALT,
    "draft": _DRAFT,
}
_PAGE = {"title": _TITLE,
         "summary": Field(text, label="Zusammenfassung", hint="Ein bis zwei Sätze für Suchmaschinen."),
         "nav_order": Field(integer, label="Reihenfolge",
                            hint="Zahl für die Reihenfolge in Listen; kleinere zuerst."),
         "draft": _DRAFT}
_MEMBER = {"name": Field(text, True, "Name"),
           "sector": Field(choice(*SECTORS), True, "Bereich", "Polizei, Verwaltung oder Verbände."),
           "role": Field(text, label="Rolle im Präventionsrat", hint="z. B. Vorsitzende"),
           "function": Field(text, label="Funktion", hint="Dienststellung, z. B. Dezernentin für "
                             "Finanzen und Soziales"),
           "organisation": Field(text, label="Organisation")}
SCHEMAS: dict[str, dict[str, Field]] = {"press": _PRESS, "projects": _PROJECT, "pages": _PAGE}
"""The front matter of the Markdown files in each content folder."""
MEMBERS_SCHEMA = {
    "intro": Field(text, label="Einleitung", hint="Text über der Mitgliederliste.", kind="markdown"),
    "members": Field(list_of(_MEMBER, lambda v: v), True, "Mitglieder",
                     "Eine Person je Eintrag; die Vorsitzende zuerst."),
}
"""content/members.yaml (a bare list of members is read too)."""


def load_site(
    root: Path, drafts: bool = False, memo: YamlMemo | None = None, hash_files: bool = False
) -> LoadResult:
    """Read content/ below `root`. Drafts are left out unless `drafts` is true; `memo`
    remembers parsed front matter between builds."""
    config, config_data, errors = load_config(root)
    result = LoadResult(None, errors=errors, hashes={} if hash_files else None)
    if config and config.intro and config_data:
        line = config_data.line("intro") or 1
        result.sources[CONFIG_PATH] = Source(CONFIG_PATH, config.intro, line)
    press = _load_kind(root, "press", _make_press, result, drafts, memo)
    projects = _load_kind(root, "projects", _make_project, result, drafts, memo)
    pages = _load_kind(root, "pages", _make_page, result, drafts, memo)
    members = _load_members(root, result)
    albums, found = load_albums(root)
    press, found_press = attach_images(root, press, albums)
    projects, found_projects = attach_images(root, projects, albums)
    result.errors += found + found_press + found_projects
    if config is None:
        return result
    result.site = Site(
        config=config,
        press=tuple(sorted(press, key=lambda p: (p.date, p.slug), reverse=True)),
        projects=tuple(sorted(projects, key=lambda p: (p.title.casefold(), p.slug))),
        pages=tuple(sorted(pages, key=lambda p: (p.nav_order or 0, p.title.casefold()))),
        members=tuple(members),
        albums=tuple(albums),
    )
    return result


def content_files(root: Path, kind: str) -> Iterator[tuple[Path, str]]:
    """The Markdown files of one content folder, sorted, as (file, site-relative path)."""
    folder = root / "content" / kind
    if not folder.is_dir():
        return
    for file in sorted(folder.iterdir()):
        if file.suffix == ".md" and not file.name.startswith((".", "_")) and file.is_file():
            yield file, f"content/{kind}/{unicodedata.normalize('NFC', file.name)}"


_KNOWN = {"site.yaml", "members.yaml", "press", "projects", "pages"}


def unused_files(root: Path) -> list[SiteError]:
    """Warnings for files in content/ that no build reads: `Meldung.MD`, `text.markdown`, a
    folder `content/press/2017/` — an editor expects them on the site and would not see why.
    Hidden and underscore files (editor swap files, drafts kept aside) are left alone."""
    warnings = []
    content = root / "content"
    for path in sorted(content.rglob("*")) if content.is_dir() else []:
        rel = path.relative_to(content)
        if any(part.startswith((".", "_")) or part.endswith("~") for part in rel.parts):
            continue
        top_level = len(rel.parts) == 1
        read = (rel.parts[0] in _KNOWN if top_level
                else len(rel.parts) == 2 and rel.parts[0] in _KNOWN and path.suffix == ".md")
        if not read and (path.is_file() or (top_level and path.is_dir())):
            warnings.append(SiteError(
                "Diese Datei wird nicht verwendet und erscheint nicht auf der Website.",
                Location(f"content/{rel.as_posix()}"), _unused_hint(rel), severity="warning"))
    return warnings


def _unused_hint(rel: Path) -> str:
    if rel.suffix.lower() in (".md", ".markdown", ".txt") and rel.suffix != ".md":
        return f"Benennen Sie sie in „{rel.with_suffix('.md').name}“ um (Endung .md, klein)."
    return ("Inhalte gehören als .md-Datei direkt in content/press/, content/projects/ oder "
            "content/pages/ (ohne Unterordner); Fotos in gallery/.")


Maker = Callable[[str, dict[str, Any], Document], Any]


def _load_kind(
    root: Path, kind: str, make: Maker, result: LoadResult, drafts: bool, memo: YamlMemo | None
) -> list[Any]:
    items = []
    for file, path in content_files(root, kind):
        try:
            data = file.read_bytes()
            if result.hashes is not None:
                result.hashes[path] = hashlib.sha256(data).hexdigest()
            text = decode_text(data, path)
        except SiteError as exc:
            result.errors.append(exc)
            continue
        item = _load_item(text, path, make, SCHEMAS[kind], result, memo)
        if item is None or drafts or not item.draft:
            # A file that did not load still has its body checked: all its problems at once.
            body = split_body(text)
            if body is not None:
                result.sources[path] = Source(path, *body)
        if item is not None and (drafts or not item.draft):
            items.append(item)
    return items


def _load_item(
    text: str, path: str, make: Maker, schema: dict[str, Field], result: LoadResult,
    memo: YamlMemo | None,
) -> Any | None:
    """One content item, or None with its errors added to `result`."""
    try:
        doc = split_front_matter(text, path, memo)
        return make(path, _checked(doc, path, schema), doc)
    except SiteError as exc:
        result.errors.append(exc)
    except _Invalid as exc:
        result.errors.extend(exc.errors)
    return None


class _Invalid(Exception):
    def __init__(self, errors: list[SiteError]) -> None:
        self.errors = errors


def _checked(doc: Document, path: str, schema: dict[str, Field]) -> dict[str, Any]:
    values, errors = validate(doc.meta, schema, path)
    if errors:
        raise _Invalid(errors)
    return values


def _slug(stem: str, path: str) -> str:
    slug = slugify(stem)
    if not slug:
        raise SiteError("Aus dem Dateinamen lässt sich keine Adresse bilden.", Location(path),
                        "Verwenden Sie Buchstaben oder Ziffern im Dateinamen.")
    return slug


def _make_press(path: str, values: dict[str, Any], doc: Document) -> PressRelease:
    name = path.rsplit("/", 1)[1]
    match = _PRESS_NAME.fullmatch(name)
    when = values.pop("date")
    values["date"], values["time"] = (
        (when.date(), when) if isinstance(when, dt.datetime) else (when, None))
    if not match:
        raise SiteError(
            "Der Dateiname einer Pressemitteilung muss mit dem Datum beginnen.", Location(path),
            "Benennen Sie die Datei z. B. „2017-02-10-praeventionsrat-startet.md“.")
    if match.group(1) != values["date"].isoformat():
        raise SiteError(
            f"Das Datum im Dateinamen ({match.group(1)}) passt nicht zum Datum in den "
            f"Kopfdaten ({values['date'].isoformat()}).",
            Location(path, doc.meta.line("date")),
            "Korrigieren Sie das Datum oder den Dateinamen, damit beide übereinstimmen.")
    slug = _slug(match.group(2), path)
    return PressRelease(path=path, slug=slug, url=press_url(values["date"], slug), **values)


def _make_project(path: str, values: dict[str, Any], doc: Document) -> Project:
    slug = _slug(Path(path).stem, path)
    funding = values.pop("funding", None)
    if funding is not None:
        funding = Funding(**funding)
    start, end = values.get("start"), values.get("end")
    if start and end and end < start:
        raise SiteError("Das Projektende liegt vor dem Projektbeginn.",
                        Location(path, doc.meta.line("end")), "Prüfen Sie „start“ und „end“.")
    return Project(path=path, slug=slug, url=project_url(slug), funding=funding, **values)


def _make_page(path: str, values: dict[str, Any], doc: Document) -> Page:
    slug = _slug(Path(path).stem, path)
    return Page(path=path, slug=slug, url=page_url(slug), **values)



def _load_members(root: Path, result: LoadResult) -> list[Member]:
    file = root / MEMBERS_PATH
    if not file.is_file():
        return []
    try:
        data = parse_yaml(decode_text(file.read_bytes(), MEMBERS_PATH), MEMBERS_PATH)
    except SiteError as exc:
        result.errors.append(exc)
        return []
    prefix: tuple[str, ...] = ()
    if isinstance(data.value, dict):
        values, errors = validate(data, MEMBERS_SCHEMA, MEMBERS_PATH)
        result.errors.extend(errors)
        if errors:
            return []
        if values.get("intro"):
            result.sources[MEMBERS_PATH] = Source(MEMBERS_PATH, values["intro"],
                                                  data.line("intro") or 1)
        prefix = ("members",)
    items, errors = validate_list(data, _MEMBER, MEMBERS_PATH, prefix)
    result.errors.extend(errors)
    return [Member(line=line, **values) for values, line in items]
