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
from pathlib import Path
from typing import Any

__all__ = ["JsonCache", "code_version", "digest"]


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
                json.dump({"key": key, "value": value}, handle, ensure_ascii=False)
            os.replace(tmp, target)
        except OSError:
            pass  # a cache that cannot be written only costs speed
