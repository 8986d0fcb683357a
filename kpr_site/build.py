"""The recipe: load → convert → plan → (stop on errors) → render and write → swap in."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from kpr_site.bodies import convert_sources, resolve_bodies
from kpr_site.cache import JsonCache
from kpr_site.errors import BuildFailed, Location, SiteError
from kpr_site.feeds import atom_feed, robots_txt, sitemap
from kpr_site.links import LinkResolver
from kpr_site.load import MEMBERS_PATH, load_site
from kpr_site.manifest import (
    Manifest,
    OutputRecord,
    fingerprint_inputs,
    load_manifest,
    manifest_path,
)
from kpr_site.model import Site
from kpr_site.options import BuildOptions, settings_key
from kpr_site.output import Staging, build_lock, check_output_dir
from kpr_site.pages import PageSpec, page_globals, plan_pages
from kpr_site.parallel import default_jobs, render_pages
from kpr_site.render import Assets, Renderer, collect_assets
from kpr_site.urls import FEED_URL, MEMBERS_URL, find_collisions, output_file

__all__ = ["BuildOptions", "BuildReport", "build_site", "prepare"]


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


def build_site(source: Path, out: Path, options: BuildOptions | None = None) -> BuildReport:
    """Build the site from `source` into `out`. Raises BuildFailed with every error found."""
    options = options or BuildOptions()
    started = time.perf_counter()
    started_ns = time.time_ns()
    cache_dir = options.cache_root(source)
    report = BuildReport()
    inputs = fingerprint_inputs(source)
    site, bodies, errors = prepare(source, options, report)
    if site is None or errors:
        raise BuildFailed(errors)
    check_output_dir(out)
    assets = collect_assets(source)
    specs = plan_pages(site, bodies)
    errors = find_collisions(_claims(site, specs))
    if errors:
        raise BuildFailed(errors)
    jinja_cache = cache_dir / "jinja" if options.use_cache else None
    if jinja_cache:
        jinja_cache.mkdir(parents=True, exist_ok=True)
    renderer = Renderer(source, site.config, assets, page_globals(site), jinja_cache)
    renderer.load_templates({spec.template for spec in specs})
    manifest_file = manifest_path(cache_dir, out)
    old = load_manifest(manifest_file) if options.use_cache else Manifest()
    if old.damaged:
        report.warnings.append(SiteError(
            "Der Zwischenspeicher der letzten Ausgabe war beschädigt und wurde ignoriert; "
            "alle Seiten werden neu erzeugt.", Location(str(manifest_file)), severity="warning"))
    with build_lock(out):
        outputs = _write(out, old, specs, _extra_files(site, bodies, specs, assets), renderer,
                         options.jobs or default_jobs(), report)
        if options.use_cache:
            Manifest(settings_key(source, out, options), started_ns, inputs, outputs).save(
                manifest_file)
    report.pages = len(specs)
    report.seconds = time.perf_counter() - started
    return report


def prepare(
    source: Path, options: BuildOptions, report: BuildReport
) -> tuple[Site | None, dict[str, str], list[SiteError]]:
    """Load and convert everything; all errors collected, nothing written."""
    loaded = load_site(source, drafts=options.drafts)
    site = loaded.site
    if site is not None and options.base_url:
        site = replace(site, config=replace(site.config, base_url=options.base_url))
    cache_dir = options.cache_root(source) / "markdown"
    cache = JsonCache(cache_dir if options.use_cache else None)
    converted, report.converted = convert_sources(
        loaded.sources.values(), cache, options.jobs or default_jobs())
    if cache.damaged:
        report.warnings.append(SiteError(
            f"{cache.damaged} beschädigte Cache-Einträge wurden ignoriert und neu berechnet.",
            Location(str(cache_dir)), severity="warning"))
    if site is None:
        return None, {}, loaded.errors
    resolver = LinkResolver(source, _source_urls(site), site.config.base_path)
    bodies, link_errors = resolve_bodies(loaded.sources, converted, resolver)
    return site, bodies, loaded.errors + link_errors


def _source_urls(site: Site) -> dict[str, str]:
    urls = {item.path: item.url for item in (*site.press, *site.projects, *site.pages)}
    urls["content/site.yaml"] = "/"
    urls[MEMBERS_PATH] = MEMBERS_URL
    return urls


def _claims(site: Site, specs: list[PageSpec]) -> Iterator[tuple[str, str]]:
    for spec in specs:
        yield spec.url, spec.source
    for url in (FEED_URL, "/sitemap.xml", "/robots.txt"):
        yield url, "(Generator)"


def _extra_files(
    site: Site, bodies: dict[str, str], specs: list[PageSpec], assets: Assets
) -> Iterator[tuple[PurePosixPath, bytes]]:
    """Feed, sitemap, robots.txt and static files: cheap to make, compared by bytes."""
    yield output_file(FEED_URL), atom_feed(site, bodies)
    yield output_file("/sitemap.xml"), sitemap(site, (s.url for s in specs if s.url != "/404.html"))
    yield output_file("/robots.txt"), robots_txt(site)
    for site_path, data in assets.files.values():
        yield output_file(site_path), data


def _write(
    out: Path, old: Manifest, specs: list[PageSpec],
    extra: Iterator[tuple[PurePosixPath, bytes]], renderer: Renderer, jobs: int,
    report: BuildReport,
) -> dict[str, OutputRecord]:
    """Fill a staging folder, reusing pages whose inputs did not change; swap it in."""
    staging = Staging(out)
    keys: dict[str, str] = {}
    todo: list[tuple[PageSpec, PurePosixPath]] = []
    for spec in specs:
        rel = output_file(spec.url)
        keys[str(rel)] = key = renderer.page_key(spec)
        if old.output_unchanged(out, str(rel), key):
            staging.reuse(rel)
        else:
            todo.append((spec, rel))
    staging.paths.update(str(rel) for _, rel in todo)  # workers write them; we must know
    errors = render_pages(staging, renderer, todo, jobs)
    if errors:
        raise BuildFailed(_unique(errors))
    for rel, data in extra:
        staging.write(rel, data)
        keys.setdefault(str(rel), "")
    staging.prune()
    outputs = staging.records(keys)
    report.unchanged = staging.count_unchanged(outputs)
    report.written = len(outputs) - report.unchanged
    staging.commit()
    report.files = len(outputs)
    report.rendered = len(todo)
    return outputs


def _unique(errors: list[SiteError]) -> list[SiteError]:
    """One template typo fails every page that uses it; report it once."""
    seen: dict[tuple[str, int, str], SiteError] = {}
    for error in errors:
        key = (str(error.location), 0, error.message.split(": ", 1)[-1])
        seen.setdefault(key, error)
    return list(seen.values())
