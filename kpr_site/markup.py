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
from html import escape
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote
from xml.etree.ElementTree import Element

import markdown
from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor
from markdown.treeprocessors import Treeprocessor

from kpr_site import placeholders
from kpr_site.errors import Location, SiteError
from kpr_site.german import slugify

__all__ = [
    "CONVERTER_VERSION", "Converted", "LazyBody", "Link", "Substitution", "apply_refs", "convert",
    "line_of", "resolve_refs",
]

# Bump when the converter's output changes, so cached conversions are not reused.
CONVERTER_VERSION = f"10/{markdown.__version__}"

_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_SAFE_SCHEMES = {"http", "https", "mailto", "tel"}
# Only as the href/src of a tag: "kpr-ref-1" in prose or a code span stays text.
_PLACEHOLDER = re.compile(r'(<(?:a|img)\b[^<>]*?\s(?:href|src)=")kpr-ref-(\d+)"')
_IMG_TAG = re.compile(r'<img\b[^>]*?\ssrc="kpr-ref-(\d+)"[^>]*>')


@dataclass(frozen=True)
class Link:
    """A link or image in a body that points into the site."""

    kind: str
    """"file" (relative path to a source file), "site" (a path like /kontakt/), "anchor"."""
    target: str
    """Site-root-relative source path for "file", the path for "site", "" for "anchor"."""
    fragment: str
    raw: str
    """The reference as the editor wrote it, to find its line."""
    tag: str
    """"a" or "img"."""
    alt: str = ""
    """The alternative text of an image, for its responsive <picture>."""


@dataclass(frozen=True)
class Converted:
    """The result of converting one body, before links are resolved."""

    html: str
    links: tuple[Link, ...]
    anchors: tuple[str, ...]
    problems: tuple[tuple[str, str, str], ...]
    """Unsafe HTML found: (message, hint, text to search for the line)."""

    def to_json(self) -> dict[str, Any]:
        return {"html": self.html, **self.meta_json()}

    def meta_json(self) -> dict[str, Any]:
        """Everything but the HTML: what resolving links and planning images need."""
        return {"links": [list(vars(link).values()) for link in self.links],
                "anchors": list(self.anchors), "problems": [list(p) for p in self.problems],
                "empty": not self.html}

    @classmethod
    def from_json(cls, data: dict[str, Any], html: str | None = None) -> Converted:
        """From `to_json` (or from `meta_json` with the HTML given separately)."""
        return cls(data["html"] if html is None else html,
                   tuple(Link(*link) for link in data["links"]),
                   tuple(data["anchors"]), tuple(tuple(p) for p in data["problems"]))


class _LinkCollector(Treeprocessor):
    """Replace in-site hrefs/srcs with placeholders and remember what they pointed to."""

    def __init__(self, md: markdown.Markdown) -> None:
        super().__init__(md)
        self.source_dir = ""
        self.links: list[Link] = []
        self.problems: list[tuple[str, str, str]] = []

    def run(self, root: Element) -> None:
        _wrap_tables(root)
        for element in root.iter():
            _align_by_class(element)
            attribute = {"a": "href", "img": "src"}.get(element.tag)
            value = element.get(attribute) if attribute else None
            if attribute and value:
                alt = element.get("alt", "") if element.tag == "img" else ""
                element.set(attribute, self._classify(value.strip(), element.tag, alt))

    def _classify(self, ref: str, tag: str, alt: str = "") -> str:
        if ref.startswith("//"):
            return ref
        if _SCHEME.match(ref):
            scheme = ref.split(":", 1)[0].lower()
            # _HtmlAudit reports script URLs and data: images; one message per problem.
            audited = scheme in ("javascript", "vbscript") or (scheme == "data" and tag == "img")
            if scheme not in _SAFE_SCHEMES and not audited:
                self.problems.append((
                    f"Der Link „{ref[:60]}“ verwendet ein nicht erlaubtes Schema.",
                    "Erlaubt sind https://, http://, mailto: und tel:.", ref))
            return ref
        path, _, fragment = ref.partition("#")
        if not path:
            return self._remember(Link("anchor", "", fragment, ref, tag, alt))
        if path.startswith("/"):
            return self._remember(Link("site", path, fragment, ref, tag, alt))
        # Editors' tools write "f%C3%B6rderung.md" or decomposed umlauts; file names are NFC.
        path = unicodedata.normalize("NFC", unquote(path))
        target = posixpath.normpath(posixpath.join(self.source_dir, path))
        return self._remember(Link("file", target, fragment, ref, tag, alt))

    def _remember(self, link: Link) -> str:
        self.links.append(link)
        return f"kpr-ref-{len(self.links) - 1}"


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
        if element.text:
            element.text = self._fix(element.text)
        for child in element:
            self._walk(child)
            if child.tail:
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
        # Priority 1: after inline patterns and attr_list have produced every <a> and <img>.
        md.treeprocessors.register(_LinkCollector(md), "kpr_links", 1)


_FORBIDDEN_TAGS = {"script", "iframe", "frame", "frameset", "object", "embed", "applet", "base",
                   "link", "meta", "style", "form", "portal"}
_LOADING_ATTRS = {"src", "srcset", "poster", "data", "background", "action", "formaction"}


