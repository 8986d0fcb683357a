"""The recipe: load → convert → plan → (stop on errors) → images → hand the site to a sink.

`build`, `check` and `serve` run this one recipe (`run`); they differ only in the sink that
receives the result and in how they treat errors:

* `StagingSink` (`kpr-site build`, and `serve` into its preview folder) stops at the first
  stage with errors — before any image is made or anything visible is written — then fills a
  staging folder beside the output, reusing unchanged pages, and swaps it in.
* `CheckSink` (`kpr-site check`) goes on past errors to collect every one, renders every page
  for a visitor that only looks, and writes nothing but the caches.

Each stage returns a frozen record (kpr_site.stages); the report is computed from them.
"""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import ParamSpec, Protocol, TypeVar

from kpr_site.cache import CacheLayout, write_file
from kpr_site.compress import compressible
from kpr_site.errors import BuildFailed, Location, SiteError, file_error
from kpr_site.manifest import Manifest, OutputRecord, fingerprint_inputs, load_manifest
from kpr_site.markup import LazyBody
from kpr_site.memory import Memory
from kpr_site.model import Site
from kpr_site.options import BuildOptions, settings_key
from kpr_site.output import Staging, build_lock, check_output_dir
from kpr_site.pages import PageSpec
from kpr_site.parallel import default_jobs, map_ranges
from kpr_site.search import SearchBundle, bundle_key, cached_bundle, make_bundle
from kpr_site.stages import (
    Converted,
    Loaded,
    Made,
    Plan,
    convert_stage,
    document_files,
    extra_files,
    image_stage,
    load_stage,
    plan_stage,
)
from kpr_site.urls import SEARCH_BUNDLE_URL, output_file

__all__ = [
    "BuildOptions", "BuildReport", "CheckSink", "DryRun", "MemorySink", "StagingSink", "build_preview",
    "build_site", "dry_run", "run",
]

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class Written:
    """What a sink did with the planned site."""

    files: int = 0
    written: int = 0
    unchanged: int = 0
    rendered: int = 0
    errors: tuple[SiteError, ...] = ()
    damaged: int = 0
    """Damaged cache entries met while rendering (converted bodies, compiled templates)."""
    search_seconds: float | None = None
    """Time spent making the search index; None when it was reused (no page changed)."""


class Sink(Protocol):
    """Where the recipe's result goes."""

    keep_going: bool
    """Collect every error of every stage (check) instead of stopping at the first stage
    with errors (build)."""
    hash_files: bool
    """Hash the content files while reading them (a first build's manifest needs it)."""
    damaged: int
    """Damaged cache entries the sink found itself (a damaged manifest)."""

    def session(self) -> contextlib.AbstractContextManager[Callable[[], Path]]:
        """Around making images and writing: gives a maker of spare folders for photos the
        image cache cannot take."""
        ...

    def write(self, source: Path, loaded: Loaded, plan: Plan, made: Made, jobs: int) -> Written:
        ...


@dataclass(frozen=True)
class BuildReport:
    """What a run did, computed from its stages."""

    pages: int = 0
    files: int = 0
    written: int = 0
    unchanged: int = 0
    converted: int = 0
    rendered: int = 0
    seconds: float = 0.0
    warnings: tuple[SiteError, ...] = ()
    images_made: int = 0
    """Photos whose derivatives were made in this build."""
    images_cached: int = 0
    """Photos whose derivatives all came from the image cache."""
    image_seconds: float = 0.0
    placeholders: int = 0
    """Open placeholders ("[Vom Landkreis zu bestätigen: …]") in what the build publishes."""
    damaged: int = 0
    """Cache entries found damaged, ignored and recomputed (one warning says so)."""
    search_seconds: float | None = None
    """Time spent making the search index; None when it was reused (no page changed)."""


@dataclass(frozen=True)
class RunResult:
    report: BuildReport
    loaded: Loaded
    plan: Plan | None
    errors: tuple[SiteError, ...]
    """Every error found (a sink that stops raised BuildFailed instead)."""


