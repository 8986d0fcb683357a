"""Markdown → HTML: the one configured converter, link collection and the HTML safety check.

Conversion is a pure function of (text, source path) so its result can be cached by content
hash and computed in worker processes. Links to other files are left as placeholders
(`kpr-ref-N`) and filled in by `resolve_refs` and `apply_refs` once every page's URL is known: editing one
file then never invalidates the cached HTML of the files that link to it.
"""

from __future__ import annotations

import posixpath
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from html import escape, unescape
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote
from xml.etree.ElementTree import Element

import markdown
from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor
from markdown.serializers import RE_AMP
from markdown.treeprocessors import Treeprocessor
from markdown.util import AMP_SUBSTITUTE, AtomicString

from kpr_site import placeholders
from kpr_site.errors import Location, SiteError, shown
from kpr_site.german import slugify
from kpr_site.model import Link
from kpr_site.urls import SCHEME, is_external

__all__ = [
    "CONVERTER_VERSION",
    "SAFE_SCHEMES",
    "Converted",
    "LazyBody",
    "NoteFor",
    "Problem",
    "SourceLines",
    "Substitution",
    "apply_refs",
    "audit_attribute",
    "browser_url",
    "convert",
    "resolve_refs",
]

# Bump when the converter's output changes, so cached conversions are not reused.
CONVERTER_VERSION = f"13/{markdown.__version__}"

SAFE_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
# Only as the href/src of a tag: "kpr-ref-1" in prose or a code span stays text.
_PLACEHOLDER = re.compile(r'(<(?:a|img)\b[^<>]*?\s(?:href|src)=")kpr-ref-(\d+)"')
_IMG_TAG = re.compile(r'<img\b[^>]*?\ssrc="kpr-ref-(\d+)"[^>]*>')
# A whole link, for a note before its end tag (links do not nest).
_ANCHOR = re.compile(r'(<a\b[^<>]*?\shref=")kpr-ref-(\d+)("[^<>]*>.*?)(</a>)', re.DOTALL)


@dataclass(frozen=True)
class Converted:
    """The result of converting one body, before links are resolved."""

    html: str
    links: tuple[Link, ...]
    anchors: tuple[str, ...]
    problems: tuple[Problem, ...]
    """Unsafe HTML or URLs found."""

    def to_json(self) -> dict[str, Any]:
        return {"html": self.html, **self.meta_json()}

    def meta_json(self) -> dict[str, Any]:
        """Everything but the HTML: what resolving links and planning images need."""
        return {"links": [list(vars(link).values()) for link in self.links],
                "anchors": list(self.anchors), "problems": [list(vars(p).values()) for p in self.problems],
                "empty": not self.html}

    @classmethod
    def valid_json(cls, value: Any, with_html: bool = True) -> bool:
        """Whether `value` has the shape `to_json` (or `meta_json`) writes, with the right types:
        a cache entry is checked before it is used."""
        try:
            done = cls.from_json(value, html=None if with_html else "")
        except (KeyError, TypeError, ValueError, AttributeError):
            return False
        return (isinstance(value.get("empty"), bool) and isinstance(done.html, str)
                and all(isinstance(a, str) for a in done.anchors)
                and all(_typed(vars(link), Link) for link in done.links)
                and all(_typed(vars(problem), Problem) for problem in done.problems))

    @classmethod
    def from_json(cls, data: dict[str, Any], html: str | None = None) -> Converted:
        """From `to_json` (or from `meta_json` with the HTML given separately)."""
        return cls(data["html"] if html is None else html,
                   tuple(Link(*link) for link in data["links"]),
                   tuple(data["anchors"]), tuple(Problem(*p) for p in data["problems"]))


@dataclass(frozen=True)
class Problem:
    """Unsafe HTML or a refused URL in a body."""

    message: str
    hint: str
    needle: str
    """Text to search for in the body, to find the line (if `line` is not known)."""
    line: int | None = None
    """Lines from the body's first line, where known."""