class _HtmlAudit(HTMLParser):
    """Find ids (anchor targets) and anything that would run script or load from elsewhere."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: list[str] = []
        self.problems: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _FORBIDDEN_TAGS:
            self.problems.append((
                f"Das HTML-Element <{tag}> ist im Inhalt nicht erlaubt.",
                "Eingebettete Skripte, Frames und fremde Inhalte gefährden Sicherheit und "
                "Datenschutz. Verlinken Sie externe Inhalte stattdessen.", f"<{tag}"))
            return  # one message per element, not one more for its src=
        for name, value in attrs:
            self._check_attribute(tag, name, value or "")

    def _check_attribute(self, tag: str, name: str, value: str) -> None:
        if name == "id":
            self.ids.append(value)
        # Browsers drop tabs, newlines and leading control characters in URLs, so
        # "java&#9;script:" runs as script: compare without them.
        lowered = re.sub(r"[\x00-\x20]", "", value).lower()
        if name.startswith("on"):
            self.problems.append((
                f"Das HTML-Attribut „{name}“ (Skript) ist im Inhalt nicht erlaubt.",
                "Entfernen Sie das Attribut; Inhalte dürfen keine Skripte enthalten.", name))
        elif lowered.startswith(("javascript:", "vbscript:")):
            self.problems.append((
                f"Ein „{lowered.split(':', 1)[0]}:“-Link ist im Inhalt nicht erlaubt.",
                "Entfernen Sie den Link oder verwenden Sie eine normale Webadresse.",
                value.split(":", 1)[0] + ":"))
        elif _loads(tag, name) and any(url.startswith(("http:", "https:", "//", "data:"))
                                       for url in _candidates(name, value)):
            self.problems.append((
                f"<{tag}> lädt Inhalte von einem anderen Server ({value[:60]}).",
                "Die Website darf keine fremden Server kontaktieren (Datenschutz). Legen Sie "
                "Bilder in gallery/ ab und binden Sie sie mit einem relativen Pfad ein.", value))
        elif name == "style" and "url(" in lowered:
            self.problems.append((
                "Ein style-Attribut mit url(…) ist im Inhalt nicht erlaubt.",
                "Entfernen Sie das style-Attribut.", "url("))


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
_FRAME_PREFIXES = ("start-", "presse-", "thema-", "sektor-", "status-")


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
        self.links: _LinkCollector = self.md.treeprocessors["kpr_links"]  # type: ignore[assignment]

    def convert(self, text: str, source_path: str) -> Converted:
        self.md.reset()
        self.links.source_dir = posixpath.dirname(source_path)
        self.links.links, self.links.problems = [], []
        html = self.md.convert(text)
        audit = _HtmlAudit()
        audit.feed(html)
        audit.close()
        return Converted(html, tuple(self.links.links), tuple(audit.ids),
                         tuple(self.links.problems + audit.problems))


_converter: _Converter | None = None


def convert(text: str, source_path: str) -> Converted:
    """Convert one Markdown body. `source_path` (relative to the site root) anchors its links."""
    global _converter
    if _converter is None:
        _converter = _Converter()
    return _converter.convert(text, source_path)


def line_of(needle: str, body: str, body_line: int, start: int = 0) -> int:
    """The file line where `needle` first occurs in the body from index `start` (else the
    body's first line)."""
    return body_line + body.count("\n", 0, _find(needle, body, start))


def _find(needle: str, body: str, start: int = 0) -> int:
    """Index of `needle` in `body` from `start`, ignoring case if need be; 0 if absent."""
    index = body.find(needle, start)
    if index < 0:
        index = body.lower().find(needle.lower(), start)
    if index < 0 and start:
        return _find(needle, body)
    return max(index, 0)


PictureFor = Callable[[Link, str], str | None]
"""(image link, alt text) → the `<picture>` HTML for a processed photo, or None."""


Substitution = tuple[str, str]
"""How one placeholder is filled: ("href", escaped URL) or ("picture", <picture> markup)."""


def resolve_refs(
    converted: Converted, path: str, body: str, body_line: int,
    url_for: Any, picture_for: PictureFor | None = None,
) -> tuple[tuple[Substitution, ...], list[SiteError]]:
    """What each placeholder becomes, from the links alone (the HTML is not needed):
    `url_for(link)` returns the href or raises SiteError; with `picture_for`, an image of a
    processed photo becomes its whole responsive `<picture>`."""
    errors: list[SiteError] = []
    searched: dict[str, int] = {}  # a reference written twice is found at its second place too

    def locate(needle: str) -> Location:
        index = _find(needle, body, searched.get(needle, 0))
        searched[needle] = index + 1
        return Location(path, body_line + body.count("\n", 0, index))

    subs: list[Substitution] = []
    for link in converted.links:
        picture = picture_for(link, link.alt) if picture_for and link.tag == "img" else None
        if picture is not None:
            subs.append(("picture", picture))
            continue
        try:
            # Escaped: a fragment like `#x" onclick="…` must stay inside the attribute.
            subs.append(("href", escape(str(url_for(link)))))
        except SiteError as exc:
            errors.append(SiteError(exc.message, locate(link.raw), exc.hint, exc.severity))
            subs.append(("href", "#"))
    for message, hint, needle in converted.problems:
        errors.append(SiteError(message, locate(needle), hint))
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

    def __reduce__(self) -> tuple[type, tuple[str]]:
        return (str, (f"{self.key}{self.subs!r}",))