def run(source: Path, options: BuildOptions, sink: Sink, memory: Memory | None = None) -> RunResult:
    """The one recipe of build, check and serve. With a `memory` (serve), every stage takes
    over what the last run with it made from the same inputs, and records its own results."""
    started = time.perf_counter()
    caches = options.caches(source)
    loaded = load_stage(source, options, caches, sink.hash_files, memory)
    converted = convert_stage(loaded, options, caches, memory)
    plan = plan_stage(source, options, caches, loaded, converted, memory)
    errors = list(plan.errors if plan else loaded.errors)
    _stop_unless(sink, errors)
    if plan is None:
        return RunResult(_report(started, caches, sink, loaded, converted), loaded, None,
                         tuple(errors))
    with sink.session() as spare:
        try:
            made = image_stage(source, options, caches, plan, spare)
            errors += made.errors
            _stop_unless(sink, errors)
            written = sink.write(source, loaded, plan, made, options.jobs or default_jobs())
        except SiteError as exc:  # a frozen SiteError cannot pass a @contextmanager's exit
            raise BuildFailed([exc]) from None
    errors += _beyond(written.errors, errors)
    report = _report(started, caches, sink, loaded, converted, plan, made, written)
    return RunResult(report, loaded, plan, tuple(errors))


def _stop_unless(sink: Sink, errors: list[SiteError]) -> None:
    if errors and not sink.keep_going:
        raise BuildFailed(errors)


def _beyond(render_errors: Sequence[SiteError], known: list[SiteError]) -> list[SiteError]:
    """Template errors, each once, leaving out pages that fail because of a photo whose own
    error is reported already."""
    places = {e.location.path for e in known if e.location}
    return _unique([e for e in render_errors if not (e.location and e.location.path in places)])


def _report(
    started: float, caches: CacheLayout, sink: Sink, loaded: Loaded, converted: Converted,
    plan: Plan | None = None, made: Made | None = None, written: Written | None = None,
) -> BuildReport:
    made = made or Made((), (), (), 0, 0, 0.0, 0)
    written = written or Written()
    damaged = (sink.damaged + loaded.damaged + converted.damaged + made.damaged + written.damaged
               + (plan.damaged if plan else 0))
    warnings = (*(plan.warnings if plan else ()), *made.warnings)
    if damaged:
        warnings += (_damaged_cache(caches),)
    return BuildReport(
        pages=len(plan.specs) if plan else 0, files=written.files, written=written.written,
        unchanged=written.unchanged, converted=converted.bodies.count, rendered=written.rendered,
        seconds=time.perf_counter() - started, warnings=warnings, images_made=made.made,
        images_cached=made.cached, image_seconds=(plan.seconds if plan else 0.0) + made.seconds,
        placeholders=loaded.placeholders, damaged=damaged, search_seconds=written.search_seconds)


def _damaged_cache(caches: CacheLayout) -> SiteError:
    """One warning for all damage found in the cache during a run."""
    return SiteError(
        "Der Zwischenspeicher war beschädigt; die betroffenen Einträge wurden ignoriert und "
        "neu berechnet.", Location(str(caches.root)),
        "Die Ausgabe ist trotzdem korrekt. Tritt das öfter auf, prüfen Sie den Datenträger.",
        severity="warning")


# ---------- the sinks ----------


class StagingSink:
    """`kpr-site build`: a staging folder beside `out`, swapped in when complete; unchanged
    pages are taken over from the last build (its manifest says which)."""

    keep_going = False

    def __init__(self, source: Path, out: Path, options: BuildOptions,
                 previous: Manifest | None = None) -> None:
        self.out = out
        self.caches = options.caches(source)
        self.manifest_file = self.caches.manifest(out)
        if previous is None:
            previous = load_manifest(self.manifest_file) if self.manifest_file else Manifest()
        self.old = previous
        self.settings = settings_key(source, out, options)
        self.precompress = options.precompress
        self.started_ns = time.time_ns()
        # A first build hashes while reading; later ones hash only what changed, after loading.
        self.hash_files = not previous.inputs
        self.search = options.search
        self.damaged = int(previous.damaged)
        self.outputs: dict[str, OutputRecord] = {}
        """What the last `write` put into `out`."""
        check_output_dir(out)

    @contextlib.contextmanager
    def session(self) -> Iterator[Callable[[], Path]]:
        with build_lock(self.out), contextlib.ExitStack() as stack:

            def spare() -> Path:  # a private folder beside the output: hard links work there
                return Path(stack.enter_context(tempfile.TemporaryDirectory(
                    dir=self.out.parent, prefix=f".{self.out.name}.images-",
                    ignore_cleanup_errors=True)))

            self.spare = spare
            yield spare

    def write(self, source: Path, loaded: Loaded, plan: Plan, made: Made, jobs: int) -> Written:
        # After loading, so the content files' hashes are those of the bytes just built from.
        inputs = fingerprint_inputs(source, self.old.inputs, self.old.started_ns, loaded.hashes)
        staging = Staging(self.out, self.precompress,
                          lambda rel: self.old.output_unchanged(self.out, rel, ""))
        try:
            search = (self.caches.search, self.spare) if self.search else None
            outputs, written = _fill(staging, self.out, self.old, plan, source, made, jobs, search)
            staging.commit()
        except BaseException:
            staging.discard()
            raise
        self.outputs = outputs
        # After the swap nothing may fail the build: saving the manifest never raises.
        if self.manifest_file is not None:
            Manifest(self.settings, self.started_ns, inputs, outputs).save(self.manifest_file)
        return written


