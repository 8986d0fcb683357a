"""Walk content/ in sorted order and build the content model, collecting every error."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import time
import unicodedata
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar, cast

from kpr_site.config import CONFIG_PATH, load_config
from kpr_site.documents import load_documents
from kpr_site.errors import Location, SiteError
from kpr_site.events import EVENT_SCHEMA, make_event
from kpr_site.fields import (
    Field,
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
from kpr_site.funding import FUNDING_SCHEMA, make_funding
from kpr_site.gallery import attach_images, load_albums
from kpr_site.german import slugify
from kpr_site.groups import GROUP_SCHEMA, make_group
from kpr_site.inputs import input_errors, list_folder, walk_folder
from kpr_site.manifest import RACY_NS
from kpr_site.model import (
    PROJECT_STATUSES,
    SECTORS,
    Event,
    Funding,
    ListIntro,
    Member,
    Page,
    PressRelease,
    Project,
    Site,
    Source,
    is_published,
)
from kpr_site.options import build_date
from kpr_site.schema import (
    PUBLICATION,
    Known,
    Problems,
    check_publication,
    group_references,
    slug_from,
)
from kpr_site.urls import LIST_URLS, page_url, press_url, project_url

__all__ = [
    "MEMBERS_PATH", "MEMBERS_SCHEMA", "SCHEMAS", "LoadResult", "content_files", "load_site",
    "unused_files",
]

MEMBERS_PATH = "content/members.yaml"
_PRESS_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})-(.+)\.md")


@dataclass
class LoadResult:
    site: Site | None
    sources: dict[str, Source] = field(default_factory=dict)
    errors: list[SiteError] = field(default_factory=list)
    hashes: dict[str, str] | None = None
    """SHA-256 of every Markdown file as read, when asked for (a first build: the manifest
    then needs no second read of every file)."""
    scheduled: dict[str, dt.date] = field(default_factory=dict)
    """Files held back until their `publish` day, by path: a link to one names the day."""
    drafts: dict[str, int] = field(default_factory=dict)
    """Files marked `draft: true`, by path, with the line of that key."""
    lines: dict[str, Mapping[str, int]] = field(default_factory=dict)
    """The line of each front-matter key, by content file (drafts too), as parsed: later
    messages about a key (`image:`, `date:`, `draft:`) name it without reading the file again."""


_TITLE = Field(text, True, "Titel", "Die Überschrift, wie sie auf der Website erscheint.")
_IMAGE = Field(text, label="Bild", hint="Pfad zu einem Foto aus einem Album, z. B. "
               "/gallery/sitzung-2017/foto-1.jpg")
_IMAGE_ALT = Field(text, label="Bildbeschreibung", hint="Was auf dem Bild zu sehen ist; ohne "
                   "Angabe gilt der Alternativtext des Fotos im Album.")
_GROUPS = Field(text_list, label="Arbeitsgruppen",
                hint="Kurznamen der Arbeitsgruppen, zu denen dies gehört (Dateinamen in content/groups/).")
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
    "image": _IMAGE, "image_alt": _IMAGE_ALT, "groups": _GROUPS, **PUBLICATION,
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
    "groups": _GROUPS, **PUBLICATION,
}
_PAGE = {"title": _TITLE,
         "summary": Field(text, label="Zusammenfassung", hint="Ein bis zwei Sätze für Suchmaschinen."),
         "nav_order": Field(integer, label="Reihenfolge",
                            hint="Zahl für die Reihenfolge in Listen; kleinere zuerst."),
         **PUBLICATION}
_INTRO = {"title": _TITLE, "summary": Field(text, label="Zusammenfassung",
                                            hint="Ein bis zwei Sätze für Suchmaschinen.")}
_MEMBER = {"name": Field(text, True, "Name"),
           "sector": Field(choice(*SECTORS), True, "Bereich", "Polizei, Verwaltung oder Verbände."),
           "role": Field(text, label="Rolle im Präventionsrat", hint="z. B. Vorsitzende"),
           "function": Field(text, label="Funktion", hint="Dienststellung, z. B. Dezernentin für "
                             "Finanzen und Soziales"),
           "organisation": Field(text, label="Organisation")}
MEMBERS_SCHEMA = {
    "intro": Field(text, label="Einleitung", hint="Text über der Mitgliederliste.", kind="markdown"),
    "members": Field(list_of(_MEMBER, lambda v: v), True, "Mitglieder",
                     "Eine Person je Eintrag; die Vorsitzende zuerst."),
}
"""content/members.yaml (a bare list of members is read too)."""


def load_site(
    root: Path, drafts: bool = False, memo: YamlMemo | None = None, hash_files: bool = False,
    today: dt.date | None = None, files: FileMemo | None = None,
) -> LoadResult:
    """Read content/ below `root`. Drafts and items whose `publish` day is after `today` (the
    build date) are left out unless `drafts` is true; `memo` remembers parsed front matter
    between builds; `files`, kept by `serve`, the files as last loaded."""
    today = today or build_date()
    config, config_data, errors = load_config(root)
    errors += input_errors(root)
    result = LoadResult(None, errors=errors, hashes={} if hash_files else None)
    if config and config.intro and config_data:
        line = config_data.line("intro") or 1
        result.sources[CONFIG_PATH] = Source(CONFIG_PATH, config.intro, line)
    members = _load_members(root, result)
    documents, found = load_documents(root)
    result.errors += found
    known = Known(groups=_slugs(root, "groups"), projects=_slugs(root, "projects"),
                  people=[m.name for m in members],
                  documents=[*(d.file for d in documents if d.file), *(d.title for d in documents)])
    reading = _Reading(drafts, today, known, memo, files)
    if files is not None:
        files.start((drafts, today, known))
    loaded = {kind: _load_kind(root, kind, result, reading) for kind in _KINDS}
    press, projects, pages = loaded["press"], loaded["projects"], loaded["pages"]
    albums, found = load_albums(root)
    press, found_press = attach_images(root, press, albums, result.lines)
    projects, found_projects = attach_images(root, projects, albums, result.lines)
    result.errors += found + found_press + found_projects
    if config is None:
        return result
    result.site = Site(
        config=config,
        press=tuple(sorted(press, key=lambda p: (p.date, p.slug), reverse=True)),
        projects=tuple(sorted(projects, key=_by_title)),
        pages=tuple(sorted(pages, key=lambda p: (p.nav_order or 0, p.title.casefold()))),
        members=tuple(members),
        albums=tuple(albums),
        events=tuple(sorted(loaded["events"], key=_by_start)),
        groups=tuple(sorted(loaded["groups"], key=_by_title)),
        funding=tuple(sorted(loaded["funding"], key=_by_title)),
        documents=tuple(documents),
        intros=tuple(_load_intros(root, result)),
        today=today,
    )
    return result


def _by_title(item: Any) -> tuple[str, str]:
    return (item.title.casefold(), item.slug)


def _by_start(event: Event) -> tuple[bool, dt.date, dt.time, str]:
    """Dated events by their start (day, then time; all-day first), then those without a date."""
    start = event.start
    time = start.time() if isinstance(start, dt.datetime) else dt.time.min
    return (start is None, event.first_day or dt.date.min, time, event.slug)


def _slugs(root: Path, kind: str) -> frozenset[str]:
    """The slugs of every file of a folder (drafts too), known before any is parsed."""
    return frozenset(slugify(Path(path).stem) for _, path in content_files(root, kind))


def content_files(root: Path, kind: str, memo: FileMemo | None = None) -> list[tuple[Path, str]]:
    """The Markdown files of one content folder, sorted, as (file, site-relative path)."""
    folder = root / "content" / kind

    def listed() -> list[tuple[Path, str]]:
        if not folder.is_dir():
            return []
        return [(file, f"content/{kind}/{unicodedata.normalize('NFC', file.name)}")
                for file in list_folder(folder)
                if file.suffix == ".md" and not file.name.startswith((".", "_")) and file.is_file()]

    return memo.listing(folder, listed) if memo else listed()


_KNOWN = {"site.yaml", "members.yaml", "press", "projects", "pages", "events", "groups", "funding",
          "documents", "documents.yaml", *(f"{kind}.md" for kind in LIST_URLS)}


def unused_files(root: Path, used: Collection[str] = frozenset()) -> list[SiteError]:
    """Warnings for files in content/ that no build reads: `Meldung.MD`, `text.markdown`, a
    folder `content/press/2017/` — an editor expects them on the site and would not see why.
    `used` are the other files the build publishes (site-relative paths: a photo beside the
    text that shows it). Hidden and underscore files (editor swap files, drafts kept aside)
    are left alone."""
    warnings = []
    content = root / "content"
    for path, is_dir in walk_folder(content):
        rel = path.relative_to(content)
        if any(part.startswith((".", "_")) or part.endswith("~") for part in rel.parts):
            continue
        top_level = len(rel.parts) == 1
        site_path = unicodedata.normalize("NFC", f"content/{rel.as_posix()}")
        read = site_path in used or (
            rel.parts[0] in _KNOWN if top_level
            else len(rel.parts) == 2 and rel.parts[0] in _KNOWN
            and (path.suffix == ".md" or rel.parts[0] == "documents"))
        if not read and (not is_dir or top_level):
            warnings.append(SiteError(
                "Diese Datei wird nicht verwendet und erscheint nicht auf der Website.",
                Location(site_path), _unused_hint(rel), severity="warning"))
    return warnings


def _unused_hint(rel: Path) -> str:
    if rel.suffix.lower() in (".md", ".markdown", ".txt") and rel.suffix != ".md":
        return f"Benennen Sie sie in „{rel.with_suffix('.md').name}“ um (Endung .md, klein)."
    if rel.parts[0] == "documents":
        return ("Dokumente gehören direkt in content/documents/ (ohne Unterordner) und werden in "
                "content/documents.yaml beschrieben.")
    return ("Inhalte gehören als .md-Datei direkt in content/press/, content/projects/, "
            "content/pages/, content/events/, content/groups/ oder content/funding/ (ohne "
            "Unterordner); Fotos in gallery/.")


Maker = Callable[[str, dict[str, Any], Document, Known], Any]


@dataclass(frozen=True)
class _Reading:
    """How the content files of this build are read."""

    drafts: bool
    today: dt.date
    known: Known
    memo: YamlMemo | None
    files: FileMemo | None = None


def _load_kind(root: Path, kind: str, result: LoadResult, reading: _Reading) -> list[Any]:
    schema, make = _KINDS[kind]
    items = []
    for file, path in content_files(root, kind, reading.files):
        found = reading.files.load(file, path) if reading.files else None
        if found is None:
            data = file.read_bytes()
            sha256 = (hashlib.sha256(data).hexdigest()
                      if reading.files or result.hashes is not None else "")
            found = reading.files.same_bytes(path, sha256) if reading.files else None
            if found is None:
                try:
                    found = _load_file(decode_text(data, path), path, make, schema, reading)
                except SiteError as exc:
                    found = LoadedFile(None, False, None, (exc,), "")
                found = replace(found, sha256=sha256)
            if reading.files:
                reading.files.keep(file, path, found)
        if result.hashes is not None and found.sha256:
            result.hashes[path] = found.sha256
        result.errors.extend(found.errors)
        item = found.item
        if item is not None and not item.draft and not found.shown:
            result.scheduled[path] = item.publish
        if item is not None and item.draft:
            result.drafts[path] = found.lines.get("draft", 1)
        if found.source is not None:
            result.sources[path] = found.source
        if found.lines:
            result.lines[path] = found.lines
        if found.shown:
            items.append(item)
    return items


@dataclass(frozen=True)
class LoadedFile:
    """What one content file adds to the site."""

    item: Any | None
    """The item, or None if the file has errors."""
    shown: bool
    """Whether the item is published in this build (not a draft, its day has come)."""
    source: Source | None
    """Its body, to convert; also for a file that did not load: all its problems at once."""
    errors: tuple[SiteError, ...]
    sha256: str
    """Of the file's bytes ("" unless asked for)."""
    lines: Mapping[str, int] = field(default_factory=dict)
    """The line of each front-matter key."""


