"""Spread CPU-bound work over the cores with forked worker processes.

Fork (not spawn) is used so workers inherit the imported libraries, the compiled templates
and the site data instead of receiving them pickled; only small index ranges go out and
small results come back. Where fork is unavailable or unsafe (other threads running, as
under `kpr-site serve`) the work runs in this process. multiprocessing is imported only when
a pool is really started: a one-file rebuild does not pay for it.
"""

from __future__ import annotations

import ctypes
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

__all__ = ["POOL_THRESHOLD", "can_fork", "default_jobs", "map_ranges", "process_pool"]

T = TypeVar("T")
# Below this many items a pool costs more than it saves (fork + results ≈ 30–60 ms).
POOL_THRESHOLD = 64


def default_jobs() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def can_fork() -> bool:
    """Fork is available and safe: forking while other threads run (the watcher and web
    server of `kpr-site serve`) can leave a worker holding a lock forever."""
    return hasattr(os, "fork") and threading.active_count() == 1


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


@contextmanager
def process_pool(jobs: int) -> Iterator[ProcessPoolExecutor]:
    """A pool of `jobs` forked workers that die with this process."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_die_with_parent) as pool:
        yield pool


_work: Callable[[int, int], Any] | None = None


def _run_range(bounds: tuple[int, int]) -> Any:
    assert _work is not None
    return _work(*bounds)


def map_ranges(work: Callable[[int, int], T], count: int, jobs: int) -> list[T]:
    """Call `work(start, stop)` over [0, count) in chunks, in parallel where worthwhile."""
    global _work
    if jobs <= 1 or count < POOL_THRESHOLD or not can_fork():
        return [work(0, count)] if count else []
    size = -(-count // (jobs * 4))  # a few chunks per worker evens out uneven pages
    chunks = [(i, min(i + size, count)) for i in range(0, count, size)]
    _work = work  # inherited by the forked workers; only the bounds are pickled
    try:
        with process_pool(jobs) as pool:
            return list(pool.map(_run_range, chunks))
    finally:
        _work = None
