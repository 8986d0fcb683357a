"""The Jinja environment and page rendering: PageSpec → bytes. Writes nothing.

Autoescape is on and undefined variables raise, so a typo in a template is a build error that
names the template file and line.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path, PurePosixPath
from typing import Any

import jinja2
from markupsafe import Markup, escape

from kpr_site import german, placeholders
from kpr_site.cache import Damaged, Fingerprint, code_version, digest, read_sealed, store_sealed
from kpr_site.errors import Location, SiteError
from kpr_site.images import ImagePlan, picture_html, prioritise_first_image
from kpr_site.inputs import walk_folder
from kpr_site.links import document_label
from kpr_site.model import SiteConfig, day_of
from kpr_site.pages import PageSpec
from kpr_site.urls import document_url, join_url, topic_url

__all__ = ["Assets", "Renderer", "collect_assets", "tab_title"]

STATIC_DIR = "templates/static"
_TEMPLATE_REF = re.compile(r"""{%-?\s*(extends|include|import|from)\s+(["'])([^"']+)\2""")
_DYNAMIC_REF = re.compile(r"""{%-?\s*(extends|include|import|from)\s+[^"'\s]""")
_SPEC_FIELDS = tuple(field.name for field in fields(PageSpec))


@dataclass(frozen=True)
class Assets:
    """Static files, fingerprinted: name in templates/static → (site path, bytes)."""

    files: Mapping[str, tuple[str, bytes]]

    def url(self, name: str) -> str:
        if name not in self.files:
            raise SiteError(f"Die statische Datei „{name}“ gibt es nicht in {STATIC_DIR}/.",
                            hint=f"Legen Sie die Datei in {STATIC_DIR}/ an oder korrigieren "
                            "Sie den Namen in asset(…) in dieser Zeile.")
        return self.files[name][0]


def collect_assets(root: Path, generated: Mapping[str, bytes] | None = None) -> Assets:
    """Every file below templates/static, and the `generated` ones (the theme's stylesheet),
    named `stem.<hash>.ext` for cache busting."""
    folder = root / STATIC_DIR
    found = {file.relative_to(folder).as_posix(): file.read_bytes()
             for file, is_dir in walk_folder(folder) if not is_dir and not file.name.startswith(".")}
    files: dict[str, tuple[str, bytes]] = {}
    for name, data in {**found, **(generated or {})}.items():
        pure = PurePosixPath(name)
        digest = hashlib.sha256(data).hexdigest()[:10]
        files[name] = (f"/static/{pure.with_name(f'{pure.stem}.{digest}{pure.suffix}')}", data)
    return Assets(files)


class Renderer:
    """Renders PageSpecs with the site's templates."""

    def __init__(self, root: Path, config: SiteConfig, assets: Assets,
                 extra_globals: Mapping[str, Any], cache_dir: Path | None = None,
                 images: Mapping[str, ImagePlan] | None = None,
                 fingerprint: Fingerprint | None = None) -> None:
        self.root = root
        self.templates = root / "templates"
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(self.templates),
            autoescape=jinja2.select_autoescape(["html", "xml", "svg"], default=True),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            bytecode_cache=_SealedBytecodeCache(cache_dir) if cache_dir else None,
        )
        base_path = config.base_path
        self.env.globals.update({
            "site": config,
            "url": lambda path: join_url(base_path, path),
            "abs_url": lambda path: join_url(config.base_url, path),
            "asset": lambda name: join_url(base_path, assets.url(name)),
            "live_reload": False,
            "tab_title": lambda title: tab_title(title, config.short_title or config.title),
            **_image_globals(images or {}, base_path),
            **extra_globals,
        })
        self._template_keys: dict[str, str] = {}
        self._fingerprint = fingerprint or Fingerprint()
        self._globals_key = digest(code_version(), repr(config), repr(sorted(extra_globals.items())),
                                   repr(sorted(assets.files.items())),
                                   repr(sorted((images or {}).items())))
        self.env.filters.update({
            "date_de": german.date_long, "date_short": german.date_short,
            "time_de": german.time_of_day,
            "isodate": lambda d: d.isoformat(), "euro": german.euro,
            "number_de": german.number, "slugify": german.slugify, "topic_url": topic_url,
            "mark_open": _mark_open,
            "day": day_of, "has_time": lambda m: isinstance(m, dt.datetime),
            "document_url": document_url, "document_label": document_label,
            "language_name": german.language_name,
        })
        self.env.tests["placeholder"] = lambda value: placeholders.has_marker(str(value))

    @property
    def damaged_cache_entries(self) -> int:
        """Compiled templates found damaged in the cache (and compiled again)."""
        cache = self.env.bytecode_cache
        return cache.damaged if isinstance(cache, _SealedBytecodeCache) else 0

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
        # The spec's fields, not the spec: Fingerprint keeps the bytes of every dataclass it
        # walks (a release is on several pages), and a list page's are those of all its
        # releases — kept for every spec, ~110 MB at 10,000 pages, inherited by each worker.
        values = tuple(getattr(spec, name) for name in _SPEC_FIELDS)
        return self._fingerprint.named(spec.url, values, self._globals_key,
                                       self.template_key(spec.template))

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
        except SiteError as exc:  # from a global such as asset(): add the template's line
            if exc.location is not None:
                raise
            where = self._template_frame(exc) or Location(f"templates/{spec.template}")
            raise replace(exc, location=where) from exc
        return prioritise_first_image(html).encode("utf-8")

    def _translate(self, exc: jinja2.TemplateError, spec: PageSpec) -> SiteError:
        if isinstance(exc, jinja2.TemplateNotFound):
            # An include or extends names the line that asks for it; a page's own template
            # names the file to create.
            return SiteError(f"Die Vorlage „{exc.name}“ fehlt (gebraucht für {spec.url}).",
                             self._template_frame(exc) or Location(f"templates/{spec.template}"),
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
                  if self._in_templates(f.filename)]
        return Location(self._relative(frames[-1].filename), frames[-1].lineno) if frames else None

    def _in_templates(self, filename: str) -> bool:
        # Jinja names files by its search path joined with the template name: relative to
        # the working folder when --source is relative, so compare absolute paths.
        return Path(os.path.abspath(filename)).is_relative_to(os.path.abspath(self.templates))

    def _relative(self, filename: str) -> str:
        """A template's file as the editor finds it: "templates/page.html"."""
        if self._in_templates(filename):
            path = Path(os.path.abspath(filename))
            return "templates/" + path.relative_to(os.path.abspath(self.templates)).as_posix()
        return f"templates/{filename}"  # a bare template name


class _SealedBytecodeCache(jinja2.BytecodeCache):
    """Compiled templates in the cache folder, sealed with the SHA-256 of the marshalled code.

    Jinja's own FileSystemBytecodeCache checks only the template source's checksum, so one
    flipped byte in a cached file crashed the interpreter (segfault) when it was unmarshalled.
    Worth keeping: compiling the site's templates takes 40–65 ms, loading them 2 ms.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.damaged = 0

    def _file(self, bucket: jinja2.bccache.Bucket) -> Path:
        return self.folder / f"{bucket.key}.code"

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            payload = read_sealed(self._file(bucket))
            if payload is None:
                return
            key, _, code = payload.partition(b"\n")
            if key != bucket.key.encode():  # another template's file
                raise Damaged
            bucket.bytecode_from_string(code)
        except (Damaged, ValueError, EOFError, TypeError):
            self.damaged += 1
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        store_sealed(self._file(bucket), bucket.key.encode() + b"\n" + bucket.bytecode_to_string())


TAB_TITLE_LENGTH = 60
"""Search results and tabs show about this many characters of a <title>."""


def tab_title(title: str, site_name: str) -> str:
    """"Seite – Kurzname", the page's part shortened at a word (…) to fit TAB_TITLE_LENGTH."""
    suffix = f" – {site_name}"
    if len(title) + len(suffix) <= TAB_TITLE_LENGTH:
        return title + suffix
    room = max(TAB_TITLE_LENGTH - len(suffix) - 1, 10)
    cut = title[:room + 1].rsplit(" ", 1)[0] if " " in title[:room + 1] else title[:room]
    return cut[:room].rstrip(" ,;:–-") + "…" + suffix


def _image_globals(images: Mapping[str, ImagePlan], base_path: str) -> dict[str, Any]:
    """`image(path)` → its ImagePlan; `picture(path, alt, sizes, lazy)` → its `<picture>`."""

    def image(path: str) -> ImagePlan:
        if path not in images:
            raise SiteError(f"Zum Bild „{path}“ gibt es keine Bildvarianten.", Location(path),
                            "Nur Fotos aus gallery/ und Bilder, die der Inhalt verwendet, "
                            "werden aufbereitet.")
        return images[path]

    def picture(path: str, alt: str, sizes: str = "100vw", lazy: bool = True) -> Markup:
        return Markup(picture_html(image(path), alt, sizes, lambda u: join_url(base_path, u), lazy))

    return {"image": image, "picture": picture}




def _mark_open(value: Any) -> Markup:
    """Escape a text value and highlight its placeholders (for element content only: never
    inside an attribute or <title>)."""
    return Markup(placeholders.highlight(str(escape(value))))


def _explain(message: str) -> str:
    if match := re.fullmatch(r"'(.+)' is undefined", message):
        return f"die Variable „{match.group(1)}“ ist nicht definiert"
    if match := re.fullmatch(r"'(.+)' has no attribute '(.+)'", message):
        return f"„{match.group(1)}“ hat kein Feld „{match.group(2)}“"
    return message
