"""Markdown → HTML: the one configured converter, link collection and the HTML safety check.

Conversion is a pure function of (text, source path) so its result can be cached by content
hash and computed in worker processes. Links to other files are left as placeholders
(`kpr-ref-N`) and filled in by `resolve_links` once every page's URL is known: editing one
file then never invalidates the cached HTML of the files that link to it.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from xml.etree.ElementTree import Element

import markdown
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor

from kpr_site.errors import Location, SiteError
from kpr_site.german import slugify

__all__ = ["CONVERTER_VERSION", "Converted", "Link", "convert", "line_of", "resolve_links"]

# Bump when the converter's output changes, so cached conversions are not reused.
CONVERTER_VERSION = f"1/{markdown.__version__}"

_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_SAFE_SCHEMES = {"http", "https", "mailto", "tel"}
_PLACEHOLDER = re.compile(r"kpr-ref-(\d+)")


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


@dataclass(frozen=True)
class Converted:
    """The result of converting one body, before links are resolved."""

    html: str
    links: tuple[Link, ...]
    anchors: tuple[str, ...]
    problems: tuple[tuple[str, str, str], ...]
    """Unsafe HTML found: (message, hint, text to search for the line)."""

    def to_json(self) -> dict[str, Any]:
        return {"html": self.html, "links": [list(vars(link).values()) for link in self.links],
                "anchors": list(self.anchors), "problems": [list(p) for p in self.problems]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Converted:
        return cls(data["html"], tuple(Link(*link) for link in data["links"]),
                   tuple(data["anchors"]), tuple(tuple(p) for p in data["problems"]))  # type: ignore[misc]


class _LinkCollector(Treeprocessor):
    """Replace in-site hrefs/srcs with placeholders and remember what they pointed to."""

    def __init__(self, md: markdown.Markdown) -> None:
        super().__init__(md)
        self.source_dir = ""
        self.links: list[Link] = []
        self.problems: list[tuple[str, str, str]] = []

    def run(self, root: Element) -> None:
        for element in root.iter():
            attribute = {"a": "href", "img": "src"}.get(element.tag)
            value = element.get(attribute) if attribute else None
            if attribute and value:
                element.set(attribute, self._classify(value.strip(), element.tag))

    def _classify(self, ref: str, tag: str) -> str:
        if ref.startswith("//"):
            return ref
        if _SCHEME.match(ref):
            if ref.split(":", 1)[0].lower() not in _SAFE_SCHEMES:
                self.problems.append((
                    f"Der Link „{ref[:60]}“ verwendet ein nicht erlaubtes Schema.",
                    "Erlaubt sind https://, http://, mailto: und tel:.", ref))
            return ref
        path, _, fragment = ref.partition("#")
        if not path:
            return self._remember(Link("anchor", "", fragment, ref, tag))
        if path.startswith("/"):
            return self._remember(Link("site", path, fragment, ref, tag))
        target = posixpath.normpath(posixpath.join(self.source_dir, path))
        return self._remember(Link("file", target, fragment, ref, tag))

    def _remember(self, link: Link) -> str:
        self.links.append(link)
        return f"kpr-ref-{len(self.links) - 1}"


class _SiteExtension(Extension):
    def extendMarkdown(self, md: markdown.Markdown) -> None:
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
        for name, value in attrs:
            self._check_attribute(tag, name, value or "")

    def _check_attribute(self, tag: str, name: str, value: str) -> None:
        if name == "id":
            self.ids.append(value)
        lowered = value.strip().lower()
        if name.startswith("on"):
            self.problems.append((
                f"Das HTML-Attribut „{name}“ (Skript) ist im Inhalt nicht erlaubt.",
                "Entfernen Sie das Attribut; Inhalte dürfen keine Skripte enthalten.", name))
        elif lowered.startswith(("javascript:", "vbscript:")):
            self.problems.append((
                "Ein „javascript:“-Link ist im Inhalt nicht erlaubt.",
                "Entfernen Sie den Link oder verwenden Sie eine normale Webadresse.",
                value.split(":", 1)[0] + ":"))
        elif name in _LOADING_ATTRS and (lowered.startswith(("http:", "https:", "//", "data:"))):
            self.problems.append((
                f"<{tag}> lädt Inhalte von einem anderen Server ({value[:60]}).",
                "Die Website darf keine fremden Server kontaktieren (Datenschutz). Legen Sie "
                "Bilder in gallery/ ab und binden Sie sie mit einem relativen Pfad ein.", value))
        elif name == "style" and "url(" in lowered:
            self.problems.append((
                "Ein style-Attribut mit url(…) ist im Inhalt nicht erlaubt.",
                "Entfernen Sie das style-Attribut.", "url("))


class _Converter:
    """One Markdown instance per process, reset between documents (≈3x faster than new ones)."""

    def __init__(self) -> None:
        self.md = markdown.Markdown(
            extensions=["abbr", "attr_list", "def_list", "fenced_code", "footnotes", "tables",
                        "toc", "smarty", "sane_lists", _SiteExtension()],
            extension_configs={
                "toc": {"slugify": slugify, "toc_depth": "2-6"},
                "smarty": {"substitutions": {"left-double-quote": "&bdquo;",
                                             "right-double-quote": "&ldquo;"}},
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


def line_of(needle: str, body: str, body_line: int) -> int:
    """The file line where `needle` first occurs in the body (else the body's first line)."""
    index = body.find(needle)
    if index < 0:
        index = body.lower().find(needle.lower())
    return body_line + body.count("\n", 0, index) if index >= 0 else body_line


def resolve_links(
    converted: Converted, path: str, body: str, body_line: int,
    url_for: Any, base_path: str,
) -> tuple[str, list[SiteError]]:
    """Fill in the placeholders: `url_for(link)` returns the href or raises SiteError."""
    errors: list[SiteError] = []

    def substitute(match: re.Match[str]) -> str:
        link = converted.links[int(match.group(1))]
        try:
            return str(url_for(link))
        except SiteError as exc:
            where = Location(path, line_of(link.raw, body, body_line))
            errors.append(SiteError(exc.message, where, exc.hint, exc.severity))
            return "#"

    html = _PLACEHOLDER.sub(substitute, converted.html)
    for message, hint, needle in converted.problems:
        errors.append(SiteError(message, Location(path, line_of(needle, body, body_line)), hint))
    return html, errors