class FileMemo:
    """The content files as last loaded, kept by `kpr-site serve` between runs: a file whose
    stat is unchanged is not read again. A file changed so shortly before it was read that a
    second change in the same tick of the file system's clock could leave its stat as it was
    (git's "racy" case) is read again at the next run, and keeps what it loaded to only if its
    bytes are still the same (SHA-256). Valid for one reading context (drafts, build date, what
    items may refer to): a run in another starts afresh."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[tuple[int, ...], bool, LoadedFile]] = {}
        self._listings: dict[str, tuple[tuple[int, ...], list[Any]]] = {}
        self._context: object = None

    def start(self, context: object) -> None:
        if context != self._context:
            self._entries.clear()
            self._context = context

    def load(self, file: Path, path: str) -> LoadedFile | None:
        """The file as loaded before, if its stat proves it unchanged since."""
        entry = self._entries.get(path)
        if entry is None or not entry[1] or entry[0] != _stat(file):
            return None
        return entry[2]

    def same_bytes(self, path: str, sha256: str) -> LoadedFile | None:
        """The file as loaded before, if these are the bytes it was loaded from."""
        entry = self._entries.get(path)
        return entry[2] if entry and sha256 and entry[2].sha256 == sha256 else None

    def keep(self, file: Path, path: str, loaded: LoadedFile) -> None:
        signature = _stat(file)
        self._entries[path] = (signature, bool(signature) and not is_recent(signature[1]),
                               loaded)

    def listing(self, folder: Path, make: Callable[[], list[T]]) -> list[T]:
        """`make()`, the entries of `folder`, taken over while the folder is unchanged."""
        key = str(folder)
        signature = _stat(folder)
        known = self._listings.get(key)
        if known is not None and known[0] == signature:
            return cast(list[T], known[1])
        entries = make()
        if signature and not is_recent(signature[1]):
            self._listings[key] = (signature, entries)
        return entries


def is_recent(mtime_ns: int) -> bool:
    """Changed so shortly ago that a second change in the same tick of the file system's
    clock would leave the time as it is: such a stat proves nothing (the manifest's rule)."""
    return mtime_ns > time.time_ns() - RACY_NS


T = TypeVar("T")


def _stat(file: Path) -> tuple[int, ...]:
    try:
        st = os.stat(file)
    except OSError:
        return ()
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def _load_file(text: str, path: str, make: Maker, schema: dict[str, Field],
               reading: _Reading) -> LoadedFile:
    result = LoadResult(None)
    item = _load_item(text, path, make, schema, result, reading)
    shown = item is not None and (reading.drafts or is_published(item, reading.today))
    body = split_body(text) if item is None or shown else None
    return LoadedFile(item, shown, Source(path, *body) if body is not None else None,
                      tuple(result.errors), "", result.lines.get(path, {}))


def _load_item(
    text: str, path: str, make: Maker, schema: dict[str, Field], result: LoadResult,
    reading: _Reading,
) -> Any | None:
    """One content item, or None with its errors added to `result`."""
    try:
        doc = split_front_matter(text, path, reading.memo)
        result.lines[path] = {key[0]: line for key, line in doc.meta.lines.items()
                              if len(key) == 1 and isinstance(key[0], str)}
        return make(path, _checked(doc, path, schema), doc, reading.known)
    except SiteError as exc:
        result.errors.append(exc)
    except Problems as exc:
        result.errors.extend(exc.errors)
    return None


def _checked(doc: Document, path: str, schema: dict[str, Field]) -> dict[str, Any]:
    values, errors = validate(doc.meta, schema, path)
    if errors:
        raise Problems(errors)
    return values


def _make_press(path: str, values: dict[str, Any], doc: Document, known: Known) -> PressRelease:
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
    _raise_all(check_publication(values, doc, path) + group_references(values, doc, path, known))
    slug = slug_from(match.group(2), path)
    return PressRelease(path=path, slug=slug, url=press_url(values["date"], slug), **values)


def _make_project(path: str, values: dict[str, Any], doc: Document, known: Known) -> Project:
    slug = slug_from(Path(path).stem, path)
    funding = values.pop("funding", None)
    if funding is not None:
        funding = Funding(**funding)
    start, end = values.get("start"), values.get("end")
    errors = check_publication(values, doc, path) + group_references(values, doc, path, known)
    if start and end and end < start:
        errors.append(SiteError("Das Projektende liegt vor dem Projektbeginn.",
                                Location(path, doc.meta.line("end")), "Prüfen Sie „start“ und „end“."))
    _raise_all(errors)
    return Project(path=path, slug=slug, url=project_url(slug), funding=funding, **values)


def _make_page(path: str, values: dict[str, Any], doc: Document, known: Known) -> Page:
    _raise_all(check_publication(values, doc, path))
    slug = slug_from(Path(path).stem, path)
    return Page(path=path, slug=slug, url=page_url(slug), **values)


def _raise_all(errors: list[SiteError]) -> None:
    if errors:
        raise Problems(errors)


_KINDS: dict[str, tuple[dict[str, Field], Maker]] = {
    "press": (_PRESS, _make_press), "projects": (_PROJECT, _make_project),
    "pages": (_PAGE, _make_page), "events": (EVENT_SCHEMA, make_event),
    "groups": (GROUP_SCHEMA, make_group), "funding": (FUNDING_SCHEMA, make_funding),
}
"""Each Markdown content folder: its front-matter schema and the maker of its items."""


def _load_intros(root: Path, result: LoadResult) -> Iterator[ListIntro]:
    """content/<kind>.md: the title and introduction of a list page such as /foerderung/."""
    for kind, url in LIST_URLS.items():
        path = f"content/{kind}.md"
        file = root / path
        if not file.is_file():
            continue
        try:
            text = decode_text(file.read_bytes(), path)
            doc = split_front_matter(text, path)
            values = _checked(doc, path, _INTRO)
        except SiteError as exc:
            result.errors.append(exc)
            continue
        except Problems as exc:
            result.errors.extend(exc.errors)
            continue
        result.sources[path] = Source(path, doc.body, doc.body_line)
        yield ListIntro(path=path, url=url, **values)

SCHEMAS: dict[str, dict[str, Field]] = {kind: schema for kind, (schema, _) in _KINDS.items()}
"""The front matter of the Markdown files in each content folder (validation, scaffolds, CMS)."""



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
