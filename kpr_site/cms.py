"""Editing in the browser: /admin/ with Sveltia CMS, configured from our own content schema.

Sveltia CMS (npm `@sveltia/cms`, pinned in package.json and package-lock.json, installed by
`npm ci`) is a single script that edits the Markdown and YAML files of the repository through
the Git host's API, so every change is a commit that CI checks like any other. It is built only
when content/site.yaml has a `cms:` block; the public pages load nothing of it.

The CMS configuration is derived from the schemas that validate the files (SCHEMAS in
kpr_site.load, ALBUM_SCHEMA and PHOTO_SCHEMA in kpr_site.gallery): every field with its type,
required flag, allowed values, German label and hint. Adding a field to a schema adds it here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from html import escape
from pathlib import Path, PurePosixPath
from typing import Any

from kpr_site.errors import Location, SiteError
from kpr_site.fields import Field, boolean, date, date_or_time, integer, text, text_list
from kpr_site.funding import amount
from kpr_site.gallery import ALBUM_FILE, ALBUM_SCHEMA, GALLERY_DIR
from kpr_site.load import MEMBERS_PATH, MEMBERS_SCHEMA, SCHEMAS
from kpr_site.model import CmsSettings, SiteConfig
from kpr_site.schema import email, web_address

__all__ = ["ADMIN_URL", "PACKAGE", "admin_files", "cms_config", "field_config"]

ADMIN_URL = "/admin/"
PACKAGE = "@sveltia/cms"
_SCRIPT = "dist/sveltia-cms.js"
_GITLAB = "https://gitlab.com"
_GITHUB_HOSTS = ("https://api.github.com", "https://*.githubusercontent.com")

_DATE = {"widget": "datetime", "format": "YYYY-MM-DD", "date_format": "DD.MM.YYYY",
         "time_format": False}
_WIDGETS: dict[Callable[[Any], Any], dict[str, Any]] = {
    text: {"widget": "string"},
    date: _DATE,
    # The CMS offers the date; a time can still be written into the file by hand.
    date_or_time: _DATE,
    boolean: {"widget": "boolean"},
    integer: {"widget": "number", "value_type": "int"},
    text_list: {"widget": "list"},
    web_address: {"widget": "string"},
    email: {"widget": "string"},
    # A whole number of euros, or a placeholder while the amount is to be confirmed.
    amount: {"widget": "string"},
}
_KINDS: dict[str, dict[str, Any]] = {
    "image": {"widget": "image", "choose_url": False}, "markdown": {"widget": "markdown"},
}


def field_config(name: str, field: Field) -> dict[str, Any]:
    """One field of the CMS configuration, from its schema entry."""
    convert = field.convert
    config: dict[str, Any] = {"name": name, "label": field.label or name}
    if field.kind:
        config.update(_KINDS[field.kind])
    elif hasattr(convert, "allowed"):
        config.update(widget="select", options=list(convert.allowed))
    elif hasattr(convert, "schema"):
        config.update(widget="object", fields=_fields(convert.schema))
    elif hasattr(convert, "item_schema"):
        config.update(widget="list", fields=_fields(convert.item_schema))
    elif convert in _WIDGETS:
        config.update(_WIDGETS[convert])
    else:
        raise ValueError(f"no CMS widget for field {name!r}")
    config["required"] = field.required
    if field.hint:
        config["hint"] = field.hint
    return config


def _fields(schema: Mapping[str, Field]) -> list[dict[str, Any]]:
    return [field_config(name, field) for name, field in schema.items()]


_BODY = {"name": "body", "label": "Text", "widget": "markdown", "required": False,
         "hint": "Der Text in Markdown: „## “ beginnt eine Zwischenüberschrift, „- “ eine "
                 "Aufzählung."}


def _markdown_collection(kind: str, label: str, singular: str, slug: str) -> dict[str, Any]:
    return {
        "name": kind, "label": label, "label_singular": singular,
        "folder": f"content/{kind}", "extension": "md", "format": "frontmatter",
        "create": True, "slug": slug, "identifier_field": "title",
        "fields": [*_fields(SCHEMAS[kind]), _BODY],
    }


# Per content folder: the collection's names in the CMS and how a new file is named.
_MARKDOWN = {
    # The file name carries the date of the front matter (content/press/JJJJ-MM-TT-….md).
    "press": ("Pressemitteilungen", "Pressemitteilung",
              "{{fields.date | date('YYYY-MM-DD')}}-{{slug}}"),
    "projects": ("Projekte", "Projekt", "{{slug}}"),
    "pages": ("Seiten", "Seite", "{{slug}}"),
    "events": ("Termine", "Termin", "{{fields.start | date('YYYY-MM-DD')}}-{{slug}}"),
    "groups": ("Arbeitsgruppen", "Arbeitsgruppe", "{{slug}}"),
    "funding": ("Förderprogramme", "Förderprogramm", "{{slug}}"),
}


def _collections() -> list[dict[str, Any]]:
    # Every content folder of the schema; one without names in _MARKDOWN still appears.
    markdown = [_markdown_collection(kind, *_MARKDOWN.get(kind, (kind, kind, "{{slug}}")))
                for kind in SCHEMAS]
    return [
        *markdown,
        {"name": "members", "label": "Mitglieder", "files": [{
            "name": "members", "label": "Mitglieder des Präventionsrats", "file": MEMBERS_PATH,
            "fields": _fields(MEMBERS_SCHEMA),
        }]},
        {"name": "albums", "label": "Fotoalben", "label_singular": "Fotoalbum",
         "folder": GALLERY_DIR, "path": f"{{{{slug}}}}/{ALBUM_FILE.removesuffix('.yaml')}",
         "extension": "yaml", "format": "yaml", "create": True, "identifier_field": "title",
         # Photos go into the album's own folder; album.yaml names them without a path.
         "media_folder": "", "public_folder": "", "fields": _fields(ALBUM_SCHEMA)},
    ]


def cms_config(config: SiteConfig) -> dict[str, Any]:
    """The CMS configuration (Decap/Sveltia format) for this site."""
    assert config.cms is not None
    return {
        "backend": _backend(config.cms),
        "site_url": config.base_url,
        "display_url": config.base_url,
        "media_folder": GALLERY_DIR,
        "public_folder": f"/{GALLERY_DIR}",
        "slug": {"encoding": "ascii", "clean_accents": True, "sanitize_replacement": "-"},
        # A file keeps the keys it has: empty optional fields are not written.
        "output": {"omit_empty_optional_fields": True},
        # Photos come from the site's albums; no stock photo services (other hosts).
        "media_libraries": {"stock_assets": {"providers": []}},
        "collections": _collections(),
    }


def _backend(cms: CmsSettings) -> dict[str, Any]:
    backend: dict[str, Any] = {"name": cms.backend, "repo": cms.repo, "branch": cms.branch}
    if cms.backend == "gitlab":
        base = (cms.base_url or _GITLAB).rstrip("/")
        backend.update(auth_type="pkce", app_id=cms.app_id, base_url=base,
                       api_root=f"{base}/api/v4")
    elif cms.base_url:
        backend["base_url"] = cms.base_url.rstrip("/")
    return backend


def _policy(cms: CmsSettings) -> str:
    """The admin page's own Content-Security-Policy: the CMS script from this site, the Git
    host's API and nothing else (its web fonts on a CDN stay blocked: system fonts instead).
    Sveltia styles its components with inline styles, so style-src needs 'unsafe-inline'."""
    hosts = ((cms.base_url or _GITLAB).rstrip("/"),) if cms.backend == "gitlab" else _GITHUB_HOSTS
    remote = " ".join(hosts)
    return (f"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            f"img-src 'self' blob: data: {remote}; media-src 'self' blob:; frame-src 'self' blob:; "
            f"connect-src 'self' blob: data: {remote}; object-src 'none'; base-uri 'none'; "
            "form-action 'self'")


def admin_files(root: Path, config: SiteConfig) -> Iterator[tuple[PurePosixPath, bytes]]:
    """admin/index.html, admin/config.yml and the CMS script, or nothing without `cms:`."""
    if config.cms is None:
        return
    version, script = _package(root)
    script_name = f"sveltia-cms-{version}.js"
    admin = PurePosixPath(ADMIN_URL.strip("/"))
    yield admin / "index.html", _index_html(config, script_name).encode("utf-8")
    # Its translations, which the script would fetch from a CDN (see _self_hosted).
    for file in sorted((root / "node_modules" / PACKAGE / "locales").glob("*.json")):
        yield admin / f"{_LOCAL_BASE}@{version}" / "locales" / file.name, file.read_bytes()
    # JSON is YAML: the configuration needs no YAML writer, and its bytes are stable.
    yield admin / "config.yml", (json.dumps(cms_config(config), ensure_ascii=False, indent=2)
                                 + "\n").encode("utf-8")
    for font in _FONTS.values():
        yield admin / _FONT_DIR / font.name, (root / "node_modules" / font).read_bytes()
    yield admin / script_name, _self_hosted(script)


_LOCAL_BASE = "sveltia-cms"
_FONT_DIR = "sveltia-cms-fonts"
# What the script would load from CDNs → where it comes from instead (npm packages pinned in
# package.json). The icon font matters most: without it every icon shows its name as text.
_FONTS = {
    "https://cdn.jsdelivr.net/fontsource/fonts/material-symbols-outlined:vf@5.3.7/latin-wght-normal.woff2":
        PurePosixPath("@fontsource-variable/material-symbols-outlined/files/"
                      "material-symbols-outlined-latin-wght-normal.woff2"),
    "https://cdn.jsdelivr.net/fontsource/fonts/source-sans-3:vf@5.3.0/latin-wght-normal.woff2":
        PurePosixPath("@fontsource-variable/source-sans-3/files/source-sans-3-latin-wght-normal.woff2"),
    "https://cdn.jsdelivr.net/fontsource/fonts/noto-mono@5.3.0/latin-400-normal.woff2":
        PurePosixPath("@fontsource/noto-mono/files/noto-mono-latin-400-normal.woff2"),
}


def _self_hosted(script: bytes) -> bytes:
    """The script with its CDN addresses pointed at files beside it, so /admin/ loads nothing
    from elsewhere. Sveltia fetches the translation for the browser's language from
    `unpkg.com/@sveltia/cms@<version>/locales/<lang>.json`; blocked by the page's policy, it
    retried without end in a German browser (the page never became usable). Its update check
    then asks this site and finds nothing."""
    replacements = {"`https://unpkg.com/@sveltia/cms`": f"`./{_LOCAL_BASE}`",
                    **{url: f"{_FONT_DIR}/{file.name}" for url, file in _FONTS.items()}}
    for old, new in replacements.items():
        count = script.count(old.encode())
        if count != 1:
            raise SiteError(f"Unerwarteter Aufbau von {PACKAGE}/{_SCRIPT}: „{old}“ kommt "
                            f"{count}-mal statt einmal vor.", Location("package-lock.json"),
                            "Verwenden Sie die Versionen aus package-lock.json (npm ci) oder "
                            "passen Sie kpr_site/cms.py an die neue Version an.")
        script = script.replace(old.encode(), new.encode())
    return script


def _index_html(config: SiteConfig, script: str) -> str:
    assert config.cms is not None
    return f"""<!DOCTYPE html>