def _typed(values: dict[str, Any], kind: type) -> bool:
    """Whether each field of a dataclass instance has its annotated type (str, int, int | None)."""
    types = {"str": str, "int": int, "int | None": (int, type(None))}
    return all(isinstance(values[name], types[str(annotation)])  # type: ignore[arg-type]
               for name, annotation in kind.__annotations__.items())


def browser_url(value: str) -> str:
    """The URL a browser follows for an attribute value in Python-Markdown's tree, once every
    treeprocessor has run: serialised the way Python-Markdown serialises attributes (a bare
    `&` escaped, character references kept), its `amp` placeholders restored (e-mail
    autolinks are written as `&#109;&#97;…`), then decoded as HTML. Looking links up in the
    tree before that (escapes still as STX…ETX, entities undecoded) is what broke every
    e-mail address, `\\*` and `&ouml;` in a destination."""
    # The serializer writes a bare `&` as `&amp;` (RE_AMP) and escapes <, > and ", which
    # decoding undoes; its `amp` placeholders become `&` after serialisation.
    return unescape(RE_AMP.sub("&amp;", value).replace(AMP_SUBSTITUTE, "&"))


_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")


class SourceLines:
    """Finds the line of a link destination in Markdown source, in document order: the text
    of each line is searched with backslash escapes and character references resolved, as
    they are in `browser_url`."""

    def __init__(self, text: str) -> None:
        # Escapes are undone in the whole text at once (an escape never spans a line break);
        # character references line by line, as one ("&#10;") may be a line break. Per line
        # for both, this was ~4 % of converting a release.
        escaped = _ESCAPED.sub(r"\1", text)
        if "&" in escaped:
            self.decoded = [unescape(line).lower() for line in escaped.split("\n")]
        else:
            self.decoded = escaped.lower().split("\n")
        self.cursor = (0, 0)

    def find(self, *needles: str) -> int:
        """The line of the first of `needles` after the previous find (a link written twice
        is found at its second place too); else searched from the top; else 0."""
        for line, column in (self.cursor, (0, 0)):
            for index in range(line, len(self.decoded)):
                text = self.decoded[index]
                found = [at for needle in needles if needle
                         and (at := text.find(needle.lower(), column if index == line else 0)) >= 0]
                if found:
                    self.cursor = (index, min(found) + 1)
                    return index
        return 0

    def line_of(self, needle: str) -> int | None:
        """The 1-based line holding `needle` as the browser reads it, or None."""
        for index, text in enumerate(self.decoded):
            if needle.lower() in text:
                return index + 1
        return None


