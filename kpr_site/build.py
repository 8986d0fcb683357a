"""The recipe: load → convert → plan → (stop on errors) → render and write → swap in."""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from kpr_site.bodies import ConvertedBodies, convert_sources, resolve_bodies
from kpr_site.cache import JsonCache, PackCache, code_version
from kpr_site.cms import ADMIN_URL, admin_files
from kpr_site.errors import BuildFailed, Location, SiteError
from kpr_site.feeds import atom_feed, robots_txt, sitemap
from kpr_site.gallery import referenced_images
from kpr_site.images import (
    IMAGES_URL,
    ImagePlan,
    ImageSettings,
    derivative_file,
    make_images,
    picture_html,
    plan_images,
)
from kpr_site.links import LinkResolver
from kpr_site.load import MEMBERS_PATH, LoadResult, load_site, unused_files
from kpr_site.manifest import (
    Manifest,
    OutputRecord,
    fingerprint_inputs,
    load_manifest,
    manifest_path,
)
from kpr_site.markup import LazyBody, Link
from kpr_site.model import Page, PressRelease, Project, Site
from kpr_site.options import BuildOptions, settings_key
from kpr_site.output import Staging, build_lock, check_output_dir
from kpr_site.pages import PageSpec, page_globals, plan_pages
from kpr_site.parallel import default_jobs, map_ranges
from kpr_site.render import Assets, Renderer, collect_assets
from kpr_site.search import bundle_key, cached_bundle, make_bundle
from kpr_site.urls import FEED_URL, MEMBERS_URL, SITEMAP_URL, find_collisions, output_file

__all__ = [
    "BuildOptions", "BuildReport", "DryRun", "Prepared", "build_site", "dry_run", "prepare",
]


@dataclass
class BuildReport:
    pages: int = 0
    files: int = 0
    written: int = 0
    unchanged: int = 0
    converted: int = 0
    rendered: int = 0
    seconds: float = 0.0
    warnings: list[SiteError] = field(default_factory=list)
    images_made: int = 0
    """Photos whose derivatives were made in this build."""
    images_cached: int = 0
    """Photos whose derivatives all came from the image cache."""
    image_seconds: float = 0.0
    search_seconds: float | None = None
    """Time spent making the search index; None when it was reused (no page changed)."""


def build_site(source: Path, out: Path, options: BuildOptions | None = None) -> BuildReport:
    """Build the site from `source` into `out`. Raises BuildFailed with every error found."""
    options = options or BuildOptions()
    started = time.perf_counter()
    started_ns = time.time_ns()
    cache_dir = options.cache_root(source)
    report = BuildReport()
    manifest_file = manifest_path(cache_dir, out)
    old = load_manifest(manifest_file) if options.use_cache else Manifest()
    # A first build hashes while reading; later ones hash only what changed, after loading.
    prepared = prepare(source, options, report, hash_files=not old.inputs)
    site, bodies, images = prepared.site, prepared.bodies, prepared.images
    if site is None or prepared.errors:
        raise BuildFailed(prepared.errors)
    # After loading, so the content files' hashes are those of the bytes just built from.
    inputs = fingerprint_inputs(source, old.inputs, old.started_ns, prepared.hashes)
    check_output_dir(out)
    specs = plan_pages(site, bodies)
    errors = find_collisions(_claims(site, specs))
    admin = _admin(source, site, errors)
    if errors:
        raise BuildFailed(errors)
    renderer, assets = _renderer(source, site, images, options)
    renderer.load_templates({spec.template for spec in specs})
    if old.damaged:
        report.warnings.append(_damaged_manifest(manifest_file))
    with (build_lock(out), _cache_folder(source, out, options, "images") as folder,
          _cache_folder(source, out, options, "search") as search_cache):
        made = make_images(source, images.values(), folder, ImageSettings(),
                           options.jobs or default_jobs(), options.progress)
        report.images_made, report.images_cached = made.made, made.cached
        report.image_seconds += made.seconds
        if made.errors:
            raise BuildFailed(made.errors)
        outputs = _write(out, old, specs, _extra_files(site, bodies, specs, assets, admin), renderer,
                         options.jobs or default_jobs(), report, _derivatives(images, folder),
                         (search_cache, site.config.language))
        if options.use_cache:
            Manifest(settings_key(source, out, options), started_ns, inputs, outputs).save(
                manifest_file)
    report.pages = len(specs)
    report.seconds = time.perf_counter() - started
    return report


