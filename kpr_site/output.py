"""Write the site atomically: into a staging folder beside the output, then swap it in.

A failed or killed build leaves the previous output byte for byte as it was. Files whose bytes
did not change are hard-linked from the previous output, so they keep their modification time
and deploy tools that sync by mtime upload only what changed. The swap is one renameat2
(RENAME_EXCHANGE) call on Linux, so there is no moment without a complete site.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path, PurePosixPath

from kpr_site.compress import compressible, gzip_bytes
from kpr_site.errors import Location, SiteError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows has no flock; builds there are not locked
    fcntl = None  # type: ignore[assignment]

__all__ = ["Staging", "build_lock", "check_output_dir"]


@contextmanager
def build_lock(out: Path) -> Iterator[None]:
    """Only one build writes to `out` at a time; a second one stops with a clear message.
    A folder where the lock cannot be taken (read-only, no permission, full) is an OSError
    naming `out`: the user chose that folder, not the lock file beside it."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        handle = (out.parent / f".{out.name}.lock").open("a")
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(out)) from exc
    with handle:
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
    """Folders of a build killed between the two renames of a swap without renameat2;
    safe to handle while we hold the lock."""
    for stale in out.parent.glob(f".{out.name}.old-*"):
        if stale.is_dir() and not out.exists():
            os.rename(stale, out)  # killed after moving the live site away: put it back
        elif stale.is_dir():
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
    """The next version of the site, prepared beside the output; `commit` swaps it in.

    The staging folder is the output of the build before last, kept after each swap (a
    double buffer). Updating it touches only what differs: files the last build changed are
    re-linked, files this build changes are written, and the folder structure — one folder
    per page, ~160 µs per mkdir or rmdir here — stays. A file is never written in place,
    since it may share its inode with the live output: new bytes go to a temporary file
    that is renamed over the old name.
    """

    def __init__(self, out: Path) -> None:
        self.out = out
        self.dir = out.parent / f".{out.name}.next"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.paths: set[str] = set()
        # Plain strings and os calls below: these run once per output file (10,000 pages:
        # pathlib's object overhead alone was ~0.5 s).
        self._out, self._dir = str(out), str(self.dir)
        self._made: set[str] = {self._dir}

    def expect(self, paths: Iterable[str]) -> None:
        """Files that worker processes will write: the staging folder must keep them."""
        self.paths.update(paths)

    def _target(self, path: PurePosixPath) -> str:
        rel = str(path)
        self.paths.add(rel)
        return os.path.join(self._dir, rel)

    def _parent(self, target: str) -> None:
        parent = os.path.dirname(target)
        if parent not in self._made:
            os.makedirs(parent, exist_ok=True)
            self._made.add(parent)

    def reuse(self, path: PurePosixPath) -> None:
        """Take a file over from the live output unchanged (the caller knows it is)."""
        try:
            self._link(os.path.join(self._out, str(path)), self._target(path))
        except OSError as exc:
            raise self._fault(exc, path) from exc

    def _fault(self, exc: OSError, path: PurePosixPath) -> OSError:
        """The error of writing a staged file, told as the output file it will become (the
        staging folder is an inner detail the user never chose)."""
        return OSError(exc.errno, exc.strerror, os.path.join(self._out, str(path)))

    def discard(self) -> None:
        """Remove the staging folder after a failed build, leaving nothing behind."""
        shutil.rmtree(self.dir, ignore_errors=True)

    def link_file(self, path: PurePosixPath, source: Path) -> None:
        """Take a file over from outside the output (the image cache) by hard link, so it
        costs neither memory nor a copy; across file systems it is copied."""
        try:
            self._link(str(source), self._target(path))
        except FileNotFoundError:
            raise
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
                raise self._fault(exc, path) from exc
            self.write(path, source.read_bytes())  # another file system, or no hard links

    def write(self, path: PurePosixPath, data: bytes) -> None:
        target = self._target(path)
        live = os.path.join(self._out, str(path))
        try:
            if _same_bytes(live, data):
                self._link(live, target)
                return
            self._parent(target)
            tmp = f"{target}.tmp-{os.getpid()}"
            try:
                with open(tmp, "wb") as handle:
                    handle.write(data)
                os.replace(tmp, target)
            except OSError:
                with suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError as exc:
            raise self._fault(exc, path) from exc

    def _link(self, live: str, target: str) -> None:
        try:
            if os.stat(target).st_ino == os.stat(live).st_ino:
                return  # unchanged in the last build too: nothing to do
        except FileNotFoundError:
            pass
        self._parent(target)
        tmp = f"{target}.tmp-{os.getpid()}"
        with suppress(FileNotFoundError):
            os.unlink(tmp)
        os.link(live, tmp)
        os.replace(tmp, target)

    def add_compressed(self, intact: Callable[[str], bool]) -> set[str]:
        """A `.gz` beside every staged text file where it saves bytes (kpr_site.compress);
        returns their names. A file the live output has unchanged (same inode) takes its
        live `.gz` over if `intact` says that one is as the last build wrote it: only what
        changed is compressed again (~1 ms per page)."""
        added = set()
        for rel in sorted(p for p in self.paths if compressible(PurePosixPath(p))):
            staged, live = os.path.join(self._dir, rel), os.path.join(self._out, rel)
            packed_name = PurePosixPath(rel + ".gz")
            if _same_file(staged, live) and intact(str(packed_name)):
                self.reuse(packed_name)
            else:
                with open(staged, "rb") as handle:
                    packed = gzip_bytes(handle.read())
                if packed is None:
                    continue
                self.write(packed_name, packed)
            added.add(str(packed_name))
        return added

    def prune(self) -> None:
        """Remove what the staged site no longer has (and any temp file of a killed build)."""
        root = str(self.dir)
        emptied: set[str] = set()  # folders that lost an entry and may now be empty
        for dirpath, _dirs, filenames in os.walk(root, topdown=False):
            rel_dir = os.path.relpath(dirpath, root)
            prefix = "" if rel_dir == "." else rel_dir.replace(os.sep, "/") + "/"
            for name in filenames:
                if prefix + name not in self.paths:
                    os.unlink(os.path.join(dirpath, name))
                    emptied.add(dirpath)
            if prefix and dirpath in emptied and not os.listdir(dirpath):
                os.rmdir(dirpath)
                emptied.add(os.path.dirname(dirpath))

    def records(
        self, keys: dict[str, str], skip: Collection[str] = ()
    ) -> dict[str, tuple[str, int, int, int]]:
        """(key, size, mtime_ns, inode) of every staged file not in `skip`, for the manifest."""
        records = {}
        for rel in sorted(self.paths.difference(skip)):
            stat = os.stat(os.path.join(self._dir, rel))
            records[rel] = (keys.get(rel, ""), stat.st_size, stat.st_mtime_ns, stat.st_ino)
        return records

    def count_unchanged(self, records: dict[str, tuple[str, int, int, int]]) -> int:
        """How many staged files are the live output's files (same inode)."""
        count = 0
        for rel, record in records.items():
            with suppress(OSError):
                count += os.stat(os.path.join(self._out, rel)).st_ino == record[3]
        return count

    def commit(self) -> None:
        """Put the new site in place in one step; the old one becomes the next staging."""
        if not self.out.exists():
            os.rename(self.dir, self.out)
        elif not _exchange(self.dir, self.out):
            old = self.out.parent / f".{self.out.name}.old-{os.getpid()}"
            os.rename(self.out, old)
            os.rename(self.dir, self.out)
            os.rename(old, self.dir)


def _same_file(a: str, b: str) -> bool:
    try:
        return os.stat(a).st_ino == os.stat(b).st_ino
    except OSError:
        return False


def _same_bytes(path: str, data: bytes) -> bool:
    try:
        if os.stat(path).st_size != len(data):
            return False
        with open(path, "rb") as handle:
            return handle.read() == data
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
