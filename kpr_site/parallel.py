"""Spread CPU-bound work over the cores with forked worker processes.

Fork (not spawn) is used so workers inherit the imported libraries, the compiled templates
and the site data instead of receiving them pickled; only small index ranges go out and
small results come back. Where fork is unavailable or unsafe (other threads running, as
under `kpr-site serve`) the work runs in this process.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, TypeVar

from kpr_site.errors import SiteError

if TYPE_CHECKING:
    from kpr_site.output import Staging
    from kpr_site.pages import PageSpec
    from kpr_site.render import Renderer

__all__ = ["default_jobs", "map_ranges", "render_pages"]

T = TypeVar("T")
# Below this many items a pool costs more than it saves (fork + results ≈ 30–60 ms).
POOL_THRESHOLD = 64


def default_jobs() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _can_fork() -> bool:
    return ("fork" in multiprocessing.get_all_start_methods()
            and threading.active_count() == 1)


_work: Callable[[int, int], Any] | None = None


def _die_with_parent() -> None:
    """Workers inherit the build lock; if the build is killed they must not live on and
    keep writing into the staging folder (Linux: PR_SET_PDEATHSIG)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(1)


def _run_range(bounds: tuple[int, int]) -> Any:
    assert _work is not None
    return _work(*bounds)


def map_ranges(work: Callable[[int, int], T], count: int, jobs: int) -> list[T]:
    """Call `work(start, stop)` over [0, count) in chunks, in parallel where worthwhile."""
    global _work
    if jobs <= 1 or count < POOL_THRESHOLD or not _can_fork():
        return [work(0, count)] if count else []
    size = -(-count // (jobs * 4))  # a few chunks per worker evens out uneven pages
    chunks = [(i, min(i + size, count)) for i in range(0, count, size)]
    _work = work
    try:
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork"),
                                 initializer=_die_with_parent) as pool:
            return list(pool.map(_run_range, chunks))
    finally:
        _work = None


def render_pages(
    staging: Staging, renderer: Renderer, todo: Sequence[tuple[PageSpec, PurePosixPath]],
    jobs: int,
) -> list[SiteError]:
    """Render pages straight into the staging folder; returns template errors."""

    def work(start: int, stop: int) -> list[SiteError]:
        errors = []
        for spec, rel in todo[start:stop]:
            try:
                staging.write(rel, renderer.render(spec))
            except SiteError as exc:
                errors.append(exc)
        return errors

    return [error for found in map_ranges(work, len(todo), jobs) for error in found]
