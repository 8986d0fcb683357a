"""`kpr-site check`: every problem of the whole site at once, without publishing anything.

It runs every step of the build except writing (`build.dry_run`: all front matter and YAML
errors, broken links to files, unsafe HTML, duplicate URLs, template errors on every page)
and adds what a build does not look at:

* `#anchors`: a fragment is valid if the rendered target page has an element with that id,
  so heading ids, `{#anker}` in the text and ids the templates emit (e.g. `#inhalt`) all
  count. Links to a path like `/kontakt/` must name a page that exists.
* body images without alt text (warning; photos in albums and `image:` need theirs anyway);
* drafts (warning: not published) and press releases dated in the future (warning);
* open items (warnings): every placeholder "[Vom Landkreis zu bestätigen: …]" in the files
  editors write, with its line; skeleton text of `kpr-site new` left in a file; an empty
  `summary`. `--strict`, the gate before publishing, makes each of them fatal.

Nothing is written but the caches.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import time
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import groupby
from pathlib import Path, PurePosixPath
from urllib.parse import unquote

from kpr_site.build import DryRun, dry_run
from kpr_site.errors import Location, SiteError
from kpr_site.frontmatter import decode_text, split_front_matter
from kpr_site.gallery import ALBUM_FILE, GALLERY_DIR
from kpr_site.german import counted
from kpr_site.inputs import list_folder, walk_folder
from kpr_site.markup import SourceLines
from kpr_site.model import Site
from kpr_site.options import BuildOptions
from kpr_site.placeholders import Found, find_markers, find_skeleton, shorten
from kpr_site.urls import is_external

__all__ = ["CheckResult", "check_site", "format_findings", "summary"]

_ID = re.compile(r"""\sid=(?:"([^"]*)"|'([^']*)')""")
_A_HREF = re.compile(r"""<a\s(?:[^>]*?\s)?href="([^"]*)\"""", re.IGNORECASE)
_IMG = re.compile(r"<img\s[^>]*>", re.IGNORECASE)
_ALT = re.compile(r"""\salt="([^"]*)\"""", re.IGNORECASE)
_EMPTY_ALT_MARKDOWN = re.compile(r"!\[\s*\]\(")


@dataclass(frozen=True)
class CheckResult:
    findings: list[SiteError]
    """Errors and warnings, sorted by file and line."""
    pages: int
    seconds: float

    @property
    def errors(self) -> list[SiteError]:
        return [f for f in self.findings if f.severity != "warning"]

    @property
    def warnings(self) -> list[SiteError]:
        return [f for f in self.findings if f.severity == "warning"]


def check_site(
    source: Path, options: BuildOptions | None = None, today: dt.date | None = None
) -> CheckResult:
    """Check everything below `source`; `today` (else the options' build date) decides what is
    published, expired and future-dated."""
    started = time.perf_counter()
    options = options or BuildOptions()
    if today is not None:
        options = replace(options, today=today)
    pages = _PageIndex()
    run = dry_run(source, options, pages.visit)
    texts = _Texts(source)
    findings = [*run.errors, *run.report.warnings]
    if run.site is not None:
        findings += _body_findings(run, pages, texts)
        findings += _future_press(run.site, run.loaded.lines, options.today)
    findings += _drafts(run)
    findings += _open_items(source)
    unique = {(str(f.location), f.message): f for f in findings}
    return CheckResult(sorted(unique.values(), key=SiteError.sort_key), len(run.specs),
                       time.perf_counter() - started)


@dataclass
class _PageIndex:
    """What the rendered site contains: every output URL, and the ids of each HTML page."""

    urls: set[str] = field(default_factory=set)
    ids: dict[str, set[str]] = field(default_factory=dict)

    def visit(self, path: PurePosixPath, data: bytes) -> None:
        url = "/" + path.as_posix()
        if path.name == "index.html":
            url = "/" + (path.parent.as_posix() + "/" if path.parent.name else "")
        self.urls.add(url)
        if path.suffix == ".html":
            text = data.decode("utf-8", errors="replace")
            self.ids[url] = {html.unescape(a or b) for a, b in _ID.findall(text)}

    def page(self, site_path: str) -> str | None:
        """The output URL a link to `site_path` reaches ("/kontakt" reaches "/kontakt/")."""
        for url in (site_path, site_path + "/"):
            if url in self.urls:
                return url
        return None