def _damaged_manifest(path: Path) -> SiteError:
    return SiteError("Der Zwischenspeicher der letzten Ausgabe war beschädigt und wurde "
                     "ignoriert; alle Seiten werden neu erzeugt.", Location(str(path)),
                     severity="warning")


def _renderer(
    source: Path, site: Site, images: dict[str, ImagePlan], options: BuildOptions
) -> tuple[Renderer, Assets]:
    """The Jinja renderer for this site, its compiled templates cached in .cache/jinja."""
    assets = collect_assets(source)
    jinja_cache = options.cache_root(source) / "jinja" if options.use_cache else None
    if jinja_cache:
        jinja_cache.mkdir(parents=True, exist_ok=True)
    return Renderer(source, site.config, assets, page_globals(site), jinja_cache, images), assets


@dataclass
class Prepared:
    """Everything loaded, converted and planned, before anything is rendered."""

    site: Site | None
    bodies: dict[str, LazyBody]
    errors: list[SiteError]
    images: dict[str, ImagePlan]
    """The derivatives planned for every image the site uses, by source path."""
    hashes: dict[str, str]
    """SHA-256 of the content files as they were read (when asked for)."""


def prepare(
    source: Path, options: BuildOptions, report: BuildReport, hash_files: bool = False
) -> Prepared:
    """Load and convert everything and plan the images; all errors collected, nothing written.
    `hash_files` also returns the content files' SHA-256 (for a first build's manifest)."""
    loaded = _load(source, options, report, hash_files)
    site = loaded.site
    if site is not None and options.base_url:
        site = replace(site, config=replace(site.config, base_url=options.base_url))
    converted, cache = _convert(loaded, source, options, report)
    if site is None:
        return Prepared(None, {}, loaded.errors, {}, loaded.hashes or {})
    links = [link for done in converted.converted.values() for link in done.links]
    planning = time.perf_counter()
    images, image_errors = _plan_images(source, site, links, options)
    report.image_seconds = time.perf_counter() - planning
    failed = {e.location.path for e in image_errors if e.location}
    base = site.config.base_path
    resolver = LinkResolver(source, _source_urls(site), base, *_image_hooks(images, failed, base))
    bodies, link_errors = resolve_bodies(loaded.sources, converted, cache, resolver)
    return Prepared(site, bodies, loaded.errors + image_errors + link_errors, images,
                    loaded.hashes or {})


def _load(
    source: Path, options: BuildOptions, report: BuildReport, hash_files: bool
) -> LoadResult:
    memo_file = options.cache_root(source) / "frontmatter.json" if options.use_cache else None
    memo = PackCache(memo_file, code_version())
    loaded = load_site(source, drafts=options.drafts, memo=memo, hash_files=hash_files)
    memo.save()
    report.warnings += unused_files(source)
    if memo.damaged:
        report.warnings.append(SiteError(
            "Der Zwischenspeicher der Kopfdaten war beschädigt und wurde ignoriert.",
            Location(str(memo_file)), severity="warning"))
    return loaded


def _convert(
    loaded: LoadResult, source: Path, options: BuildOptions, report: BuildReport
) -> tuple[ConvertedBodies, JsonCache]:
    cache_dir = options.cache_root(source) / "markdown"
    cache = JsonCache(cache_dir if options.use_cache else None)
    meta_file = options.cache_root(source) / "bodies.json" if options.use_cache else None
    converted = convert_sources(loaded.sources.values(), cache, PackCache(meta_file, code_version()),
                                options.jobs or default_jobs())
    report.converted = converted.count
    if cache.damaged:
        report.warnings.append(SiteError(
            f"{cache.damaged} beschädigte Cache-Einträge wurden ignoriert und neu berechnet.",
            Location(str(cache_dir)), severity="warning"))
    return converted, cache


# Markdown images sit in .prose, at most 42rem wide (site.css --measure).
_BODY_IMAGE_SIZES = "(min-width: 45rem) 42rem, 100vw"


def _plan_images(
    source: Path, site: Site, links: list[Link], options: BuildOptions
) -> tuple[dict[str, ImagePlan], list[SiteError]]:
    paths, errors = referenced_images(source, site, links)
    memo = JsonCache(options.cache_root(source) / "images" / "index" if options.use_cache else None)
    plans, found = plan_images(source, paths, memo, ImageSettings())
    return plans, errors + found


