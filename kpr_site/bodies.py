"""Convert every Markdown body: from the cache where possible, else in parallel workers."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from kpr_site.cache import JsonCache, PackCache, code_version, digest
from kpr_site.errors import SiteError
from kpr_site.links import LinkResolver
from kpr_site.load import Source
from kpr_site.markup import CONVERTER_VERSION, Converted, LazyBody, convert, resolve_refs
from kpr_site.parallel import map_ranges

__all__ = ["ConvertedBodies", "convert_sources", "resolve_bodies"]

def _key(source: Source) -> str:
    # The code's own hash makes the cache correct by construction across upgrades.
    return digest(code_version(), CONVERTER_VERSION, source.path, source.body)


@dataclass
class ConvertedBodies:
    """The converted bodies of a build. Their metadata (links, anchors, problems) is always
    here; their HTML only where it was converted in this build, else it stays in the cache
    until a page that shows it is rendered."""

    converted: dict[str, Converted]
    """By source path; `html` is "" where it stayed in the cache."""
    keys: dict[str, str]
    """Cache key by source path."""
    fresh: dict[str, str]
    """HTML converted (or read) in this build, by cache key."""
    empty: dict[str, bool]
    """Whether a body's HTML is empty, by source path."""
    count: int = 0
    """How many bodies had to be converted."""


def convert_sources(
    sources: Iterable[Source], cache: JsonCache, meta: PackCache, jobs: int
) -> ConvertedBodies:
    """All bodies converted: metadata from `meta` (one file), else from the HTML cache, else
    converted afresh in parallel workers."""
    result = ConvertedBodies({}, {}, {}, {})
    missing: list[Source] = []
    for source in sources:
        key = result.keys[source.path] = _key(source)
        if not _from_cache(result, source.path, key, cache, meta):
            missing.append(source)
    for source, converted in zip(missing, _convert_many(missing, cache, jobs), strict=True):
        _remember(result, source.path, converted, meta)
    result.count = len(missing)
    meta.save()
    return result


def _from_cache(
    result: ConvertedBodies, path: str, key: str, cache: JsonCache, meta: PackCache
) -> bool:
    known = meta.get(key)
    try:
        if known is not None:
            result.converted[path] = Converted.from_json(known, html="")
            result.empty[path] = bool(known["empty"])
            return True
        entry = cache.get(key)
        if entry is not None:
            _remember(result, path, Converted.from_json(entry), meta)
            return True
    except (KeyError, TypeError, ValueError):
        cache.damaged += 1
    return False


def _remember(result: ConvertedBodies, path: str, converted: Converted, meta: PackCache) -> None:
    key = result.keys[path]
    result.converted[path] = converted
    result.fresh[key] = converted.html
    result.empty[path] = not converted.html
    meta.put(key, converted.meta_json())


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
    sources: Mapping[str, Source], bodies: ConvertedBodies, cache: JsonCache,
    resolver: LinkResolver,
) -> tuple[dict[str, LazyBody], list[SiteError]]:
    """Resolve every body's links (errors name the file and line of the link); the HTML is
    put together only when a page shows it."""
    resolved: dict[str, LazyBody] = {}
    errors: list[SiteError] = []
    for path, source in sources.items():
        subs, found = resolve_refs(bodies.converted[path], path, source.body_line,
                                   resolver.resolve, resolver.picture, resolver.note)
        key = bodies.keys[path]
        resolved[path] = LazyBody(key, subs, bodies.empty[path],
                                  _loader(key, source, bodies.fresh, cache))
        errors.extend(found)
    return resolved, errors


def _loader(key: str, source: Source, fresh: dict[str, str], cache: JsonCache) -> Callable[[], str]:
    def load() -> str:
        if key in fresh:
            return fresh[key]
        entry = cache.get(key)
        if isinstance(entry, dict) and isinstance(entry.get("html"), str):
            return str(entry["html"])
        return convert(source.body, source.path).html  # the cache lost it: convert again

    return load
