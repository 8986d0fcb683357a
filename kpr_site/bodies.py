"""Convert every Markdown body: from the cache where possible, else in parallel workers."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from kpr_site.cache import PackCache, PackFolder, code_version, digest
from kpr_site.errors import SiteError
from kpr_site.links import LinkResolver
from kpr_site.markup import CONVERTER_VERSION, Converted, LazyBody, convert, resolve_refs
from kpr_site.model import Source
from kpr_site.parallel import map_ranges

__all__ = ["ConvertedBodies", "carry_over", "convert_sources", "resolve_bodies"]

def _key(source: Source) -> str:
    # The code's own hash makes the cache correct by construction across upgrades.
    return digest(code_version(), CONVERTER_VERSION, source.path, source.body)


@dataclass
class ConvertedBodies:
    """The converted bodies of a build. Their metadata (links, anchors, problems) is always
    here; their HTML only where no pack holds it, else it stays in its pack until a page
    that shows it is rendered."""

    converted: dict[str, Converted]
    """By source path; `html` is "" where a pack holds it."""
    keys: dict[str, str]
    """Cache key by source path."""
    fresh: dict[str, str]
    """HTML converted in this build that no pack holds (no cache, or one that cannot be
    written), by cache key."""
    empty: dict[str, bool]
    """Whether a body's HTML is empty, by source path."""
    packs: dict[str, str | None]
    """The pack holding each body's HTML, by cache key (None: not stored)."""
    count: int = 0
    """How many bodies had to be converted."""


def convert_sources(
    sources: Iterable[Source], packs: PackFolder, meta: PackCache, jobs: int
) -> ConvertedBodies:
    """All bodies converted: metadata from `meta` (one file), the HTML left in its pack;
    the rest converted afresh in parallel workers, each storing its chunk in one pack."""
    result = ConvertedBodies({}, {}, {}, {}, {})
    missing: list[Source] = []
    for source in sources:
        key = result.keys[source.path] = _key(source)
        known = meta.get(key, _valid_meta)
        if known is None or not (known["pack"] and packs.has(known["pack"])):
            missing.append(source)
            continue
        result.converted[source.path] = Converted.from_json(known, html="")
        result.empty[source.path] = known["empty"]
        result.packs[key] = known["pack"]
    for source, (converted, pack, empty) in zip(missing, _convert_many(missing, packs, jobs),
                                                strict=True):
        key = result.keys[source.path]
        result.converted[source.path] = converted
        if pack is None:  # not stored: this build keeps the HTML
            result.fresh[key] = converted.html
        result.empty[source.path] = empty
        result.packs[key] = pack
        meta.put(key, {**converted.meta_json(), "empty": empty, "pack": pack})
    result.count = len(missing)
    meta.save()
    packs.prune({pack for pack in result.packs.values() if pack})
    return result


def carry_over(
    sources: Iterable[Source], before: Mapping[str, Source], bodies: ConvertedBodies, jobs: int
) -> ConvertedBodies:
    """`bodies`, converted from `before`, brought up to date with `sources` (for `serve`): a
    body whose Source is the very same object is taken over, the others are converted and
    kept in memory (a preview does not write the Markdown cache)."""
    result = ConvertedBodies({}, {}, {}, {}, {})
    missing: list[Source] = []
    for source in sources:
        path = source.path
        if before.get(path) != source:  # the same object, or one read anew from an unchanged text
            missing.append(source)
            continue
        key = result.keys[path] = bodies.keys[path]
        result.converted[path] = bodies.converted[path]
        result.empty[path] = bodies.empty[path]
        if key in bodies.fresh:
            result.fresh[key] = bodies.fresh[key]
        result.packs[key] = bodies.packs.get(key)
    for source, (converted, _, empty) in zip(missing, _convert_many(missing, PackFolder(None), jobs),
                                             strict=True):
        key = result.keys[source.path] = _key(source)
        result.converted[source.path] = converted
        result.fresh[key] = converted.html
        result.empty[source.path] = empty
        result.packs[key] = None
    result.count = len(missing)
    return result


def _valid_meta(value: Any) -> bool:
    return (Converted.valid_json(value, with_html=False) and "pack" in value
            and isinstance(value["pack"], str | None))


def _convert_many(
    sources: list[Source], packs: PackFolder, jobs: int
) -> list[tuple[Converted, str | None, bool]]:
    """(converted body, its pack, whether its HTML is empty) for each source. The HTML of a
    body stored in a pack stays there: the pages that show it read it back when they are
    rendered. Sent back to this process it was ~130 MB at 10,000 releases, held here and
    inherited by every render worker."""

    def work(start: int, stop: int) -> list[tuple[Converted, str | None, bool]]:
        done = [convert(source.body, source.path) for source in sources[start:stop]]
        # In the worker, so packs are written in parallel; one file per chunk.
        pack = packs.write({_key(s): c.html for s, c in zip(sources[start:stop], done, strict=True)})
        return [(replace(c, html="") if pack else c, pack, not c.html) for c in done]

    return [c for chunk in map_ranges(work, len(sources), jobs) for c in chunk]


def resolve_bodies(
    sources: Mapping[str, Source], bodies: ConvertedBodies, packs: PackFolder,
    resolver: LinkResolver, before: Mapping[str, Resolved] | None = None,
) -> tuple[dict[str, Resolved], list[SiteError]]:
    """Resolve every body's links (errors name the file and line of the link); the HTML is
    put together only when a page shows it. `before` are bodies resolved by the same
    resolver in an earlier run (`serve`): one whose Source is the same object is kept."""
    resolved: dict[str, Resolved] = {}
    errors: list[SiteError] = []
    for path, source in sources.items():
        kept = before.get(path) if before else None
        if kept is None or kept[0] != source:
            subs, found = resolve_refs(bodies.converted[path], path, source.body_line,
                                       resolver.resolve, resolver.picture, resolver.note)
            key = bodies.keys[path]
            kept = (source, LazyBody(key, subs, bodies.empty[path],
                                     _loader(key, source, bodies, packs)), tuple(found))
        resolved[path] = kept
        errors.extend(kept[2])
    return resolved, errors


Resolved = tuple[Source, LazyBody, tuple[SiteError, ...]]
"""A body with its links resolved: its source, the body, the errors resolving found."""


def _loader(key: str, source: Source, bodies: ConvertedBodies, packs: PackFolder) -> Callable[[], str]:
    def load() -> str:
        if key in bodies.fresh:
            return bodies.fresh[key]
        pack = bodies.packs.get(key)
        html = packs.read(pack, key) if pack else None
        if html is None:  # the cache lost it (counted as damage): convert again
            html = convert(source.body, source.path).html
        return html

    return load
