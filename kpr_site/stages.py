"""The stages of every build, each returning a frozen record: load → convert → plan → images.

`build.run` calls them in this order for `build`, `check` and `serve` alike. A stage collects
the errors of its inputs and hands them on; it never stops the run itself (the recipe decides
where errors stop it). Each stage reads and writes only its own caches (`CacheLayout`).
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from kpr_site.bodies import ConvertedBodies, carry_over, convert_sources, resolve_bodies
from kpr_site.cache import CacheLayout, JsonCache, PackCache, PackFolder, code_version
from kpr_site.cms import ADMIN_URL, admin_files
from kpr_site.colours import brand_colours, theme_css
from kpr_site.documents import DOCUMENTS_PATH
from kpr_site.errors import Location, SiteError, file_error
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
from kpr_site.load import MEMBERS_PATH, is_recent, load_site, unused_files
from kpr_site.markup import LazyBody
from kpr_site.memory import Memory
from kpr_site.model import (
    Event,
    FundingProgramme,
    Group,
    ListIntro,
    Page,
    PressRelease,
    Project,
    Site,
    Source,
)
from kpr_site.options import BuildOptions
from kpr_site.pages import PageSpec, page_globals, plan_pages
from kpr_site.parallel import default_jobs
from kpr_site.placeholders import count_markers
from kpr_site.render import Assets, Renderer, collect_assets
from kpr_site.urls import (
    FEED_URL,
    MEMBERS_URL,
    SITEMAP_URL,
    document_url,
    find_collisions,
    join_url,
    output_file,
)

__all__ = [
    "Converted", "Loaded", "Made", "Plan", "convert_stage", "document_files", "extra_files",
    "image_stage",
    "load_stage", "plan_stage",
]


@dataclass(frozen=True)
class Loaded:
    """Stage 1: the content model and the Markdown texts to convert."""

    site: Site | None
    """None if site.yaml could not be read (then nothing else can be planned)."""
    sources: Mapping[str, Source]
    errors: tuple[SiteError, ...]
    hashes: Mapping[str, str]
    """SHA-256 of the content files as they were read (only when asked for)."""
    scheduled: Mapping[str, dt.date]
    """Items not published yet, by source path (a link to one names the day)."""
    placeholders: int
    """Open placeholders in what is published."""
    damaged: int
    lines: Mapping[str, Mapping[str, int]]
    """The line of each front-matter key, by content file."""
    drafts: Mapping[str, int]
    """Files marked `draft: true`, with the line of that key."""


def load_stage(source: Path, options: BuildOptions, caches: CacheLayout, hash_files: bool,
               memory: Memory | None = None) -> Loaded:
    memo = PackCache(caches.frontmatter if memory is None else None, code_version())
    loaded = load_site(source, drafts=options.drafts, memo=memo, hash_files=hash_files,
                       today=options.today, files=memory.files if memory else None)
    memo.save()
    site = loaded.site
    if site is not None and options.base_url:
        site = replace(site, config=replace(site.config, base_url=options.base_url))
    # The intro is Markdown and so one of the sources: count it there only.
    placeholders = 0 if site is None else count_markers(
        replace(site, config=replace(site.config, intro="")),
        [text.body for text in loaded.sources.values()] if memory is None
        else list(loaded.sources.values()), memo=memory.markers if memory else None)
    return Loaded(site, loaded.sources, tuple(loaded.errors), loaded.hashes or {},
                  loaded.scheduled, placeholders, memo.damaged, loaded.lines, loaded.drafts)


@dataclass(frozen=True)
class Converted:
    """Stage 2: every body converted (from the cache where possible)."""

    bodies: ConvertedBodies
    packs: PackFolder
    """Where the converted HTML is kept; read again as pages are rendered."""
    damaged: int


def convert_stage(loaded: Loaded, options: BuildOptions, caches: CacheLayout,
                  memory: Memory | None = None) -> Converted:
    """With a `memory` that has bodies, only bodies whose source changed are converted (and
    kept in memory); otherwise every body comes from the cache or is converted afresh."""
    packs = PackFolder(caches.markdown)
    if memory is not None:  # the packs it has read stay read: a page shows a body at once
        if memory.packs is None or memory.packs.folder != caches.markdown:
            memory.packs = packs
        packs = memory.packs
    jobs = options.jobs or default_jobs()
    if memory is not None and memory.bodies is not None:
        bodies = carry_over(loaded.sources.values(), memory.sources, memory.bodies, jobs)
        damaged = 0
    else:
        meta = PackCache(caches.bodies, code_version())
        bodies = convert_sources(loaded.sources.values(), packs, meta, jobs)
        damaged = meta.damaged
    if memory is not None:
        memory.sources, memory.bodies = loaded.sources, bodies
    return Converted(bodies, packs, damaged)


@dataclass(frozen=True)
class Plan:
    """Stage 3: what the build will make — pages, image derivatives, extra files — and every
    error found so far. Nothing visible has been written."""

    site: Site
    bodies: Mapping[str, LazyBody]
    """Source path → body with its links resolved (HTML made when a page shows it)."""
    images: Mapping[str, ImagePlan]
    """The derivatives of every image the site uses, by source path."""
    specs: tuple[PageSpec, ...]
    admin: tuple[tuple[PurePosixPath, bytes], ...]
    """The files of /admin/ (the browser CMS); none without `cms:` in site.yaml."""
    renderer: Renderer
    packs: PackFolder
    """Where the bodies' HTML is read from as pages are rendered."""
    assets: Assets
    errors: tuple[SiteError, ...]
    warnings: tuple[SiteError, ...]
    seconds: float
    """Time spent planning the images."""
    damaged: int


