"""Turn the links an editor wrote into hrefs of the built site."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from kpr_site.errors import SiteError, shown
from kpr_site.markup import Link

__all__ = ["LinkResolver"]

_CONTENT_FOLDERS = ("content/press/", "content/projects/", "content/pages/")

AssetUrl = Callable[[str], str | None]
Pictures = Callable[[str, str], str | None]
"""(site path of an image, alt text) → its `<picture>` HTML, or None if it is no processed photo."""


class LinkResolver:
    """`resolve(link)` → href, or SiteError; `urls` maps source paths to page URLs."""

    def __init__(self, root: Path, urls: Mapping[str, str], base_path: str,
                 asset_url: AssetUrl | None = None, pictures: Pictures | None = None) -> None:
        self.root = root
        self.urls = urls
        self.base_path = base_path
        self.asset_url = asset_url
        self.pictures = pictures

    def picture(self, link: Link, alt: str) -> str | None:
        """The `<picture>` replacing a Markdown image of a photo (markup.PictureFor)."""
        if self.pictures is None or link.kind != "file" or link.tag != "img":
            return None
        return self.pictures(link.target, alt)

    def href(self, site_path: str, fragment: str = "") -> str:
        return self.base_path.rstrip("/") + "/" + site_path.lstrip("/") + (
            f"#{fragment}" if fragment else "")

    def resolve(self, link: Link) -> str:
        if link.kind == "anchor":
            return f"#{link.fragment}"
        if link.kind == "site":
            return self.href(link.target, link.fragment)
        if link.target in self.urls:
            return self.href(self.urls[link.target], link.fragment)
        return self._file(link)

    def _file(self, link: Link) -> str:
        target = link.target
        if target.startswith("../") or target == "..":
            raise SiteError(f"Der Link „{shown(link.url)}“ zeigt aus dem Projektordner hinaus.",
                            hint="Verlinken Sie nur Dateien innerhalb der Website.")
        exists = (self.root / target).is_file()
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
                             "„../pages/foerderung.md“).")