def _fill(
    staging: Staging, out: Path, old: Manifest, plan: Plan, source: Path, made: Made, jobs: int,
    search: tuple[Path | None, Callable[[], Path]] | None,
) -> tuple[dict[str, OutputRecord], Written]:
    """Fill the staging folder: unchanged pages reused, the rest rendered (in workers), then
    the extra files and the image derivatives (hard-linked from the cache); each text file
    with its `.gz` sibling if the staging folder makes them. Only what changed is stat'ed for
    the manifest: a file taken over as the last build recorded it keeps its record."""
    keys: dict[str, str] = {}
    reused: dict[str, OutputRecord] = {}  # still as the old manifest recorded them
    todo: list[tuple[PageSpec, PurePosixPath]] = []
    for spec in plan.specs:
        rel = output_file(spec.url)
        name = str(rel)
        keys[name] = key = plan.renderer.page_key(spec)
        if old.output_unchanged(out, name, key):
            for kept in staging.reuse(name, old.outputs[name][3]):
                reused[kept] = old.outputs[kept]
        else:
            todo.append((spec, rel))
    staging.expect(str(rel) for _, rel in todo)  # workers write them
    errors, damaged, _ = _render_pages(staging.write, plan, todo, jobs)
    if errors:
        raise BuildFailed(_unique(errors))
    for rel, data in extra_files(source, plan):
        staging.write(rel, data)
        keys.setdefault(str(rel), "")
    for rel, file in made.files:
        staging.link_file(rel, file)
        keys.setdefault(str(rel), "")
    search_seconds = None
    if search is not None:
        search_seconds = _index_search(staging, keys, *search, plan.site.config.language,
                                       lambda rel, sha: old.output_unchanged(out, rel, sha))
    else:  # the last index, as it is (the pages it points to are all there or gone: 404)
        bundle = SEARCH_BUNDLE_URL.strip("/") + "/"
        for kept in (name for name in old.outputs if name.startswith(bundle)):
            if not kept.endswith(".gz") and os.path.isfile(os.path.join(out, kept)):
                staging.reuse(kept)
                keys.setdefault(kept, old.outputs[kept][0])
    staging.prune()
    fresh = staging.records(keys, skip=reused.keys())
    outputs = dict(sorted({**reused, **fresh}.items()))
    # A .gz is recorded in the manifest like any file (with an empty key), but the report
    # counts the site's files, not their compressed copies.
    siblings = ({rel for rel in outputs
                 if rel.endswith(".gz") and rel[:-3] in outputs and compressible(rel[:-3])}
                if staging.precompress else set())
    unchanged = sum(rel not in siblings for rel in reused) + staging.count_unchanged(
        {rel: record for rel, record in fresh.items() if rel not in siblings})
    files = len(outputs) - len(siblings)
    return outputs, Written(files, files - unchanged, unchanged, len(todo), (), damaged,
                            search_seconds)


def _index_search(staging: Staging, keys: dict[str, str], cache: Path | None,
                  spare: Callable[[], Path], language: str,
                  unchanged: Callable[[str, str], bool]) -> float | None:
    """Put the search index of the staged pages into the staging folder; returns the time
    making it took (None: taken from the cache). Each bundle file is recorded with its
    SHA-256 as its key: one the live output has as recorded (`unchanged`) is taken over
    without being read (1,000 pages: ~1,000 files; reading and comparing them all took
    ~0.5 s), the others are compared by bytes, so an unchanged file keeps its inode and
    modification time."""

    def pages() -> Path:
        staging.prune()  # Pagefind indexes every HTML file in the folder: none left over
        return staging.dir

    bundle, seconds = _search_bundle(keys, language, cache, spare, pages)
    for rel, file, sha in bundle.outputs():
        keys[str(rel)] = sha
        if unchanged(str(rel), sha):
            staging.reuse(rel)
        else:  # bytes, not a hard link: damage to the cache must not reach the site
            staging.write(rel, file.read_bytes())
    return seconds