def _image_hooks(
    images: dict[str, ImagePlan], failed: set[str], base_path: str
) -> tuple[Callable[[str], str | None], Callable[[str, str], str | None]]:
    """For LinkResolver: a link to a photo reaches its largest JPEG; a Markdown image of a
    photo becomes its <picture>. A photo that failed has its own error already."""

    def href(url: str) -> str:
        return base_path.rstrip("/") + url

    def asset_url(target: str) -> str | None:
        if target in failed:
            return "#"
        return href(images[target].largest.url) if target in images else None

    def picture(target: str, alt: str) -> str | None:
        plan = images.get(target)
        return picture_html(plan, alt, _BODY_IMAGE_SIZES, href) if plan else None

    return asset_url, picture


@contextmanager
def _cache_folder(source: Path, out: Path, options: BuildOptions, name: str) -> Iterator[Path]:
    """The image or search cache; without cache a temporary folder beside the output (the
    files are hard-linked into it)."""
    if options.use_cache:
        yield options.cache_root(source) / name
        return
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.{name}-") as folder:
        yield Path(folder)


def _derivatives(images: dict[str, ImagePlan], folder: Path) -> Iterator[tuple[PurePosixPath, Path]]:
    names = sorted({d.name for plan in images.values() for d in plan.derivatives})
    for name in names:
        yield output_file(IMAGES_URL + name), derivative_file(folder, name)


def _source_urls(site: Site) -> dict[str, str]:
    items: tuple[PressRelease | Project | Page, ...] = (*site.press, *site.projects, *site.pages)
    urls = {item.path: item.url for item in items}
    urls["content/site.yaml"] = "/"
    urls[MEMBERS_PATH] = MEMBERS_URL
    return urls


def _claims(site: Site, specs: list[PageSpec]) -> Iterator[tuple[str, str]]:
    for spec in specs:
        yield spec.url, spec.source
    for url in (FEED_URL, SITEMAP_URL, "/robots.txt", *([ADMIN_URL] if site.config.cms else [])):
        yield url, "(Generator)"


def _admin(source: Path, site: Site, errors: list[SiteError]) -> list[tuple[PurePosixPath, bytes]]:
    """The files of /admin/ (none without `cms:`); a missing CMS package is added to `errors`."""
    try:
        return list(admin_files(source, site.config))
    except SiteError as exc:
        errors.append(exc)
        return []


def _extra_files(
    site: Site, bodies: Mapping[str, LazyBody], specs: list[PageSpec], assets: Assets,
    admin: Iterable[tuple[PurePosixPath, bytes]],
) -> Iterator[tuple[PurePosixPath, bytes]]:
    """Feed, sitemap, robots.txt, static files and /admin/ (with `cms:` only): cheap to make,
    compared by bytes."""
    yield output_file(FEED_URL), atom_feed(site, bodies)
    yield output_file(SITEMAP_URL), sitemap(site, (s.url for s in specs if s.url != "/404.html"))
    yield output_file("/robots.txt"), robots_txt(site)
    for site_path, data in assets.files.values():
        yield output_file(site_path), data
    yield from admin


def _write(
    out: Path, old: Manifest, specs: list[PageSpec],
    extra: Iterator[tuple[PurePosixPath, bytes]], renderer: Renderer, jobs: int,
    report: BuildReport, linked: Iterable[tuple[PurePosixPath, Path]] = (),
    search: tuple[Path, str] | None = None,
) -> dict[str, OutputRecord]:
    """Fill a staging folder, reusing pages whose inputs did not change; swap it in."""
    staging = Staging(out)
    keys: dict[str, str] = {}
    reused: dict[str, OutputRecord] = {}  # still as the old manifest recorded them
    todo: list[tuple[PageSpec, PurePosixPath]] = []
    for spec in specs:
        rel = output_file(spec.url)
        keys[str(rel)] = key = renderer.page_key(spec)
        if old.output_unchanged(out, str(rel), key):
            staging.reuse(rel)
            reused[str(rel)] = old.outputs[str(rel)]
        else:
            todo.append((spec, rel))
    staging.paths.update(str(rel) for _, rel in todo)  # workers write them; we must know
    errors = _render_pages(staging, renderer, todo, jobs)
    if errors:
        raise BuildFailed(_unique(errors))
    for rel, data in extra:
        staging.write(rel, data)
        keys.setdefault(str(rel), "")
    for rel, file in linked:  # image derivatives, hard-linked from the cache
        staging.link_file(rel, file)
        keys.setdefault(str(rel), "")
    if search is not None:
        report.search_seconds = _index_search(staging, keys, *search)
    staging.prune()
    fresh = staging.records(keys, skip=reused.keys())
    report.unchanged = len(reused) + staging.count_unchanged(fresh)
    outputs = dict(sorted({**reused, **fresh}.items()))
    report.written = len(outputs) - report.unchanged
    staging.commit()
    report.files = len(outputs)
    report.rendered = len(todo)
    return outputs