class _LinkCollector(Treeprocessor):
    """Collect in-site links and put placeholders in their place; check every URL's scheme and
    every attribute in the tree and in the raw HTML Python-Markdown stashed.

    Runs last (priority -10), after `unescape` (0): the attribute values are then final but
    for serialisation, so what is looked up is what a browser would follow."""

    def __init__(self, md: markdown.Markdown) -> None:
        super().__init__(md)
        self.source_dir = ""
        self.lines = SourceLines("")
        self.links: list[Link] = []
        self.anchors: list[str] = []
        self.problems: list[Problem] = []

    def start(self, text: str, source_path: str) -> None:
        self.source_dir = posixpath.dirname(source_path)
        self.lines = SourceLines(text)
        self.links, self.anchors, self.problems = [], [], []

    def run(self, root: Element) -> None:
        _wrap_tables(root)
        for element in root.iter():
            _align_by_class(element)
            for name, value in element.items():
                self._attribute(element, name, browser_url(value))
        self._audit_raw_html()

    def _attribute(self, element: Element, name: str, url: str) -> None:
        if name == "id":
            self.anchors.append(url)
        found = audit_attribute(element.tag, name, url)
        is_link = (element.tag, name) in (("a", "href"), ("img", "src"))
        if is_link and not found:
            found = _scheme_problems(url.strip())
        self.problems += [Problem(*p, line=self.lines.find(p[2])) for p in found]
        url = url.strip()
        if is_link and url and not found and not is_external(url):
            alt = element.get("alt", "") if element.tag == "img" else ""
            element.set(name, self._internal(url, element.tag, alt))

    def _internal(self, url: str, tag: str, alt: str) -> str:
        path, _, fragment = url.partition("#")
        line = self.lines.find(url)
        if not path:
            return self._remember(Link("anchor", "", fragment, url, tag, alt, line))
        if path.startswith("/"):
            return self._remember(Link("site", path, fragment, url, tag, alt, line))
        # Editors' tools write "f%C3%B6rderung.md" or decomposed umlauts; file names are NFC.
        path = unicodedata.normalize("NFC", unquote(path))
        target = posixpath.normpath(posixpath.join(self.source_dir, path))
        return self._remember(Link("file", target, fragment, url, tag, alt, line))

    def _remember(self, link: Link) -> str:
        self.links.append(link)
        return f"kpr-ref-{len(self.links) - 1}"

    def _audit_raw_html(self) -> None:
        """Raw HTML never enters the tree: Python-Markdown stashes it and pastes it into the
        output at the end. Auditing the stash instead of re-parsing every whole body saved
        10 % of a cold build."""
        for block in self.md.htmlStash.rawHtmlBlocks:
            if isinstance(block, str) and "<" in block:
                audit = _HtmlAudit()
                audit.feed(block)
                audit.close()
                self.anchors += audit.ids
                self.problems += [Problem(*p, line=self.lines.find(p[2])) for p in audit.problems]


def _wrap_tables(root: Element) -> None:
    """Put each table in a focusable, labelled scroll region: a wide table then scrolls by
    keyboard too (axe: scrollable-region-focusable) instead of widening the page."""
    for parent in list(root.iter()):
        for index, child in enumerate(list(parent)):
            if child.tag == "table":
                wrapper = Element("div", {"class": "table-scroll", "role": "region",
                                          "tabindex": "0", "aria-label": "Tabelle"})
                wrapper.tail, child.tail = child.tail, None
                parent.remove(child)
                wrapper.append(child)
                parent.insert(index, wrapper)


def _align_by_class(element: Element) -> None:
    """Table alignment as a class (align-left/center/right) instead of an inline style, so
    the site works under a Content-Security-Policy without 'unsafe-inline'."""
    style = element.get("style", "")
    if element.tag in ("th", "td") and style.startswith("text-align:"):
        del element.attrib["style"]
        element.set("class", "align-" + style.split(":", 1)[1].strip(" ;"))


_NO_TYPOGRAPHY = frozenset({"code", "pre", "kbd", "samp", "script", "style"})
_OPENS_QUOTE = frozenset(" \t\n\u00a0([{/-–—„‚")  # a quote after these opens, else closes
_TYPOGRAPHY = re.compile(r'"|\'|\.\.\.|---|--')


class _GermanTypography(Treeprocessor):
    """German quotes „…“ and ‚…’, ellipsis and dashes in the text, not in code.

    Python-Markdown's smarty extension does this with a dozen inline patterns and doubled
    the conversion time (1.9 ms of 2.9 ms per press release, measured); one pass over the
    finished tree costs ~0.05 ms. A quote opens after a space, an opening bracket or a dash
    and closes otherwise; an apostrophe is ’. A backslash-escaped \\" stays straight.
    """

    def run(self, root: Element) -> None:
        self.previous = " "
        self._walk(root)

    def _walk(self, element: Element) -> None:
        if element.tag in _NO_TYPOGRAPHY:
            self.previous = "x"
            return
        # Atomic text is Python-Markdown's "leave as written": an autolink's URL, code.
        if element.text and not isinstance(element.text, AtomicString):
            element.text = self._fix(element.text)
        for child in element:
            self._walk(child)
            if child.tail and not isinstance(child.tail, AtomicString):
                child.tail = self._fix(child.tail)

    def _fix(self, text: str) -> str:
        def replace(match: re.Match[str]) -> str:
            mark = match.group()
            before = text[match.start() - 1] if match.start() else self.previous
            opens = before in _OPENS_QUOTE
            return {'"': "„" if opens else "“", "'": "‚" if opens else "’",
                    "...": "…", "---": "—", "--": "–"}[mark]

        result = _TYPOGRAPHY.sub(replace, text)
        self.previous = result[-1] if result else self.previous
        return result