<html lang="de">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta http-equiv="Content-Security-Policy" content="{escape(_policy(config.cms), quote=False)}">
<title>Redaktion – {escape(config.title)}</title>
</head>
<body>
<script src="{escape(script)}"></script>
</body>
</html>
"""


def _package(root: Path) -> tuple[str, bytes]:
    """The CMS script from node_modules, if its version is the one package-lock.json pins."""
    hint = ("Führen Sie im Ordner der Website „npm ci“ aus (braucht Node.js); es installiert "
            "die in package-lock.json festgelegte Version. Ohne „cms:“ in content/site.yaml "
            "wird kein Redaktionssystem gebaut.")
    try:
        lock = json.loads((root / "package-lock.json").read_bytes())
        pinned = lock["packages"][f"node_modules/{PACKAGE}"]["version"]
    except (OSError, ValueError, KeyError, TypeError):
        raise SiteError(f"package-lock.json legt keine Version von {PACKAGE} fest.",
                        Location("package-lock.json"), hint) from None
    folder = root / "node_modules" / PACKAGE
    try:
        installed = json.loads((folder / "package.json").read_bytes()).get("version")
        script = (folder / _SCRIPT).read_bytes()
    except (OSError, ValueError):
        raise SiteError(f"Das Redaktionssystem ({PACKAGE}) ist nicht installiert.",
                        Location("package.json"), hint) from None
    if installed != pinned:
        raise SiteError(f"Installiert ist {PACKAGE} {installed}, package-lock.json verlangt {pinned}.",
                        Location("package-lock.json"), hint)
    return str(pinned), script