def plan_stage(
    source: Path, options: BuildOptions, caches: CacheLayout, loaded: Loaded, converted: Converted,
    memory: Memory | None = None,
) -> Plan | None:
    """Images, links, pages and templates planned; None without a site configuration."""
    site = loaded.site
    if site is None:
        return None
    started = time.perf_counter()
    links = [link for done in converted.bodies.converted.values() for link in done.links]
    paths, image_errors = referenced_images(source, site, links)
    index = JsonCache(caches.image_index)
    images, found = plan_images(source, paths, index, ImageSettings())
    image_errors += found
    seconds = time.perf_counter() - started
    failed = {e.location.path for e in image_errors if e.location}
    base = site.config.base_path
    documents = {d.source_path: d for d in site.documents if d.file}
    urls = _source_urls(site)
    broken = {e.location.path for e in loaded.errors if e.location}
    resolver = LinkResolver(source, urls, base, *_image_hooks(images, failed, base),
                            documents=documents, scheduled=loaded.scheduled, failed=broken)
    before = None
    stamps = _folder_stamps(source) if memory is not None else None
    if memory is not None:  # what links resolve against; the same: keep their resolution
        against = (urls, base, images, failed, documents, loaded.scheduled, broken, stamps)
        before, memory.links = (memory.resolved if against == memory.links else None), against
    resolved, link_errors = resolve_bodies(loaded.sources, converted.bodies, converted.packs,
                                           resolver, before)
    if memory is not None:
        memory.resolved = resolved
    bodies = {path: body for path, (_, body, _) in resolved.items()}
    specs = tuple(plan_pages(site, bodies))
    assets = collect_assets(source, {THEME_CSS: theme_css(brand_colours(site.config.brand.colours))
                                     .encode()})
    renderer = Renderer(source, site.config, assets, page_globals(site), caches.jinja, images,
                        memory.next_fingerprint() if memory else None)
    errors = [*loaded.errors, *image_errors, *link_errors, *find_collisions(_claims(site, specs))]
    admin = _admin(source, site, errors)
    try:  # syntax errors surface before anything is rendered or written
        renderer.load_templates({spec.template for spec in specs})
    except SiteError as exc:
        errors.append(exc)
    # Only now is it known which photos beside the texts are published.
    warnings = _unused_files(source, images.keys() | failed, memory, stamps)
    return Plan(site, bodies, images, specs, admin, renderer, converted.packs, assets, tuple(errors),
                tuple(warnings), seconds, index.damaged)


