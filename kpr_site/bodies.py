"""Convert every Markdown body: from the cache where possible, else in parallel workers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from kpr_site.cache import JsonCache, code_version, digest
from kpr_site.errors import SiteError
from kpr_site.links import LinkResolver
from kpr_site.load import Source
from kpr_site.markup import CONVERTER_VERSION, Converted, convert, resolve_links
from kpr_site.parallel import map_ranges

__all__ = ["convert_sources", "resolve_bodies"]

def _key(source: Source) -> str:
    # The code's own hash makes the cache correct by construction across upgrades.
    return digest(code_version(), CONVERTER_VERSION, source.path, source.body)


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
    for source, converted in zip(missing, _convert_many(missing, cache, jobs), strict=True):
        done[source.path] = converted
    return done, len(missing)


def _convert_many(sources: list[Source], cache: JsonCache, jobs: int) -> list[Converted]:
    def work(start: int, stop: int) -> list[Converted]:
        results = []
        for source in sources[start:stop]:
            converted = convert(source.body, source.path)
            cache.put(_key(source), converted.to_json())  # in the worker: writes in parallel
            results.append(converted)
        return results

    return [c for chunk in map_ranges(work, len(sources), jobs) for c in chunk]


def resolve_bodies(
    sources: Mapping[str, Source], converted: Mapping[str, Converted], resolver: LinkResolver
) -> tuple[dict[str, str], list[SiteError]]:
    """Fill in every body's links; errors name the file and line of the link."""
    bodies: dict[str, str] = {}
    errors: list[SiteError] = []
    for path, source in sources.items():
        html, found = resolve_links(converted[path], path, source.body, source.body_line,
                                    resolver.resolve, resolver.base_path, resolver.picture)
        bodies[path] = html
        errors.extend(found)
    return bodies, errors
