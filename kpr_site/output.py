"""Write the site atomically: into a staging folder beside the output, then swap it in.

A failed or killed build leaves the previous output byte for byte as it was. Files whose bytes
did not change are hard-linked from the previous output, so they keep their modification time
and deploy tools that sync by mtime upload only what changed.
"""

from __future__ import annotations

import ctypes
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path, PurePosixPath

from kpr_site.errors import Location, SiteError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows has no flock; builds there are not locked
    fcntl = None  # type: ignore[assignment]

__all__ = ["Staging", "build_lock", "check_output_dir"]


@contextmanager
def build_lock(out: Path) -> Iterator[None]:
    """Only one build writes to `out` at a time; a second one stops with a clear message."""
    out.parent.mkdir(parents=True, exist_ok=True)
    lock_path = out.parent / f".{out.name}.lock"
    with lock_path.open("a") as handle:
        if fcntl is not None:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise SiteError(
                    f"Ein anderer Build schreibt gerade nach {out.name}/.", Location(str(out)),
                    "Warten Sie, bis er fertig ist, und starten Sie den Build dann erneut.",
                ) from None
        _remove_leftovers(out)
        yield


def _remove_leftovers(out: Path) -> None:
    """Staging folders of builds that were killed; safe to delete while we hold the lock."""
    for stale in out.parent.glob(f".{out.name}.*-*"):
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)


def check_output_dir(out: Path) -> None:
    """Refuse to replace a folder that is not a site: we would delete its contents."""
    if out.exists() and not out.is_dir():
        raise SiteError(f"{out} ist eine Datei, kein Ordner.", Location(str(out)),
                        "Wählen Sie mit --out einen anderen Ausgabeordner.")
    if out.is_dir() and any(out.iterdir()) and not (out / "index.html").exists():
        raise SiteError(
            f"Der Ausgabeordner {out} enthält Dateien, aber keine erzeugte Website.",
            Location(str(out)),
            "Der Build ersetzt den ganzen Ordner. Wählen Sie einen leeren oder neuen Ordner.")


class Staging:
    """A folder being filled with the new site; `commit` swaps it into place."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.dir = out.parent / f".{out.name}.staging-{os.getpid()}"
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)
        self._made: set[Path] = {self.dir}

    def _target(self, path: PurePosixPath) -> Path:
        target = self.dir.joinpath(*path.parts)
        if target.parent not in self._made:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._made.add(target.parent)
        return target

    def reuse(self, path: PurePosixPath) -> None:
        """Take a file over from the previous output unchanged (the caller knows it is)."""
        os.link(self.out.joinpath(*path.parts), self._target(path))

    def write(self, path: PurePosixPath, data: bytes) -> None:
        target = self._target(path)
        previous = self.out.joinpath(*path.parts)
        if _same_bytes(previous, data):
            os.link(previous, target)
            return
        with target.open("wb") as handle:
            handle.write(data)

    def records(self, keys: dict[str, str]) -> dict[str, tuple[str, int, int, int]]:
        """(key, size, mtime_ns, inode) of every staged file, for the build manifest."""
        records = {}
        for dirpath, _, filenames in os.walk(self.dir):
            for name in filenames:
                file = Path(dirpath, name)
                rel = file.relative_to(self.dir).as_posix()
                stat = file.stat()
                records[rel] = (keys.get(rel, ""), stat.st_size, stat.st_mtime_ns, stat.st_ino)
        return dict(sorted(records.items()))

    def count_unchanged(self, records: dict[str, tuple[str, int, int, int]]) -> int:
        """How many staged files are the previous output's files (same inode)."""
        count = 0
        for rel, record in records.items():
            with suppress(OSError):
                count += self.out.joinpath(rel).stat().st_ino == record[3]
        return count

    def commit(self) -> None:
        """Put the new site in place; the old one is removed only afterwards."""
        if not self.out.exists():
            os.rename(self.dir, self.out)
            return
        if not _exchange(self.dir, self.out):
            old = self.out.parent / f".{self.out.name}.old-{os.getpid()}"
            os.rename(self.out, old)
            os.rename(self.dir, self.out)
            self.dir = old
        shutil.rmtree(self.dir, ignore_errors=True)

    def abort(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def _same_bytes(path: Path, data: bytes) -> bool:
    try:
        if path.stat().st_size != len(data):
            return False
        return path.read_bytes() == data
    except OSError:
        return False


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one step (Linux renameat2); False where that is not available."""
    try:
        renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    except OSError:
        return False
    if renameat2 is None:
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return bool(result == 0)