THEME_CSS = "theme.css"
"""The stylesheet made from the brand colours of site.yaml, loaded after site.css."""

# Markdown images sit in .prose, at most 42rem wide (site.css --measure); below that the
# page's padding (2 × --gap) is left and right of them.
_BODY_IMAGE_SIZES = "(min-width: 45rem) 42rem, calc(100vw - 2rem)"


def _unused_files(source: Path, used: set[str], memory: Memory | None,
                  stamps: object) -> list[SiteError]:
    """load.unused_files; `serve` keeps them while the folders and `used` are as they were."""
    if memory is None:
        return unused_files(source, used)
    if memory.unused is None or memory.unused[0] != (stamps, used):
        memory.unused = ((stamps, used), unused_files(source, used))
    return memory.unused[1]


def _folder_stamps(source: Path) -> list[tuple[str, int]]:
    """Every folder below content/ and gallery/ with its modification time, which changes
    whenever a file in it is added, removed or renamed (links to files check that they exist)."""
    stamps: list[tuple[str, int]] = []
    todo = [str(source / "content"), str(source / "gallery")]
    while todo:
        folder = todo.pop()
        try:
            stamps.append((folder, os.stat(folder).st_mtime_ns))
            with os.scandir(folder) as entries:
                todo.extend(e.path for e in entries if e.is_dir(follow_symlinks=False))
        except OSError:
            stamps.append((folder, -1))
    if any(is_recent(stamp) for _, stamp in stamps):
        return [("", -1), *stamps, (str(time.perf_counter_ns()), -1)]  # equal to no other
    return stamps


def _image_hooks(
    images: Mapping[str, ImagePlan], failed: set[str], base_path: str
) -> tuple[Callable[[str], str | None], Callable[[str, str], str | None]]:
    """For LinkResolver: a link to a photo reaches its largest JPEG; a Markdown image of a
    photo becomes its <picture>. A photo that failed has its own error already."""

    def href(url: str) -> str:
        return join_url(base_path, url)

    def asset_url(target: str) -> str | None:
        if target in failed:
            return "#"
        return href(images[target].largest.url) if target in images else None

    def picture(target: str, alt: str) -> str | None:
        plan = images.get(target)
        return picture_html(plan, alt, _BODY_IMAGE_SIZES, href) if plan else None

    return asset_url, picture


def _source_urls(site: Site) -> dict[str, str]:
    items: tuple[PressRelease | Project | Page | Event | Group | FundingProgramme | ListIntro, ...] = (
        *site.press, *site.projects, *site.pages, *site.events, *site.groups, *site.funding,
        *site.intros)
    urls = {item.path: item.url for item in items}
    urls["content/site.yaml"] = "/"
    urls[MEMBERS_PATH] = MEMBERS_URL
    return urls


def _claims(site: Site, specs: tuple[PageSpec, ...]) -> Iterator[tuple[str, str]]:
    for spec in specs:
        yield spec.url, spec.source
    for url in (FEED_URL, SITEMAP_URL, "/robots.txt", *([ADMIN_URL] if site.config.cms else [])):
        yield url, "(Generator)"
    for url, _ in calendar_files(site):
        yield url, "(Kalender)"
    for document in site.documents:
        if document.file:
            yield document_url(document.file), DOCUMENTS_PATH