def _index_search(staging: Staging, keys: dict[str, str], cache: Path, language: str
                  ) -> float | None:
    """Put the search index of the staged pages into the staging folder. It is made anew
    (Pagefind reads every staged page) only when a page changed; returns the time that took.
    Files are compared by bytes, so an unchanged file keeps its inode and modification time."""
    key = bundle_key(language, {rel: k for rel, k in keys.items() if rel.endswith(".html")})
    bundle = cached_bundle(cache, key)
    seconds = None
    if bundle is None:
        started = time.perf_counter()
        staging.prune()  # Pagefind indexes every HTML file in the folder: none left over
        try:
            bundle = make_bundle(staging.dir, cache, key, language)
        except SiteError as exc:  # a frozen SiteError cannot pass a @contextmanager's exit
            raise BuildFailed([exc]) from None
        seconds = time.perf_counter() - started
    for rel, file in bundle.outputs():
        staging.write(rel, file.read_bytes())
        keys.setdefault(str(rel), "")
    return seconds


def _render_pages(
    staging: Staging, renderer: Renderer, todo: Sequence[tuple[PageSpec, PurePosixPath]],
    jobs: int,
) -> list[SiteError]:
    """Render pages straight into the staging folder (in worker processes for many pages);
    returns template errors."""

    def work(start: int, stop: int) -> list[SiteError]:
        errors = []
        for spec, rel in todo[start:stop]:
            try:
                staging.write(rel, renderer.render(spec))
            except SiteError as exc:
                errors.append(exc)
        return errors

    return [error for found in map_ranges(work, len(todo), jobs) for error in found]


def _unique(errors: list[SiteError]) -> list[SiteError]:
    """One template typo fails every page that uses it; report it once."""
    seen: dict[tuple[str, int, str], SiteError] = {}
    for error in errors:
        key = (str(error.location), 0, error.message.split(": ", 1)[-1])
        seen.setdefault(key, error)
    return list(seen.values())


@dataclass
class DryRun:
    """A build that wrote nothing (for `kpr-site check`)."""

    site: Site | None
    bodies: dict[str, LazyBody]
    """Source path → body HTML with links resolved."""
    specs: list[PageSpec]
    errors: list[SiteError]
    report: BuildReport


def dry_run(
    source: Path, options: BuildOptions, visit: Callable[[PurePosixPath, bytes], None]
) -> DryRun:
    """Every step of `build_site` except writing, going on past errors so that every error of
    every step is found. `visit` receives each output file as it is made."""
    report = BuildReport()
    prepared = prepare(source, options, report)
    site, bodies, errors, images = prepared.site, prepared.bodies, prepared.errors, prepared.images
    if site is None:
        return DryRun(None, {}, [], errors, report)
    specs = plan_pages(site, bodies)
    errors += find_collisions(_claims(site, specs))
    renderer, assets = _renderer(source, site, images, options)
    failed: list[SiteError] = []
    for spec in specs:
        try:
            visit(output_file(spec.url), renderer.render(spec))
        except SiteError as exc:
            failed.append(exc)
    for path, data in _extra_files(site, bodies, specs, assets, _admin(source, site, errors)):
        visit(path, data)
    errors += _decode_images(source, images, options, report)
    # A photo that failed already fails every page showing it: report the photo once.
    known = {e.location.path for e in errors if e.location}
    failed = [e for e in failed if not (e.location and e.location.path in known)]
    report.pages = len(specs)
    return DryRun(site, bodies, specs, errors + _unique(failed), report)


def _decode_images(
    source: Path, images: dict[str, ImagePlan], options: BuildOptions, report: BuildReport
) -> list[SiteError]:
    """Make the derivatives into the image cache: only decoding finds a truncated or corrupt
    photo, and the build that follows the check then finds them ready."""
    with contextlib.ExitStack() as stack:
        folder = (options.cache_root(source) / "images" if options.use_cache
                  else Path(stack.enter_context(tempfile.TemporaryDirectory())))
        made = make_images(source, images.values(), folder, ImageSettings(),
                           options.jobs or default_jobs(), options.progress)
    report.images_made, report.images_cached = made.made, made.cached
    return list(made.errors)
