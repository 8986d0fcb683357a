"""Content-addressed caches under .cache/: plain JSON files named by the hash of their inputs.

An entry can only be wrong if its file is damaged; a damaged or unreadable entry is ignored
and recomputed. Deleting the folder is always safe.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from contextlib import suppress
from pathlib import Path
from typing import Any

__all__ = ["JsonCache", "PackCache", "code_version", "digest"]


def digest(*parts: str | bytes) -> str:
    """SHA-256 over the parts, each length-prefixed so ("ab", "c") ≠ ("a", "bc")."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


@functools.cache
def code_version() -> str:
    """Hash of kpr-site's own code: output made by other code is never reused."""
    package = Path(__file__).parent
    return digest(*(f.read_bytes() for f in sorted(package.glob("*.py"))))


class JsonCache:
    """A folder of JSON values, one file per key. `folder=None` disables the cache."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.damaged = 0

    def _file(self, key: str) -> Path:
        assert self.folder is not None
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> Any | None:
        if self.folder is None:
            return None
        try:
            with self._file(key).open("rb") as handle:
                entry = json.load(handle)
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            self.damaged += 1
            return None
        if not isinstance(entry, dict) or entry.get("key") != key:
            self.damaged += 1
            return None
        return entry.get("value")

    def put(self, key: str, value: Any) -> None:
        """Write atomically (temp file + rename): a killed build leaves no half entry."""
        if self.folder is None:
            return
        target = self._file(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(json.dumps({"key": key, "value": value}, ensure_ascii=False))
            os.replace(tmp, target)
        except OSError:
            pass  # a cache that cannot be written only costs speed


class PackCache:
    """Many small JSON values in one file, read once and written once per build.

    For values far smaller than a file-system block (parsed front matter: ~300 bytes), one
    file beats one file each: 10,000 entries load in ~30 ms instead of ~450 ms. Entries not
    used by a build are dropped when it saves, so the file never outgrows the site.
    `path=None` disables the cache.
    """

    def __init__(self, path: Path | None, version: str) -> None:
        self.path = path
        self.version = version
        self.damaged = False
        self._old: dict[str, Any] = {}
        self._used: dict[str, Any] = {}
        if path is not None:
            self._old = self._read(path)

    def _read(self, path: Path) -> dict[str, Any]:
        try:
            data = json.loads(path.read_bytes())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            self.damaged = True
            return {}
        if not isinstance(data, dict) or data.get("version") != self.version:
            return {}
        entries = data.get("entries")
        return entries if isinstance(entries, dict) else {}

    def get(self, key: str) -> Any | None:
        value = self._old.get(key)
        if value is not None:
            self._used[key] = value
        return value

    def put(self, key: str, value: Any) -> None:
        self._used[key] = value

    def save(self) -> None:
        if self.path is None or self._used == self._old:
            return
        with suppress(OSError):  # a cache that cannot be written only costs speed
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".tmp-")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                # json.dumps, not json.dump: only the one-shot form uses the C encoder (~10x).
                handle.write(json.dumps({"version": self.version, "entries": self._used},
                                        ensure_ascii=False, separators=(",", ":")))
            os.replace(tmp, self.path)