def _search_bundle(keys: Mapping[str, str], language: str, cache: Path | None,
                   spare: Callable[[], Path], pages: Callable[[], Path]
                   ) -> tuple[SearchBundle, float | None]:
    """The search bundle of the pages whose keys are in `keys` (output path → key): from the
    search cache, else made by Pagefind over the folder `pages()` gives (only when a page
    changed), with the time that took. A search cache that cannot be written (full,
    read-only) only costs speed: the bundle is then made in a spare folder."""
    key = bundle_key(language, {rel: k for rel, k in keys.items() if rel.endswith(".html")})
    bundle = cached_bundle(cache, key) if cache else None
    if bundle is not None:
        return bundle, None
    started = time.perf_counter()
    folder = pages()
    try:
        bundle = make_bundle(folder, cache or spare(), key, language)
    except (OSError, SiteError):
        if cache is None:
            raise
        bundle = make_bundle(folder, spare(), key, language)
    return bundle, time.perf_counter() - started


def _render_pages(
    write: Callable[[PurePosixPath, bytes], None] | None, plan: Plan,
    todo: Sequence[tuple[PageSpec, PurePosixPath]], jobs: int,
) -> tuple[list[SiteError], int, list[tuple[PurePosixPath, bytes]]]:
    """Render pages and hand each to `write` (in worker processes for many pages), or, with
    no `write`, return them; also returns template errors and the damaged cache entries
    rendering met (converted bodies read from their packs, compiled templates)."""
    parent = os.getpid()

    def damaged() -> int:
        return plan.renderer.damaged_cache_entries + plan.packs.damaged

    def work(start: int, stop: int) -> tuple[list[SiteError], int, list[tuple[PurePosixPath, bytes]]]:
        errors, before, pages = [], damaged(), []
        for spec, rel in todo[start:stop]:
            try:
                data = plan.renderer.render(spec)
            except SiteError as exc:
                errors.append(exc)
                continue
            if write is None:
                pages.append((rel, data))
            else:
                write(rel, data)
        # A worker's counts die with it: send them back (in this process they are counted).
        return errors, (damaged() - before if os.getpid() != parent else 0), pages

    chunks = map_ranges(work, len(todo), jobs)
    return ([e for errors, _, _ in chunks for e in errors],
            damaged() + sum(n for _, n, _ in chunks),
            [page for _, _, pages in chunks for page in pages])


class MemorySink:
    """`kpr-site serve`: the site kept in memory (`files`) and served from there. A run
    renders only the pages whose key changed, takes every other file over as it is, and
    swaps in the new mapping in one step: a request sees the site of one run or the next.
    Photos, documents and the search bundle are files named by the mapping, not copies."""

    keep_going = False
    hash_files = False
    damaged = 0

    def __init__(self, source: Path, folder: Path, options: BuildOptions) -> None:
        self.folder = folder
        """Below it: spare folders (photos the image cache cannot take; pages for Pagefind)."""
        self.caches = options.caches(source)
        self.search = options.search
        self.files: Mapping[str, bytes | Path] = {}
        """The site as served: output path → its bytes, or the file holding them."""
        self.keys: dict[str, str] = {}
        """Output path → key of every page in `files`."""

    @contextlib.contextmanager
    def session(self) -> Iterator[Callable[[], Path]]:
        with contextlib.ExitStack() as stack:

            def spare() -> Path:
                self.folder.mkdir(parents=True, exist_ok=True)
                return Path(stack.enter_context(tempfile.TemporaryDirectory(
                    dir=self.folder, ignore_cleanup_errors=True)))

            self.spare = spare
            yield spare

    def write(self, source: Path, loaded: Loaded, plan: Plan, made: Made, jobs: int) -> Written:
        old = self.files
        files: dict[str, bytes | Path] = {}
        keys: dict[str, str] = {}
        todo: list[tuple[PageSpec, PurePosixPath]] = []
        for spec in plan.specs:
            rel = output_file(spec.url)
            name = str(rel)
            keys[name] = key = plan.renderer.page_key(spec)
            if self.keys.get(name) == key and name in old:
                files[name] = old[name]
            else:
                todo.append((spec, rel))
        errors, damaged, pages = _render_pages(None, plan, todo, jobs)
        if errors:
            raise BuildFailed(_unique(errors))
        files.update((str(rel), data) for rel, data in pages)
        files.update((str(rel), data) for rel, data in extra_files(source, plan, documents=False))
        files.update((str(rel), file) for rel, file in document_files(source, plan))
        files.update((str(rel), file) for rel, file in made.files)
        bundle, search_seconds = self._search_bundle(old, files, keys, plan.site.config.language)
        files.update(bundle)
        rendered = {str(rel) for rel, _ in pages}
        unchanged = sum(1 for rel, data in files.items()
                        if rel not in rendered and rel in old and old[rel] == data)
        self.files, self.keys = files, keys
        return Written(len(files), len(files) - unchanged, unchanged, len(todo), (), damaged,
                       search_seconds)

    def _search_bundle(self, old: Mapping[str, bytes | Path], files: Mapping[str, bytes | Path],
                       keys: Mapping[str, str], language: str
                       ) -> tuple[dict[str, bytes | Path], float | None]:
        """The search index: made at the first run only (Pagefind reads every page, ~1–2 s
        per 1,000), or taken from the search cache; later runs keep it as it is."""
        prefix = SEARCH_BUNDLE_URL.strip("/") + "/"
        if old or not self.search:
            return {rel: data for rel, data in old.items()
                    if rel.startswith(prefix) and isinstance(data, Path)}, None

        def pages() -> Path:  # Pagefind reads the pages from a folder
            folder = self.spare()
            for rel, data in files.items():
                if rel.endswith(".html") and isinstance(data, bytes):
                    write_file(folder / rel, data)
            return folder

        bundle, seconds = _search_bundle(keys, language, self.caches.search, self.spare, pages)
        return {str(rel): file for rel, file, _ in bundle.outputs()}, seconds