def extra_files(source: Path, plan: Plan, documents: bool = True
                ) -> Iterator[tuple[PurePosixPath, bytes]]:
    """Feed, sitemap, robots.txt, calendars, documents (unless not asked for: then
    `document_files` names them) and static files: compared by bytes."""
    site = plan.site
    yield output_file(FEED_URL), atom_feed(site, plan.bodies)
    yield output_file(SITEMAP_URL), sitemap(site, (s.url for s in plan.specs if s.indexed))
    yield output_file("/robots.txt"), robots_txt(site)
    for url, data in calendar_files(site):
        yield output_file(url), data
    if documents:  # one at a time: at most documents.MAX_BYTES in memory
        yield from ((rel, file.read_bytes()) for rel, file in document_files(source, plan))
    for site_path, data in plan.assets.files.values():
        yield output_file(site_path), data
    yield from plan.admin


def document_files(source: Path, plan: Plan) -> Iterator[tuple[PurePosixPath, Path]]:
    """Each described document's output path and its file in content/documents/."""
    for document in plan.site.documents:
        if document.file:
            yield output_file(document_url(document.file)), source / document.source_path


def _admin(source: Path, site: Site, errors: list[SiteError]) -> tuple[tuple[PurePosixPath, bytes], ...]:
    """The files of /admin/ (none without `cms:`); a missing CMS package is added to `errors`."""
    try:
        return tuple(admin_files(source, site.config))
    except SiteError as exc:
        errors.append(exc)
        return ()


@dataclass(frozen=True)
class Made:
    """Stage 4: the image derivatives, in the image cache (or a spare folder)."""

    files: tuple[tuple[PurePosixPath, Path], ...]
    """Each derivative's output path and the file holding it."""
    errors: tuple[SiteError, ...]
    warnings: tuple[SiteError, ...]
    made: int
    cached: int
    seconds: float
    damaged: int


def image_stage(
    source: Path, options: BuildOptions, caches: CacheLayout, plan: Plan,
    spare: Callable[[], Path],
) -> Made:
    """Make the derivatives the image cache lacks. Photos the cache cannot take — full or
    read-only, or no cache at all — are made in `spare()` instead: a cache that cannot be
    written only costs speed."""
    plans = list(plan.images.values())
    jobs = options.jobs or default_jobs()
    folder = caches.images or spare()
    first = make_images(source, plans, folder, ImageSettings(), jobs, options.progress)
    folders = {p.digest: folder for p in plans}
    made, seconds, errors, warnings = first.made, first.seconds, list(first.errors), []
    if first.unwritable:
        elsewhere = spare()
        again = make_images(source, [u.plan for u in first.unwritable], elsewhere,
                            ImageSettings(), jobs, options.progress)
        if again.unwritable:
            raise again.unwritable[0].error()
        made, seconds = made + again.made, seconds + again.seconds
        errors += again.errors
        folders.update({u.plan.digest: elsewhere for u in first.unwritable})
        warnings.append(_unwritable_cache(folder, first.unwritable[0]))
    return Made(tuple(_derivatives(plan.images, folders)), tuple(errors), tuple(warnings), made,
                first.cached, seconds, first.damaged)


def _unwritable_cache(folder: Path, first: Unwritable) -> SiteError:
    reason = file_error(first.error())
    return SiteError(
        "Fotos konnten nicht im Zwischenspeicher abgelegt werden: " + reason.message,
        Location(str(folder)), "Sie wurden für diesen Build in einem temporären Ordner erzeugt und "
        "müssen beim nächsten Build erneut erzeugt werden. " + (reason.hint or ""),
        severity="warning")


def _derivatives(
    images: Mapping[str, ImagePlan], folders: Mapping[str, Path]
) -> Iterator[tuple[PurePosixPath, Path]]:
    """Each derivative's output path and file, from the folder its photo was made in."""
    names = sorted({(d.name, plan.digest) for plan in images.values() for d in plan.derivatives})
    for name, digest in names:
        yield output_file(IMAGES_URL + name), derivative_file(folders[digest], name)