class _OpenItem(InlineProcessor):
    """A placeholder "[Vom Landkreis zu bestätigen: …]" → `<mark class="offen">` around it."""

    ANCESTOR_EXCLUDES = ("mark",)  # Python-Markdown revisits new elements' text: mark once

    def handleMatch(  # type: ignore[override]
        self, m: re.Match[str], data: str
    ) -> tuple[Element, int, int]:
        mark = Element("mark", {"class": placeholders.CSS_CLASS})
        mark.text = m.group()
        return mark, m.start(), m.end()


class _SiteExtension(Extension):
    def extendMarkdown(self, md: markdown.Markdown) -> None:
        # After code spans (190) and backslash escapes (180), before links (160): emphasis
        # and links inside the placeholder still work.
        md.inlinePatterns.register(_OpenItem(placeholders.MARKER.pattern, md), "kpr_open", 175)
        # After attr_list (8) and abbr (7) have read their {…} and *[…] syntax, before toc (5)
        # builds the table of contents from the headings.
        md.treeprocessors.register(_GermanTypography(md), "kpr_typography", 6)
        md.ESCAPED_CHARS.extend(['"', "'"])  # \" keeps a straight quote
        # Last, after `unescape` (0): see _LinkCollector.
        md.treeprocessors.register(_LinkCollector(md), "kpr_links", -10)


_FORBIDDEN_TAGS = {"script", "iframe", "frame", "frameset", "object", "embed", "applet", "base",
                   "link", "meta", "style", "form", "portal"}
_LOADING_ATTRS = {"src", "srcset", "poster", "data", "background", "action", "formaction"}
Finding = tuple[str, str, str]
"""(message, hint, text to search for the line)."""