class _Texts:
    """Source files read on demand, to find the line of something in them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._cache: dict[str, str] = {}

    def text(self, path: str) -> str:
        if path not in self._cache:
            try:
                self._cache[path] = (self.root / path).read_text(encoding="utf-8", errors="replace")
            except OSError:
                self._cache[path] = ""
        return self._cache[path]

    def line(self, path: str, needle: str) -> int | None:
        """The line of `needle` (a link target as the browser reads it) in a source file: as
        written, else with the file's escapes and character references resolved (`#a\\_b`)."""
        index = self.text(path).find(needle)
        if index >= 0:
            return self.text(path).count("\n", 0, index) + 1
        return SourceLines(self.text(path)).line_of(needle)


def _page_of_source(run: DryRun) -> dict[str, str]:
    return {spec.source: spec.url for spec in run.specs if not spec.source.startswith("(")}


def _body_findings(run: DryRun, pages: _PageIndex, texts: _Texts) -> Iterator[SiteError]:
    assert run.site is not None
    base = run.site.config.base_path
    own_pages = _page_of_source(run)
    for path, lazy in run.bodies.items():
        body = str(lazy)
        for href in _A_HREF.findall(body):
            yield from _check_href(html.unescape(href), path, own_pages.get(path), base, pages, texts)
        yield from _images_without_alt(body, path, texts)


def _check_href(
    href: str, path: str, own_page: str | None, base: str, pages: _PageIndex, texts: _Texts
) -> Iterator[SiteError]:
    if is_external(href):
        return
    target, _, fragment = href.partition("#")
    target = target.split("?", 1)[0]
    if not target:
        page = own_page
    elif target.startswith(base):
        site_path = "/" + target[len(base):]
        page = pages.page(site_path)
        if page is None and _is_page_path(site_path):
            yield SiteError(
                f"Der Link „{site_path}“ zeigt auf eine Seite, die es nicht gibt.",
                Location(path, texts.line(path, site_path)),
                "Prüfen Sie die Adresse. Sicherer ist ein Link auf die Datei, z. B. "
                "„../pages/kontakt.md“: Dann prüft schon der Build, ob es sie gibt.")
    else:
        return
    ids = pages.ids.get(page or "")
    if fragment and ids is not None and fragment not in ids and unquote(fragment) not in ids:
        where = "auf dieser Seite" if not target else f"auf der Seite {page}"
        yield SiteError(
            f"Den Anker „#{fragment}“ gibt es nicht {where}.",
            Location(path, texts.line(path, "#" + fragment)),
            "Anker entstehen aus Überschriften („## Förderung“ → #foerderung). Prüfen Sie die "
            "Schreibweise oder geben Sie der Überschrift einen eigenen Anker: "
            "„## Überschrift {#anker}“.")


def _is_page_path(site_path: str) -> bool:
    """Pages end in "/" or ".html"; other files (images, feed) are checked by the build."""
    name = site_path.rsplit("/", 1)[-1]
    return not name or name.endswith(".html") or "." not in name


def _images_without_alt(body: str, path: str, texts: _Texts) -> Iterator[SiteError]:
    missing = [tag for tag in _IMG.findall(body)
               if not (alt := _ALT.search(tag)) or not alt.group(1).strip()]
    if not missing:
        return
    text = texts.text(path)  # the n-th image without alt is the n-th "![](" in the file
    lines = [text.count("\n", 0, m.start()) + 1 for m in _EMPTY_ALT_MARKDOWN.finditer(text)]
    for index in range(len(missing)):
        yield SiteError(
            "Ein Bild hat keinen Alternativtext.",
            Location(path, lines[index] if index < len(lines) else None),
            "Beschreiben Sie in den eckigen Klammern, was auf dem Bild zu sehen ist: "
            "![Vorsitzende Anja Kerl bei der Sitzung](bild.jpg). Blinde Menschen hören "
            "diesen Text statt des Bildes.", severity="warning")


def _future_press(site: Site, lines: Mapping[str, Mapping[str, int]],
                  today: dt.date) -> Iterator[SiteError]:
    for release in site.press:
        if release.date > today:
            yield SiteError(
                f"Das Datum {release.date.isoformat()} liegt in der Zukunft; die Meldung wird "
                "trotzdem sofort veröffentlicht.",
                Location(release.path, lines.get(release.path, {}).get("date")),
                "Prüfen Sie das Datum. Soll die Meldung erst später erscheinen, setzen Sie bis "
                "dahin „draft: true“.", severity="warning")


