"""Build options: a light module (stdlib only) so the CLI can decide without heavy imports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kpr_site import __version__

__all__ = ["BuildOptions", "check_paths", "settings_key"]


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
    progress: Callable[[int, int], None] | None = None
    """Called as photos are processed, with (photos done, photos to do): for a progress bar."""

    def cache_root(self, source: Path) -> Path:
        return self.cache_dir or source / ".cache"


def settings_key(source: Path, out: Path, options: BuildOptions) -> str:
    """Everything besides the input files that decides the output."""
    return repr((str(source.resolve()), str(out.resolve()), options.drafts, options.base_url,
                 __version__))


def check_paths(source: Path, out: Path) -> None:
    """Usage errors: the output must not be, contain or sit inside the sources."""
    source, out = source.resolve(), out.resolve()
    if out == source or source.is_relative_to(out):
        raise ValueError(f"Der Ausgabeordner {out} enthält die Quellen; das ist nicht erlaubt.")
    for folder in ("content", "templates", "gallery"):
        if out.is_relative_to(source / folder):
            raise ValueError(f"Der Ausgabeordner darf nicht in {folder}/ liegen.")