class CheckSink:
    """`kpr-site check`: every page rendered for `visit`, every error collected, nothing
    written but the caches."""

    keep_going = True
    hash_files = False
    damaged = 0

    def __init__(self, visit: Callable[[PurePosixPath, bytes], None]) -> None:
        self.visit = visit

    @contextlib.contextmanager
    def session(self) -> Iterator[Callable[[], Path]]:
        with contextlib.ExitStack() as stack:
            yield lambda: Path(stack.enter_context(tempfile.TemporaryDirectory(
                ignore_cleanup_errors=True)))

    def write(self, source: Path, loaded: Loaded, plan: Plan, made: Made, jobs: int) -> Written:
        todo = [(spec, output_file(spec.url)) for spec in plan.specs]
        errors, damaged, _ = _render_pages(self.visit, plan, todo, 1)
        for path, data in extra_files(source, plan):
            self.visit(path, data)
        return Written(rendered=len(todo), errors=tuple(errors), damaged=damaged)


def _unique(errors: list[SiteError]) -> list[SiteError]:
    """One template typo fails every page that uses it; report it once."""
    seen: dict[tuple[str, int, str], SiteError] = {}
    for error in errors:
        key = (str(error.location), 0, error.message.split(": ", 1)[-1])
        seen.setdefault(key, error)
    return list(seen.values())


# ---------- the entry points ----------


def _faults_as_errors(function: Callable[P, R]) -> Callable[P, R]:
    """The one boundary for faults of the file system (full, read-only, no permission …):
    they leave a run as a BuildFailed with a German message naming the path, like every
    other error, and the CLI shows them the same way."""

    @functools.wraps(function)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except OSError as exc:
            raise BuildFailed([file_error(exc)]) from exc

    return guarded


@_faults_as_errors
def build_site(source: Path, out: Path, options: BuildOptions | None = None,
               previous: Manifest | None = None) -> BuildReport:
    """Build the site from `source` into `out`. Raises BuildFailed with every error found,
    a fault of the file system included; the previous output is then untouched. `previous`
    is the manifest of the last build if the caller has read it already."""
    options = options or BuildOptions()
    return run(source, options, StagingSink(source, out, options, previous)).report


@_faults_as_errors
def build_preview(source: Path, options: BuildOptions, sink: MemorySink, memory: Memory) -> BuildReport:
    """One run of `kpr-site serve`: like build_site, with the preview's sink and the memory
    it keeps between runs."""
    return run(source, options, sink, memory).report


@dataclass(frozen=True)
class DryRun:
    """A run that wrote nothing (for `kpr-site check`)."""

    site: Site | None
    bodies: dict[str, LazyBody]
    """Source path → body HTML with links resolved."""
    specs: list[PageSpec]
    errors: list[SiteError]
    report: BuildReport
    loaded: Loaded
    """What was read: the line of each front-matter key, the drafts."""


@_faults_as_errors
def dry_run(
    source: Path, options: BuildOptions, visit: Callable[[PurePosixPath, bytes], None]
) -> DryRun:
    """Every stage of the build, going on past errors so that every error of every stage is
    found. `visit` receives each output file as it is made."""
    result = run(source, options, CheckSink(visit))
    plan = result.plan
    if plan is None:
        return DryRun(None, {}, [], list(result.errors), result.report, result.loaded)
    return DryRun(plan.site, dict(plan.bodies), list(plan.specs), list(result.errors),
                  result.report, result.loaded)