def _drafts(run: DryRun) -> Iterator[SiteError]:
    """Drafts are left out of the site (or, with --drafts, shown): name each one."""
    for path, line in run.loaded.drafts.items():  # in the order the files were read
        yield SiteError(
            "Entwurf – wird nicht veröffentlicht.", Location(path, line),
            "Zum Veröffentlichen „draft: true“ löschen. Die Vorschau zeigt Entwürfe mit "
            "„kpr-site serve --drafts“.", severity="warning")


_CONTENT_KINDS = ("press", "projects", "pages")


def _editor_files(source: Path) -> Iterator[tuple[Path, str]]:
    """Every file an editor writes, as (file, site-relative path): every Markdown and YAML
    file in content/ (drafts and every content type too), each album.yaml and the templates."""
    # Through the input walk: a pipe named like a template would block the read, and an odd
    # name has its own error from the build.
    for file, is_dir in walk_folder(source / "content"):
        hidden = any(part.startswith((".", "_")) for part in file.relative_to(source).parts)
        if not is_dir and not hidden and file.suffix in (".md", ".yaml"):
            yield file, _relative(source, file)
    for folder in list_folder(source / GALLERY_DIR):
        file = folder / ALBUM_FILE
        if not folder.name.startswith((".", "_")) and file.is_file():
            yield file, _relative(source, file)
    yield from ((file, _relative(source, file)) for file, is_dir in walk_folder(source / "templates")
                if not is_dir and file.suffix == ".html")


def _relative(source: Path, file: Path) -> str:
    return unicodedata.normalize("NFC", file.relative_to(source).as_posix())


def _open_items(source: Path) -> Iterator[SiteError]:
    """What is not finished: placeholders anywhere; skeleton text and an empty summary in
    content files. A file that cannot be read has its own error from the build."""
    for file, path in _editor_files(source):
        try:
            text = decode_text(file.read_bytes(), path)
        except (OSError, SiteError):
            continue
        for found in find_markers(text):
            yield _placeholder(path, found)
        if path.startswith("content/") and path.endswith(".md"):
            yield from (_skeleton(path, found) for found in find_skeleton(text))
            yield from _empty_summary(text, path)


def _placeholder(path: str, found: Found) -> SiteError:
    return SiteError(
        f"Offener Platzhalter „{shorten(found.text)}“.", Location(path, found.line),
        "Ersetzen Sie ihn samt Klammern durch den bestätigten Text; vorher wird die Website "
        "nicht veröffentlicht.", severity="warning")


def _skeleton(path: str, found: Found) -> SiteError:
    return SiteError(
        f"Hier steht noch das Textgerüst von „kpr-site new“: „{shorten(found.text, 50)}“",
        Location(path, found.line), "Ersetzen Sie den Absatz durch Ihren eigenen Text.",
        severity="warning")


# A cheap look at the text first: only a file with such a line is parsed.
_EMPTY_SUMMARY = re.compile(r"""^summary:[ \t]*(?:"[ \t]*"|'[ \t]*'|~|null)?[ \t]*(?:#.*)?$""",
                            re.MULTILINE)


def _empty_summary(text: str, path: str) -> Iterator[SiteError]:
    if not _EMPTY_SUMMARY.search(text):
        return
    try:
        meta = split_front_matter(text, path).meta
    except SiteError:
        return
    values = meta.value if isinstance(meta.value, dict) else {}
    if "summary" in values and not str(values["summary"] or "").strip():
        yield SiteError(
            "„summary“ ist leer.", Location(path, meta.line("summary")),
            "Schreiben Sie ein bis zwei Sätze über den Inhalt: Sie erscheinen in den "
            "Übersichten und bei Suchmaschinen.", severity="warning")


def format_findings(findings: Iterable[SiteError]) -> str:
    """Every finding as `path:line: message` with its hint, a blank line between files."""
    ordered = sorted(findings, key=SiteError.sort_key)
    groups = groupby(ordered, key=lambda f: f.location.path if f.location else "")
    return "\n\n".join("\n".join(str(f) for f in group) for _, group in groups)


def summary(findings: Sequence[SiteError], strict: bool = False) -> str:
    """'2 Fehler, 1 Warnung in 3 Dateien.'"""
    errors = sum(f.severity != "warning" for f in findings)
    warnings = len(findings) - errors
    files = len({f.location.path for f in findings if f.location})
    text = f"{counted(errors, 'Fehler', 'Fehler')}, {counted(warnings, 'Warnung', 'Warnungen')}"
    if files:
        text += f" in {counted(files, 'Datei', 'Dateien')}"
    if strict and warnings:
        text += " (--strict: Warnungen zählen als Fehler)"
    return text + "."
