"""The Jinja environment and page rendering: PageSpec → bytes. Writes nothing.

Autoescape is on and undefined variables raise, so a typo in a template is a build error that
names the template file and line.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import pickle
import re
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import jinja2
from markupsafe import Markup

from kpr_site import german
from kpr_site.cache import code_version, digest
from kpr_site.errors import Location, SiteError
from kpr_site.images import ImagePlan, picture_html
from kpr_site.links import document_label
from kpr_site.model import SiteConfig, day_of
from kpr_site.pages import PageSpec
from kpr_site.urls import document_url, topic_url

__all__ = ["Assets", "Renderer", "collect_assets"]

STATIC_DIR = "templates/static"
_TEMPLATE_REF = re.compile(r"""{%-?\s*(extends|include|import|from)\s+(["'])([^"']+)\2""")
_DYNAMIC_REF = re.compile(r"""{%-?\s*(extends|include|import|from)\s+[^"'\s]""")


@dataclass(frozen=True)
class Assets:
    """Static files, fingerprinted: name in templates/static → (site path, bytes)."""

    files: Mapping[str, tuple[str, bytes]]

    def url(self, name: str) -> str:
        if name not in self.files:
            raise SiteError(f"Die statische Datei „{name}“ gibt es nicht in {STATIC_DIR}/.")
        return self.files[name][0]


def collect_assets(root: Path) -> Assets:
    """Every file below templates/static, named `stem.<hash>.ext` for cache busting."""
    folder = root / STATIC_DIR
    files: dict[str, tuple[str, bytes]] = {}
    if folder.is_dir():
        for file in sorted(p for p in folder.rglob("*") if p.is_file()):
            if file.name.startswith("."):
                continue
            data = file.read_bytes()
            name = file.relative_to(folder).as_posix()
            pure = PurePosixPath(name)
            digest = hashlib.sha256(data).hexdigest()[:10]
            files[name] = (f"/static/{pure.with_name(f'{pure.stem}.{digest}{pure.suffix}')}", data)
    return Assets(files)


class Renderer:
    """Renders PageSpecs with the site's templates."""

    def __init__(self, root: Path, config: SiteConfig, assets: Assets,
                 extra_globals: Mapping[str, Any], cache_dir: Path | None = None,
                 images: Mapping[str, ImagePlan] | None = None) -> None:
        self.root = root
        self.templates = root / "templates"
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(self.templates),
            autoescape=jinja2.select_autoescape(["html", "xml", "svg"], default=True),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            # Compiled templates keyed by source checksum: saves ~50 ms per build.
            bytecode_cache=jinja2.FileSystemBytecodeCache(str(cache_dir)) if cache_dir else None,
        )
        base_path = config.base_path
        self.env.globals.update({
            "site": config,
            "url": lambda path: _join(base_path, path),
            "abs_url": lambda path: _join(config.base_url, path),
            "asset": lambda name: _join(base_path, assets.url(name)),
            "live_reload": False,
            **_image_globals(images or {}, base_path),
            **extra_globals,
        })
        self._template_keys: dict[str, str] = {}
        self._globals_key = digest(code_version(), repr(config), repr(sorted(extra_globals.items())),
                                   repr(sorted(assets.files.items())),
                                   repr(sorted((images or {}).items())))
        self.env.filters.update({
            "date_de": german.date_long, "date_short": german.date_short,
            "time_de": german.time_of_day,
            "isodate": lambda d: d.isoformat(), "euro": german.euro,
            "number_de": german.number, "slugify": german.slugify, "topic_url": topic_url,
            "day": day_of, "has_time": lambda m: isinstance(m, dt.datetime),
            "document_url": document_url, "document_label": document_label,
            "language_name": german.language_name,
        })

    def load_templates(self, names: set[str]) -> None:
        """Compile every template up front: syntax errors surface before anything is written,
        and forked render workers inherit the compiled templates."""
        for name in sorted(names):
            try:
                self.env.get_template(name)
            except jinja2.TemplateError as exc:
                raise self._translate(exc, PageSpec("/", name, "", "", {}, "")) from exc

    def template_key(self, name: str) -> str:
        """Hash of a template and every template it extends, includes or imports."""
        if name not in self._template_keys:
            source = self._source(name)
            if _DYNAMIC_REF.search(source):  # a computed name: depend on every template
                refs = set(self.env.list_templates())
            else:
                refs = {m.group(3) for m in _TEMPLATE_REF.finditer(source)}
            self._template_keys[name] = ""  # guards against include cycles
            parts = [source] + [self.template_key(r) for r in sorted(refs - {name})]
            self._template_keys[name] = digest(*parts)
        return self._template_keys[name]

    def page_key(self, spec: PageSpec) -> str:
        """Everything a page's bytes depend on: globals, template chain and context."""
        # pickle is ~4x faster than repr for dataclasses and just as deterministic here.
        return digest(self._globals_key, self.template_key(spec.template),
                      pickle.dumps(spec, protocol=5))

    def _source(self, name: str) -> str:
        try:
            return (self.templates / name).read_text(encoding="utf-8")
        except OSError:
            return ""

    def render(self, spec: PageSpec) -> bytes:
        """Render one page; template problems become SiteErrors with template and line."""
        try:
            template = self.env.get_template(spec.template)
            html = template.render({
                **spec.context,
                "body": Markup(spec.context.get("body", "")),
                "intro": Markup(spec.context.get("intro", "")),
                "title": spec.title, "description": spec.description,
                "current_url": spec.url, "og_type": spec.og_type,
            })
        except jinja2.TemplateError as exc:
            raise self._translate(exc, spec) from exc
        return html.encode("utf-8")

    def _translate(self, exc: jinja2.TemplateError, spec: PageSpec) -> SiteError:
        if isinstance(exc, jinja2.TemplateNotFound):
            return SiteError(f"Die Vorlage „{exc.name}“ fehlt (gebraucht für {spec.url}).",
                             Location(f"templates/{spec.template}"),
                             "Legen Sie die Vorlage im Ordner templates/ an.")
        if isinstance(exc, jinja2.TemplateSyntaxError):
            name = exc.filename or exc.name or spec.template
            return SiteError(f"Syntaxfehler in der Vorlage: {exc.message}.",
                             Location(self._relative(name), exc.lineno),
                             "Prüfen Sie die {% … %}- und {{ … }}-Klammern in dieser Zeile.")
        where = self._template_frame(exc) or Location(f"templates/{spec.template}")
        return SiteError(f"Fehler in der Vorlage beim Erzeugen von {spec.url}: "
                         f"{_explain(str(exc))}.", where,
                         "Prüfen Sie den Variablennamen; verfügbare Variablen stehen in "
                         "docs/templates.md.")

    def _template_frame(self, exc: BaseException) -> Location | None:
        """Jinja rewrites tracebacks so template lines appear as frames; take the innermost."""
        frames = [f for f in traceback.extract_tb(exc.__traceback__)
                  if f.filename.startswith(str(self.templates))]
        return Location(self._relative(frames[-1].filename), frames[-1].lineno) if frames else None

    def _relative(self, filename: str) -> str:
        path = Path(filename)
        if path.is_absolute() and path.is_relative_to(self.root):
            return path.relative_to(self.root).as_posix()
        return f"templates/{filename}"


def _image_globals(images: Mapping[str, ImagePlan], base_path: str) -> dict[str, Any]:
    """`image(path)` → its ImagePlan; `picture(path, alt, sizes, lazy)` → its `<picture>`."""

    def image(path: str) -> ImagePlan:
        if path not in images:
            raise SiteError(f"Zum Bild „{path}“ gibt es keine Bildvarianten.", Location(path),
                            "Nur Fotos aus gallery/ und Bilder, die der Inhalt verwendet, "
                            "werden aufbereitet.")
        return images[path]

    def picture(path: str, alt: str, sizes: str = "100vw", lazy: bool = True) -> Markup:
        return Markup(picture_html(image(path), alt, sizes, lambda u: _join(base_path, u), lazy))

    return {"image": image, "picture": picture}


def _join(base: str, path: str) -> str:
    """Prefix a site path with the base; full URLs (a nav item to another site) pass as is."""
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:|^//", path):
        return path
    return base.rstrip("/") + "/" + path.lstrip("/")


def _explain(message: str) -> str:
    if match := re.fullmatch(r"'(.+)' is undefined", message):
        return f"die Variable „{match.group(1)}“ ist nicht definiert"
    if match := re.fullmatch(r"'(.+)' has no attribute '(.+)'", message):
        return f"„{match.group(1)}“ hat kein Feld „{match.group(2)}“"
    return message