class _HtmlAudit(HTMLParser):
    """Find ids (anchor targets) and anything that would run script or load from elsewhere
    in raw HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: list[str] = []
        self.problems: list[Finding] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _FORBIDDEN_TAGS:
            self.problems.append((
                f"Das HTML-Element <{tag}> ist im Inhalt nicht erlaubt.",
                "Eingebettete Skripte, Frames und fremde Inhalte gefährden Sicherheit und "
                "Datenschutz. Verlinken Sie externe Inhalte stattdessen.", f"<{tag}"))
            return  # one message per element, not one more for its src=
        for name, value in attrs:
            if name == "id":
                self.ids.append(value or "")
            self.problems += audit_attribute(tag, name, value or "")


def audit_attribute(tag: str, name: str, value: str) -> list[Finding]:
    """What is wrong with one attribute (decoded value) of body HTML: script, or a URL that
    makes the browser load from elsewhere."""
    # Browsers drop tabs, newlines and leading control characters in URLs, so
    # "java&#9;script:" runs as script: compare without them.
    lowered = re.sub(r"[\x00-\x20]", "", value).lower()
    if name.startswith("on"):
        return [(f"Das HTML-Attribut „{shown(name)}“ (Skript) ist im Inhalt nicht erlaubt.",
                 "Entfernen Sie das Attribut; Inhalte dürfen keine Skripte enthalten.", name)]
    if lowered.startswith(("javascript:", "vbscript:")):
        return [(f"Ein „{lowered.split(':', 1)[0]}:“-Link ist im Inhalt nicht erlaubt.",
                 "Entfernen Sie den Link oder verwenden Sie eine normale Webadresse.",
                 value.split(":", 1)[0] + ":")]
    if _loads(tag, name) and any(is_external(url) for url in _candidates(name, value)):
        return [(f"<{shown(tag)}> lädt Inhalte von außerhalb der Website ({shown(value[:60])}).",
                 "Die Website darf keine fremden Server kontaktieren (Datenschutz). Legen Sie "
                 "Bilder in gallery/ ab und binden Sie sie mit einem relativen Pfad ein.", value)]
    if name == "style" and "url(" in lowered:
        return [("Ein style-Attribut mit url(…) ist im Inhalt nicht erlaubt.",
                 "Entfernen Sie das style-Attribut.", "url(")]
    return []


def _scheme_problems(url: str) -> list[Finding]:
    """A link with a scheme other than the allowed ones (the README lists them)."""
    scheme = url.split(":", 1)[0].lower() if SCHEME.match(url) else ""
    if not scheme or scheme in SAFE_SCHEMES:
        return []
    return [(f"Der Link „{shown(url[:60])}“ verwendet das nicht erlaubte Schema „{shown(scheme)}:“.",
             "Erlaubt sind https://, http://, mailto: und tel: sowie Links auf Dateien und "
             "Seiten der Website.", url)]


def _loads(tag: str, name: str) -> bool:
    """Whether the attribute makes the browser fetch its URL (SVG <image href>, <use href>)."""
    return name in _LOADING_ATTRS or (name in ("href", "xlink:href") and tag not in ("a", "area"))


def _candidates(name: str, value: str) -> list[str]:
    """The URLs of an attribute, lower-cased: srcset lists several ("a.jpg 1x, b.jpg 2x")."""
    urls = [part.split()[0] for part in value.split(",") if part.split()] if name == "srcset" else [value]
    return [re.sub(r"[\x00-\x20]", "", url).lower() for url in urls]


# Ids of the page frame around every body (templates/base.html: the skip link's target
# <main id="inhalt">); a heading "Inhalt" must not take them, or the skip link and the page's
# validity break.
_FRAME_IDS = frozenset({"inhalt", "footer-kontakt", "projekte-themen"})
_FRAME_PREFIXES = ("start-", "presse-", "thema-", "sektor-", "status-", "termine-", "gruppe-",
                   "foerderung-", "programm-", "projekt-")


def _heading_id(text: str, separator: str) -> str:
    """German-safe heading anchor ("Übersicht & Ziele" → "uebersicht-ziele")."""
    slug = slugify(text, separator)
    taken = slug in _FRAME_IDS or slug.startswith(_FRAME_PREFIXES)
    return f"{slug}{separator}abschnitt" if taken else slug


class _Converter:
    """One Markdown instance per process, reset between documents (≈3x faster than new ones)."""

    def __init__(self) -> None:
        self.md = markdown.Markdown(
            extensions=["abbr", "attr_list", "def_list", "fenced_code", "footnotes", "tables",
                        "toc", "sane_lists", _SiteExtension()],
            extension_configs={
                "toc": {"slugify": _heading_id, "toc_depth": "2-6"},
                "footnotes": {"BACKLINK_TITLE": "Zurück zur Fußnotenmarke %d im Text",
                              "SUPERSCRIPT_TEXT": "{}"},
            },
            output_format="html",
        )
        collector = self.md.treeprocessors["kpr_links"]
        assert isinstance(collector, _LinkCollector)
        self.links = collector

    def convert(self, text: str, source_path: str) -> Converted:
        self.md.reset()
        self.links.start(text, source_path)
        html = self.md.convert(text)
        return Converted(html, tuple(self.links.links), tuple(self.links.anchors),
                         tuple(self.links.problems))


_converter: _Converter | None = None


def convert(text: str, source_path: str) -> Converted:
    """Convert one Markdown body. `source_path` (relative to the site root) anchors its links."""
    global _converter
    if _converter is None:
        _converter = _Converter()
    return _converter.convert(text, source_path)


PictureFor = Callable[[Link, str], str | None]
"""(image link, alt text) → the `<picture>` HTML for a processed photo, or None."""


NoteFor = Callable[[Link], str | None]
"""A link → plain text shown at the end of the link, e.g. a document's „PDF, 245 kB“."""


