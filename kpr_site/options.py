"""Build options: a light module (stdlib only) so the CLI can decide without heavy imports."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from kpr_site import __version__
from kpr_site.cache import CacheLayout
from kpr_site.german import BERLIN

__all__ = ["BuildOptions", "build_date", "check_paths", "settings_key"]


def build_date(today: dt.date | None = None, environ: Mapping[str, str] | None = None) -> dt.date:
    """The build date, the one "today" of a build: `--today`, else SOURCE_DATE_EPOCH (the
    reproducible-builds convention, seconds since 1970 in UTC), else the clock; both taken
    as a day in Berlin. It decides upcoming and past events, open and expired calls, what is
    published and what has expired. Raises ValueError (German) for a bad SOURCE_DATE_EPOCH."""
    if today is not None:
        return today
    epoch = (os.environ if environ is None else environ).get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        if not epoch.isdigit():
            raise ValueError(f"SOURCE_DATE_EPOCH muss eine ganze Zahl von Sekunden sein, nicht "
                             f"„{epoch[:40]}“.")
        return dt.datetime.fromtimestamp(int(epoch), BERLIN).date()
    return dt.datetime.now(BERLIN).date()


@dataclass(frozen=True)
class BuildOptions:
    drafts: bool = False
    base_url: str | None = None
    """Overrides base_url of site.yaml (e.g. for a preview host)."""
    jobs: int = 0
    """Worker processes for Markdown and rendering; 0 means one per core."""
    cache_dir: Path | None = None
    """Where caches live; None means <source>/.cache."""
    use_cache: bool = True
    search: bool = True
    """Make the search index (Pagefind reads every page: ~1–2 s per 1,000 pages). Without it
    the last index is carried over unchanged (the preview after its first build, `--no-search`
    for quick local builds); a published build always makes it."""
    progress: Callable[[int, int], None] | None = None
    """Called as photos are processed, with (photos done, photos to do): for a progress bar."""
    today: dt.date = field(default_factory=build_date)
    """The build date (see `build_date`); fixed when the options are made."""
    precompress: bool = True
    """Write a `.gz` beside each text file (the preview server needs none)."""

    def cache_root(self, source: Path) -> Path:
        return self.cache_dir or source / ".cache"

    def caches(self, source: Path) -> CacheLayout:
        """Where this run's caches are (none with `use_cache` off)."""
        return CacheLayout(self.cache_root(source) if self.use_cache else None)


def settings_key(source: Path, out: Path, options: BuildOptions) -> str:
    """Everything besides the input files that decides the output."""
    return repr((str(source.resolve()), str(out.resolve()), options.drafts, options.base_url,
                 options.today.isoformat(), options.search, options.precompress, __version__))


def check_paths(source: Path, out: Path) -> None:
    """Usage errors: the output must not be, contain or sit inside the sources."""
    source, out = source.resolve(), out.resolve()
    if out == source or source.is_relative_to(out):
        raise ValueError(f"Der Ausgabeordner {out} enthält die Quellen; das ist nicht erlaubt.")
    for folder in ("content", "templates", "gallery"):
        if out.is_relative_to(source / folder):
            raise ValueError(f"Der Ausgabeordner darf nicht in {folder}/ liegen.")
