"""Convert every Markdown body: from the cache where possible, else in parallel workers."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor

from kpr_site.cache import JsonCache, digest
from kpr_site.errors import SiteError
from kpr_site.links import LinkResolver
from kpr_site.load import Source
from kpr_site.markup import CONVERTER_VERSION, Converted, convert, resolve_links

__all__ = ["convert_sources", "default_jobs", "resolve_bodies"]

# Below this many conversions a pool costs more than it saves (fork + pickling ≈ 30 ms).
_POOL_THRESHOLD = 40


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _key(source: Source) -> str:
    return digest(CONVERTER_VERSION, source.path, source.body)


def _convert_batch(batch: list[tuple[str, str]]) -> list[Converted]:
    return [convert(body, path) for path, body in batch]


def convert_sources(
    sources: Iterable[Source], cache: JsonCache, jobs: int
) -> tuple[dict[str, Converted], int]:
    """All bodies converted; returns them and how many had to be converted afresh."""
    done: dict[str, Converted] = {}
    missing: list[Source] = []
    for source in sources:
        cached = cache.get(_key(source))
        if cached is not None:
            try:
                done[source.path] = Converted.from_json(cached)
                continue
            except (KeyError, TypeError, ValueError):
                cache.damaged += 1
        missing.append(source)
    for source, converted in zip(missing, _convert_many(missing, jobs), strict=True):
        done[source.path] = converted
        cache.put(_key(source), converted.to_json())
    return done, len(missing)


def _convert_many(sources: list[Source], jobs: int) -> list[Converted]:
    pairs = [(s.path, s.body) for s in sources]
    if jobs <= 1 or len(pairs) < _POOL_THRESHOLD or "fork" not in multiprocessing.get_all_start_methods():
        return _convert_batch(pairs)
    # Few large batches keep pickling overhead small; fork shares the imported converter.
    size = -(-len(pairs) // (jobs * 4))
    batches = [pairs[i : i + size] for i in range(0, len(pairs), size)]
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        return [c for batch in pool.map(_convert_batch, batches) for c in batch]


def resolve_bodies(
    sources: Mapping[str, Source], converted: Mapping[str, Converted], resolver: LinkResolver
) -> tuple[dict[str, str], list[SiteError]]:
    """Fill in every body's links; errors name the file and line of the link."""
    bodies: dict[str, str] = {}
    errors: list[SiteError] = []
    for path, source in sources.items():
        html, found = resolve_links(converted[path], path, source.body, source.body_line,
                                    resolver.resolve, resolver.base_path)
        bodies[path] = html
        errors.extend(found)
    return bodies, errors
