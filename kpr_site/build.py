"""The recipe: load → convert → plan → (stop on errors) → render and write → swap in."""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import ParamSpec, TypeVar

from kpr_site.bodies import ConvertedBodies, convert_sources, resolve_bodies
from kpr_site.cache import JsonCache, PackCache, PackFolder, code_version
from kpr_site.documents import DOCUMENTS_PATH
from kpr_site.errors import BuildFailed, Location, SiteError, file_error
from kpr_site.feeds import atom_feed, robots_txt, sitemap
from kpr_site.gallery import referenced_images
from kpr_site.ical import calendar_files
from kpr_site.images import (
    IMAGES_URL,
    ImagePlan,
    ImageSettings,
    Unwritable,
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
from kpr_site.model import Event, FundingProgramme, Group, ListIntro, Page, PressRelease, Project, Site
from kpr_site.options import BuildOptions, settings_key
from kpr_site.output import Staging, build_lock, check_output_dir
from kpr_site.pages import PageSpec, page_globals, plan_pages
from kpr_site.parallel import default_jobs, map_ranges
from kpr_site.placeholders import count_markers
from kpr_site.render import Assets, Renderer, collect_assets
from kpr_site.urls import FEED_URL, MEMBERS_URL, document_url, find_collisions, output_file

__all__ = [
    "BuildOptions", "BuildReport", "DryRun", "Prepared", "build_site", "dry_run", "prepare",
]

P = ParamSpec("P")
R = TypeVar("R")


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
    placeholders: int = 0
    """Open placeholders ("[Vom Landkreis zu bestätigen: …]") in what the build publishes."""
    damaged: int = 0
    """Cache entries found damaged, ignored and recomputed (one warning says so)."""


def _faults_as_errors(function: Callable[P, R]) -> Callable[P, R]:
    """The one boundary for faults of the file system (full, read-only, no permission …):
    they leave a build as a BuildFailed with a German message naming the path, like every
    other error, and the CLI shows them the same way."""

    @functools.wraps(function)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except OSError as exc:
            raise BuildFailed([file_error(exc)]) from exc

    return guarded


@_faults_as_errors
def build_site(source: Path, out: Path, options: BuildOptions | None = None) -> BuildReport:
    """Build the site from `source` into `out`. Raises BuildFailed with every error found,
    a fault of the file system included; the previous output is then untouched."""
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
    if errors:
        raise BuildFailed(errors)
    renderer, assets = _renderer(source, site, images, options)
    renderer.load_templates({spec.template for spec in specs})
    report.damaged += old.damaged
    with build_lock(out), contextlib.ExitStack() as stack:

        def spare() -> Path:  # a private folder beside the output: hard links work there
            return Path(stack.enter_context(tempfile.TemporaryDirectory(
                dir=out.parent, prefix=f".{out.name}.images-", ignore_cleanup_errors=True)))

        folder, fallback = (cache_dir / "images", spare) if options.use_cache else (spare(), None)
        folders, errors = _make_derivatives(source, images, folder, fallback, options, report)
        if errors:
            raise BuildFailed(errors)
        outputs = _write(out, old, specs, _extra_files(source, site, bodies, specs, assets), renderer,
                         options.jobs or default_jobs(), report, _derivatives(images, folders),
                         prepared.markdown)
        # After the swap nothing may fail the build: saving the manifest never raises.
        if options.use_cache:
            Manifest(settings_key(source, out, options), started_ns, inputs, outputs).save(
                manifest_file)
    _warn_if_damaged(report, cache_dir)
    report.pages = len(specs)
    report.seconds = time.perf_counter() - started
    return report


def _warn_if_damaged(report: BuildReport, cache_dir: Path) -> None:
    """One warning for all damage found in the cache during a build."""
    if report.damaged:
        report.warnings.append(SiteError(
            "Der Zwischenspeicher war beschädigt; die betroffenen Einträge wurden ignoriert und "
            "neu berechnet.", Location(str(cache_dir)),
            "Die Ausgabe ist trotzdem korrekt. Tritt das öfter auf, prüfen Sie den Datenträger.",
            severity="warning"))


def _make_derivatives(
    source: Path, images: dict[str, ImagePlan], folder: Path, spare: Callable[[], Path] | None,
    options: BuildOptions, report: BuildReport,
) -> tuple[dict[str, Path], list[SiteError]]:
    """Make the derivatives that `folder` lacks. Photos the image cache cannot take — full or
    read-only — are made in `spare()` instead (a cache that cannot be written only costs
    speed); without `spare` that is an error. Returns each photo's folder (by content hash)
    and the errors."""
    plans = list(images.values())
    jobs = options.jobs or default_jobs()
    made = make_images(source, plans, folder, ImageSettings(), jobs, options.progress)
    report.images_made, report.images_cached = made.made, made.cached
    report.image_seconds += made.seconds
    report.damaged += made.damaged
    folders = {plan.digest: folder for plan in plans}
    errors = list(made.errors)
    if made.unwritable:
        if spare is None:
            raise made.unwritable[0].error()
        elsewhere = spare()
        again = make_images(source, [u.plan for u in made.unwritable], elsewhere,
                            ImageSettings(), jobs, options.progress)
        if again.unwritable:
            raise again.unwritable[0].error()
        report.images_made += again.made
        report.image_seconds += again.seconds
        errors += again.errors
        folders.update({u.plan.digest: elsewhere for u in made.unwritable})
        report.warnings.append(_unwritable_cache(folder, made.unwritable[0]))
    return folders, errors


def _unwritable_cache(folder: Path, first: Unwritable) -> SiteError:
    reason = file_error(first.error())
    return SiteError(
        "Fotos konnten nicht im Zwischenspeicher abgelegt werden: " + reason.message,
        Location(str(folder)), "Sie wurden für diesen Build in einem temporären Ordner erzeugt und "
        "müssen beim nächsten Build erneut erzeugt werden. " + (reason.hint or ""),
        severity="warning")


def _renderer(
    source: Path, site: Site, images: dict[str, ImagePlan], options: BuildOptions
) -> tuple[Renderer, Assets]:
    """The Jinja renderer for this site, its compiled templates cached in .cache/jinja."""
    assets = collect_assets(source)
    jinja_cache = options.cache_root(source) / "jinja" if options.use_cache else None
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
    markdown: PackFolder
    """The cache of converted bodies, read again as pages are rendered."""


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
        return Prepared(None, {}, loaded.errors, {}, loaded.hashes or {}, cache)
    # The intro is Markdown and so one of the sources: count it there only.
    report.placeholders = count_markers(replace(site, config=replace(site.config, intro="")),
                                        [text.body for text in loaded.sources.values()])
    links = [link for done in converted.converted.values() for link in done.links]
    planning = time.perf_counter()
    images, image_errors = _plan_images(source, site, links, options, report)
    report.image_seconds = time.perf_counter() - planning
    failed = {e.location.path for e in image_errors if e.location}
    # Only now is it known which photos beside the texts are published.
    report.warnings += unused_files(source, images.keys() | failed)
    base = site.config.base_path
    documents = {d.source_path: d for d in site.documents if d.file}
    resolver = LinkResolver(source, _source_urls(site), base, *_image_hooks(images, failed, base),
                            documents=documents, scheduled=loaded.scheduled)
    bodies, link_errors = resolve_bodies(loaded.sources, converted, cache, resolver)
    return Prepared(site, bodies, loaded.errors + image_errors + link_errors, images,
                    loaded.hashes or {}, cache)


def _load(
    source: Path, options: BuildOptions, report: BuildReport, hash_files: bool
) -> LoadResult:
    memo_file = options.cache_root(source) / "frontmatter.json" if options.use_cache else None
    memo = PackCache(memo_file, code_version())
    loaded = load_site(source, drafts=options.drafts, memo=memo, hash_files=hash_files,
                       today=options.today)
    memo.save()
    report.damaged += memo.damaged
    return loaded


def _convert(
    loaded: LoadResult, source: Path, options: BuildOptions, report: BuildReport
) -> tuple[ConvertedBodies, PackFolder]:
    cache_dir = options.cache_root(source) / "markdown"
    cache = PackFolder(cache_dir if options.use_cache else None)
    meta_file = options.cache_root(source) / "bodies.json" if options.use_cache else None
    meta = PackCache(meta_file, code_version())
    converted = convert_sources(loaded.sources.values(), cache, meta, options.jobs or default_jobs())
    report.converted = converted.count
    report.damaged += meta.damaged  # the HTML cache's count comes after rendering, which reads it
    return converted, cache


# Markdown images sit in .prose, at most 42rem wide (site.css --measure).
_BODY_IMAGE_SIZES = "(min-width: 45rem) 42rem, 100vw"


def _plan_images(
    source: Path, site: Site, links: list[Link], options: BuildOptions, report: BuildReport
) -> tuple[dict[str, ImagePlan], list[SiteError]]:
    paths, errors = referenced_images(source, site, links)
    memo = JsonCache(options.cache_root(source) / "images" / "index" if options.use_cache else None)
    plans, found = plan_images(source, paths, memo, ImageSettings())
    report.damaged += memo.damaged
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


def _derivatives(
    images: dict[str, ImagePlan], folders: Mapping[str, Path]
) -> Iterator[tuple[PurePosixPath, Path]]:
    """Each derivative's output path and file, from the folder its photo was made in."""
    names = sorted({(d.name, plan.digest) for plan in images.values() for d in plan.derivatives})
    for name, digest in names:
        yield output_file(IMAGES_URL + name), derivative_file(folders[digest], name)


def _source_urls(site: Site) -> dict[str, str]:
    items: tuple[PressRelease | Project | Page | Event | Group | FundingProgramme | ListIntro, ...] = (
        *site.press, *site.projects, *site.pages, *site.events, *site.groups, *site.funding,
        *site.intros)
    urls = {item.path: item.url for item in items}
    urls["content/site.yaml"] = "/"
    urls[MEMBERS_PATH] = MEMBERS_URL
    return urls


def _claims(site: Site, specs: list[PageSpec]) -> Iterator[tuple[str, str]]:
    for spec in specs:
        yield spec.url, spec.source
    for url in (FEED_URL, "/sitemap.xml", "/robots.txt"):
        yield url, "(Generator)"
    for url, _ in calendar_files(site):
        yield url, "(Kalender)"
    for document in site.documents:
        if document.file:
            yield document_url(document.file), DOCUMENTS_PATH


def _extra_files(
    source: Path, site: Site, bodies: Mapping[str, LazyBody], specs: list[PageSpec],
    assets: Assets,
) -> Iterator[tuple[PurePosixPath, bytes]]:
    """Feed, sitemap, robots.txt, calendars, documents and static files: compared by bytes."""
    yield output_file(FEED_URL), atom_feed(site, bodies)
    yield output_file("/sitemap.xml"), sitemap(site, (s.url for s in specs if s.indexed))
    yield output_file("/robots.txt"), robots_txt(site)
    for url, data in calendar_files(site):
        yield output_file(url), data
    for document in site.documents:
        if document.file:  # one at a time: at most documents.MAX_BYTES in memory
            yield output_file(document_url(document.file)), (source / document.source_path).read_bytes()
    for site_path, data in assets.files.values():
        yield output_file(site_path), data


def _write(
    out: Path, old: Manifest, specs: list[PageSpec],
    extra: Iterator[tuple[PurePosixPath, bytes]], renderer: Renderer, jobs: int,
    report: BuildReport, linked: Iterable[tuple[PurePosixPath, Path]],
    markdown: PackFolder,
) -> dict[str, OutputRecord]:
    """Fill a staging folder, reusing pages whose inputs did not change; swap it in. If
    anything fails, the staging folder is removed and the output stays as it was."""
    staging = Staging(out)
    try:
        return _fill_and_swap(staging, out, old, specs, extra, renderer, jobs, report, linked,
                              markdown)
    except BaseException:
        staging.discard()
        raise


def _fill_and_swap(
    staging: Staging, out: Path, old: Manifest, specs: list[PageSpec],
    extra: Iterator[tuple[PurePosixPath, bytes]], renderer: Renderer, jobs: int,
    report: BuildReport, linked: Iterable[tuple[PurePosixPath, Path]], markdown: PackFolder,
) -> dict[str, OutputRecord]:
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
    errors = _render_pages(staging, renderer, todo, jobs, markdown, report)
    if errors:
        raise BuildFailed(_unique(errors))
    for rel, data in extra:
        staging.write(rel, data)
        keys.setdefault(str(rel), "")
    for rel, file in linked:  # image derivatives, hard-linked from the cache
        staging.link_file(rel, file)
        keys.setdefault(str(rel), "")
    staging.prune()
    fresh = staging.records(keys, skip=reused.keys())
    report.unchanged = len(reused) + staging.count_unchanged(fresh)
    outputs = dict(sorted({**reused, **fresh}.items()))
    report.written = len(outputs) - report.unchanged
    staging.commit()
    report.files = len(outputs)
    report.rendered = len(todo)
    return outputs


def _render_pages(
    staging: Staging, renderer: Renderer, todo: Sequence[tuple[PageSpec, PurePosixPath]],
    jobs: int, markdown: PackFolder, report: BuildReport,
) -> list[SiteError]:
    """Render pages straight into the staging folder (in worker processes for many pages);
    returns template errors and counts the damaged cache entries rendering met."""
    parent = os.getpid()

    def damaged() -> int:  # rendering reads converted bodies and compiled templates
        return markdown.damaged + renderer.damaged_cache_entries

    def work(start: int, stop: int) -> tuple[list[SiteError], int]:
        errors, before = [], damaged()
        for spec, rel in todo[start:stop]:
            try:
                staging.write(rel, renderer.render(spec))
            except SiteError as exc:
                errors.append(exc)
        # A worker's counts die with it: send them back (in this process they are counted).
        return errors, (damaged() - before if os.getpid() != parent else 0)

    chunks = map_ranges(work, len(todo), jobs)
    report.damaged += damaged() + sum(found for _, found in chunks)
    return [error for errors, _ in chunks for error in errors]


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


@_faults_as_errors
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
    for path, data in _extra_files(source, site, bodies, specs, assets):
        visit(path, data)
    report.damaged += prepared.markdown.damaged + renderer.damaged_cache_entries
    errors += _decode_images(source, images, options, report)
    # A photo that failed already fails every page showing it: report the photo once.
    known = {e.location.path for e in errors if e.location}
    failed = [e for e in failed if not (e.location and e.location.path in known)]
    _warn_if_damaged(report, options.cache_root(source))
    report.pages = len(specs)
    return DryRun(site, bodies, specs, errors + _unique(failed), report)


def _decode_images(
    source: Path, images: dict[str, ImagePlan], options: BuildOptions, report: BuildReport
) -> list[SiteError]:
    """Make the derivatives into the image cache: only decoding finds a truncated or corrupt
    photo, and the build that follows the check then finds them ready."""
    with contextlib.ExitStack() as stack:

        def spare() -> Path:
            return Path(stack.enter_context(tempfile.TemporaryDirectory(
                ignore_cleanup_errors=True)))

        if options.use_cache:
            return _make_derivatives(source, images, options.cache_root(source) / "images",
                                     spare, options, report)[1]
        return _make_derivatives(source, images, spare(), None, options, report)[1]
