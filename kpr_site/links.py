"""Turn the links an editor wrote into hrefs of the built site."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Mapping
from pathlib import Path

from kpr_site.errors import SiteError, shown
from kpr_site.german import date_long, file_size
from kpr_site.model import Document, Link
from kpr_site.urls import DOCUMENTS_URL, document_url, join_url

__all__ = ["LinkResolver", "document_label"]

_CONTENT_FOLDERS = ("content/press/", "content/projects/", "content/pages/", "content/events/",
                    "content/groups/", "content/funding/")


def document_label(document: Document) -> str:
    """What a link to a document says about it (BITV): „PDF, 245 kB“; for an address „PDF,
    externer Link“; nothing while the address is a placeholder."""
    if document.file:
        return f"{document.format}, {file_size(document.size)}"
    if document.pending:
        return ""
    return f"{document.format}, externer Link" if document.format else "externer Link"

AssetUrl = Callable[[str], str | None]
Pictures = Callable[[str, str], str | None]
"""(site path of an image, alt text) → its `<picture>` HTML, or None if it is no processed photo."""


class LinkResolver:
    """`resolve(link)` → href, or SiteError; `urls` maps source paths to page URLs."""

    def __init__(self, root: Path, urls: Mapping[str, str], base_path: str,
                 asset_url: AssetUrl | None = None, pictures: Pictures | None = None,
                 documents: Mapping[str, Document] | None = None,
                 scheduled: Mapping[str, dt.date] | None = None,
                 failed: Collection[str] = ()) -> None:
        self.root = root
        self.urls = urls
        self.base_path = base_path
        self.asset_url = asset_url
        self.pictures = pictures
        self.documents = documents or {}
        """Described files by source path ("content/documents/richtlinie.pdf")."""
        self.scheduled = scheduled or {}
        """Content files held back until their `publish` day, by path."""
        self.failed = failed
        """Content files that did not load (each has its own error)."""

    def picture(self, link: Link, alt: str) -> str | None:
        """The `<picture>` replacing a Markdown image of a photo (markup.PictureFor)."""
        if self.pictures is None or link.kind != "file" or link.tag != "img":
            return None
        return self.pictures(link.target, alt)

    def href(self, site_path: str, fragment: str = "") -> str:
        return join_url(self.base_path, site_path) + (
            f"#{fragment}" if fragment else "")

    def resolve(self, link: Link) -> str:
        if link.kind == "anchor":
            return f"#{link.fragment}"
        document = self.document(link)
        if document is not None:
            if link.tag == "img":
                raise SiteError(f"„{shown(link.url)}“ ist ein Dokument, kein Bild.",
                                hint="Verlinken Sie es ohne „!“: [Titel](…).")
            return self.href(document_url(document.file), link.fragment)
        if link.kind == "site":
            if link.target.startswith(DOCUMENTS_URL) and link.target != DOCUMENTS_URL:
                raise SiteError(f"Das Dokument „{shown(link.url)}“ gibt es nicht.",
                                hint="Verlinken Sie die Datei selbst, z. B. "
                                     "„../documents/richtlinie.pdf“: dann prüft der Build sie.")
            return self.href(link.target, link.fragment)
        if link.target in self.urls:
            return self.href(self.urls[link.target], link.fragment)
        return self._file(link)

    def document(self, link: Link) -> Document | None:
        """The described document a link points to (as a file or as /dokumente/<file>)."""
        if link.kind == "file":
            return self.documents.get(link.target)
        if link.kind == "site" and link.target.startswith(DOCUMENTS_URL):
            return self.documents.get("content/documents/" + link.target[len(DOCUMENTS_URL):])
        return None

    def note(self, link: Link) -> str | None:
        """Format and size shown with a link to a document (markup.NoteFor)."""
        document = self.document(link)
        return document_label(document) or None if document and link.tag == "a" else None

    def _file(self, link: Link) -> str:
        target = link.target
        if target.startswith("../") or target == "..":
            raise SiteError(f"Der Link „{shown(link.url)}“ zeigt aus dem Projektordner hinaus.",
                            hint="Verlinken Sie nur Dateien innerhalb der Website.")
        exists = (self.root / target).is_file()
        if target in self.scheduled:
            raise SiteError(f"Der Link „{shown(link.url)}“ zeigt auf eine Seite, die erst am "
                            f"{date_long(self.scheduled[target])} erscheint (publish).",
                            hint="Entfernen Sie den Link bis dahin oder veröffentlichen Sie beide "
                                 "am selben Tag.")
        if target.startswith("content/documents/") and exists:
            raise SiteError(f"Die Datei „{shown(link.url)}“ ist in content/documents.yaml nicht "
                            "(fehlerfrei) beschrieben.",
                            hint="Beschreiben Sie sie dort; dann wird sie unter /dokumente/ "
                                 "veröffentlicht.")
        if target in self.failed:
            raise SiteError(f"Der Link „{shown(link.url)}“ zeigt auf eine Seite, die wegen der "
                            "Fehler in ihrer Datei nicht erzeugt wird.",
                            hint=f"Beheben Sie zuerst die Fehler in {shown(target)}; dann stimmt "
                                 "auch dieser Link.")
        # A content file that exists but has no URL was left out as a draft; other .md files
        # (a README, notes) are simply not published and fall through to the message below.
        if exists and target.endswith(".md") and target.startswith(_CONTENT_FOLDERS):
            raise SiteError(f"Der Link „{shown(link.url)}“ zeigt auf einen Entwurf (draft: true), "
                            "der nicht veröffentlicht wird.",
                            hint="Veröffentlichen Sie die Zielseite oder entfernen Sie den Link.")
        url = self.asset_url(target) if exists and self.asset_url else None
        if url is not None:
            return url
        if exists:
            raise SiteError(f"Der Link „{shown(link.url)}“ zeigt auf eine Datei, die nicht "
                            "veröffentlicht wird.",
                            hint="Verlinken Sie Inhaltsseiten (.md) oder Bilder aus gallery/.")
        raise SiteError(f"Der Link „{shown(link.url)}“ zeigt auf eine Datei, die es nicht gibt "
                        f"({shown(target)}).",
                        hint="Prüfen Sie den Dateinamen und den relativen Pfad (z. B. "
                             "„../pages/kontakt.md“).")