Substitution = tuple[str, str, str]
"""How one placeholder is filled: ("href", escaped URL, escaped note or "") or ("picture",
<picture> markup, "")."""


def resolve_refs(
    converted: Converted, path: str, body_line: int,
    url_for: Callable[[Link], str], picture_for: PictureFor | None = None,
    note_for: NoteFor | None = None,
) -> tuple[tuple[Substitution, ...], list[SiteError]]:
    """What each placeholder becomes, from the links alone (the HTML is not needed):
    `url_for(link)` returns the href or raises SiteError; with `picture_for`, an image of a
    processed photo becomes its whole responsive `<picture>`; with `note_for`, a link gets a
    note before its end (a document's format and size)."""
    errors: list[SiteError] = []
    subs: list[Substitution] = []
    for link in converted.links:
        picture = picture_for(link, link.alt) if picture_for and link.tag == "img" else None
        if picture is not None:
            subs.append(("picture", picture, ""))
            continue
        try:
            # The URL is decoded (a real URL): escaped once for the attribute, so a fragment
            # like `#x" onclick="…` stays inside it.
            href = escape(url_for(link))
            note = note_for(link) if note_for and link.tag == "a" else None
            subs.append(("href", href, escape(note) if note else ""))
        except SiteError as exc:
            errors.append(SiteError(exc.message, Location(path, body_line + link.line), exc.hint,
                                    exc.severity))
            subs.append(("href", "#", ""))
    for problem in converted.problems:
        line = body_line + (problem.line or 0)
        errors.append(SiteError(problem.message, Location(path, line), problem.hint))
    return tuple(subs), errors


def apply_refs(html: str, subs: tuple[Substitution, ...]) -> str:
    """Fill the placeholders of converted HTML; ones written by hand in raw HTML stay."""

    def picture(match: re.Match[str]) -> str:
        index = int(match.group(1))
        ok = index < len(subs) and subs[index][0] == "picture"
        return subs[index][1] if ok else match.group(0)

    def href(match: re.Match[str]) -> str:
        index = int(match.group(2))
        if index >= len(subs) or subs[index][0] != "href":
            return match.group(0)
        return f'{match.group(1)}{subs[index][1]}"'

    def noted(match: re.Match[str]) -> str:
        index = int(match.group(2))
        if index >= len(subs) or subs[index][0] != "href" or not subs[index][2]:
            return match.group(0)
        return (f'{match.group(1)}{subs[index][1]}{match.group(3)} <span class="file-info">'
                f'({subs[index][2]})</span>{match.group(4)}')

    if any(sub[2] for sub in subs):
        html = _ANCHOR.sub(noted, html)
    return _PLACEHOLDER.sub(href, _IMG_TAG.sub(picture, html))


class LazyBody:
    """A body's finished HTML, made when a page is actually rendered.

    A rebuild that re-renders one page must not read 10,000 converted bodies from the cache
    (~0.5 s): it keeps this handle instead. Pickled (for page keys) it is its cache key and
    substitutions, which determine the HTML completely.
    """

    __slots__ = ("_load", "empty", "key", "subs")

    def __init__(self, key: str, subs: tuple[Substitution, ...], empty: bool,
                 load: Callable[[], str]) -> None:
        self.key, self.subs, self.empty, self._load = key, subs, empty, load

    def __str__(self) -> str:
        return apply_refs(self._load(), self.subs)

    def __html__(self) -> str:
        return str(self)

    def __bool__(self) -> bool:
        return not self.empty

    def fingerprint(self) -> str:
        """What the HTML is made from (the page key, kpr_site.cache.Fingerprint): the
        converted body's cache key and its link substitutions determine it completely."""
        return f"{self.key}{self.subs!r}"


