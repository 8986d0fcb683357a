"""Content-addressed caches under .cache/: plain files named by the hash of their inputs.

Every file this module writes is *sealed*: a header line with the SHA-256 of the payload,
checked on every read, so a truncated, garbled or swapped file is never used. Each reader
also checks the shape of what it got (`valid`): a damaged or unreadable entry — a directory
where a file should be, wrong JSON types, a foreign format — is counted in `damaged`,
ignored and recomputed. A cache that cannot be written only costs speed. Deleting the folder
is always safe.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "CacheLayout", "Damaged", "Fingerprint", "JsonCache", "PackCache", "PackFolder", "code_version", "digest",
    "read_sealed", "seal", "store_sealed", "unseal", "write_file",
]

_MAGIC = b"kpr-cache 1 sha256="
_HEADER = len(_MAGIC) + 64 + 1  # magic, hex digest, newline

Valid = Callable[[Any], bool]


def digest(*parts: str | bytes) -> str:
    """SHA-256 over the parts, each length-prefixed so ("ab", "c") ≠ ("a", "bc")."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


class Fingerprint:
    """Deterministic bytes for the values a page is made from, to key it by (a page whose
    key is unchanged is taken over from the last build).

    Explicit about what it accepts: plain values, dates, containers, dataclasses (by their
    fields), and anything with a `fingerprint()` method (a lazily made body gives its cache key
    and link substitutions). Anything else is a TypeError, not a silently unstable key. A
    dataclass instance is walked once per Fingerprint (a release appears on many pages)."""

    def __init__(self, before: Fingerprint | None = None) -> None:
        self._seen: dict[int, tuple[object, bytes]] = {}
        self._fields: dict[type, tuple[str, ...]] = before._fields if before else {}
        # What an earlier run walked (`serve` keeps its model between runs): an object still
        # in the model is the very same object, and the model's records are frozen.
        self._before = before._seen if before else {}
        self._named: dict[str, tuple[object, tuple[str, ...], str]] = {}
        self._named_before = before._named if before else {}

    def named(self, name: str, value: object, *salt: str) -> str:
        """A key for `value` and `salt`: the hash of both, taken over from the last run if it
        had an equal value of the same type with the same salt under `name` (a page's spec by
        URL: comparing is far cheaper than walking it again, as its records are the very same
        objects)."""
        known = self._named_before.get(name)
        if (known is None or known[1] != salt or type(known[0]) is not type(value)
                or known[0] != value):
            known = (value, salt, digest(*salt, self(value)))
        self._named[name] = known
        return known[2]

    def __call__(self, value: object) -> bytes:
        kind = type(value)
        if kind in _PLAIN:  # most values: checked by exact type first, it is the hot path
            return f"{kind.__name__}:{value!r}".encode()
        if isinstance(value, dt.date):  # datetime too: isoformat keeps the time and zone
            return f"{kind.__name__}:{value.isoformat()}".encode()
        if isinstance(value, tuple | list):
            return b"[" + b",".join(self(item) for item in value) + b"]"
        if isinstance(value, dict):
            items = sorted((self(k), self(v)) for k, v in value.items())
            return b"{" + b",".join(k + b":" + v for k, v in items) + b"}"
        if isinstance(value, frozenset | set):
            return b"{" + b",".join(sorted(self(item) for item in value)) + b"}"
        if value is None or isinstance(value, bool | int | float | str):  # subclasses (Markup)
            return f"{kind.__name__}:{value!r}".encode()
        method = getattr(value, "fingerprint", None)
        if callable(method):
            return f"{kind.__name__}:{method()}".encode()
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return self._dataclass(value)
        raise TypeError(f"no fingerprint for {kind.__name__}")

    def _dataclass(self, value: object) -> bytes:
        known = self._seen.get(id(value))
        if known is None and self._before:
            known = self._before.get(id(value))
            if known is not None and known[0] is value and _frozen(value):
                self._seen[id(value)] = known
            else:
                known = None
        if known is None or known[0] is not value:
            names = self._fields.get(type(value))
            if names is None:
                names = self._fields[type(value)] = tuple(
                    f.name for f in dataclasses.fields(value))  # type: ignore[arg-type]
            fields = b",".join(self(getattr(value, name)) for name in names)
            known = (value, f"{type(value).__name__}(".encode() + fields + b")")
            self._seen[id(value)] = known
        return known[1]


_PLAIN = frozenset({str, int, float, bool, type(None)})


def _frozen(value: object) -> bool:
    params = getattr(type(value), "__dataclass_params__", None)
    return bool(params and params.frozen)


@functools.cache
def code_version() -> str:
    """Hash of kpr-site's own code: output made by other code is never reused."""
    package = Path(__file__).parent
    return digest(*(f.read_bytes() for f in sorted(package.glob("*.py"))))


@dataclass(frozen=True)
class CacheLayout:
    """Where each cache lives below the cache folder (`.cache/` by default): the one place that
    spells it. `root=None` means no cache (`--no-cache`): every location is then None."""

    root: Path | None

    def _at(self, name: str) -> Path | None:
        return self.root / name if self.root is not None else None

    @property
    def frontmatter(self) -> Path | None:
        """Parsed front matter by text hash (one PackCache file)."""
        return self._at("frontmatter.json")

    @property
    def bodies(self) -> Path | None:
        """What each converted body links to, and the pack holding its HTML."""
        return self._at("bodies.json")

    @property
    def markdown(self) -> Path | None:
        """Packs of converted HTML (PackFolder)."""
        return self._at("markdown")

    @property
    def images(self) -> Path | None:
        """Image derivatives by photo hash, with their checksums."""
        return self._at("images")

    @property
    def image_index(self) -> Path | None:
        """What each photo needs (size, orientation) by its hash."""
        return self._at("images/index")

    @property
    def search(self) -> Path | None:
        """Search index bundles (Pagefind) by a key of the pages they index."""
        return self._at("search")

    @property
    def jinja(self) -> Path | None:
        """Compiled templates, sealed."""
        return self._at("jinja")

    def manifest(self, out: Path) -> Path | None:
        """What the last build into `out` read and wrote (one file per output folder)."""
        name = hashlib.sha256(os.fsencode(out.resolve())).hexdigest()[:16]
        return self._at(f"builds/{name}.json")

    def preview(self, port: int) -> Path:
        """The folder of `kpr-site serve` on `port` for spare files (its site is in memory)."""
        assert self.root is not None, "the preview always has a cache folder"
        return self.root / "serve" / str(port)


# ---------- sealed files: the one on-disk format of the cache ----------


class Damaged(Exception):
    """A cache file exists but is not what we wrote (or cannot be read)."""


def seal(payload: bytes) -> bytes:
    """The payload behind a header that carries its SHA-256."""
    return _MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload


def unseal(data: bytes) -> bytes:
    """The payload of a sealed file; Damaged unless it is exactly what `seal` made.
    Hashing costs ~2 ms per MB here, far less than parsing what it protects."""
    if not data.startswith(_MAGIC) or data[_HEADER - 1:_HEADER] != b"\n":
        raise Damaged
    payload = data[_HEADER:]
    if hashlib.sha256(payload).hexdigest().encode() != data[len(_MAGIC):_HEADER - 1]:
        raise Damaged
    return payload


def read_sealed(path: Path) -> bytes | None:
    """The verified payload of a cache file; None if there is none. Damaged if the file is
    damaged, unreadable or not a file at all."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return None
    except OSError as exc:  # a directory in its place, no permission, an I/O error
        raise Damaged from exc
    return unseal(data)


def write_file(path: Path, data: bytes) -> None:
    """Write atomically (temp file + rename): a killed build leaves no half file. Anything
    in the way (a directory where the file belongs) is removed first. Raises OSError."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        # mkstemp makes 0600; image derivatives are hard-linked into the output, which a web
        # server running as another user must be able to read.
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp)
        raise


def store_sealed(path: Path, payload: bytes) -> bool:
    """Seal and write a cache file. Never raises for a full or read-only disk: a cache that
    cannot be written only costs speed. Returns whether it was written."""
    try:
        write_file(path, seal(payload))
    except OSError:
        return False
    return True


def _remove(path: Path) -> None:
    """Delete a cache file, or whatever stands in its place."""
    with suppress(OSError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


def _json(payload: bytes) -> Any:
    try:
        return json.loads(payload)
    except ValueError:  # includes UnicodeDecodeError
        raise Damaged from None


def _anything(_: Any) -> bool:
    return True


# ---------- the two kinds of cache ----------


class JsonCache:
    """A folder of JSON values, one sealed file per key. `folder=None` disables the cache.

    `damaged` counts the entries found damaged (in this process: entries read by forked
    workers are counted in the worker's copy)."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.damaged = 0

    def _file(self, key: str) -> Path:
        assert self.folder is not None
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str, valid: Valid = _anything) -> Any | None:
        """The value stored under `key` if it is intact and `valid`, else None."""
        if self.folder is None:
            return None
        try:
            payload = read_sealed(self._file(key))
            if payload is None:
                return None
            entry = _json(payload)
            if not (isinstance(entry, dict) and entry.get("key") == key
                    and entry.get("value") is not None and valid(entry["value"])):
                raise Damaged
        except Damaged:
            self.damaged += 1
            return None
        return entry["value"]

    def put(self, key: str, value: Any) -> None:
        if self.folder is not None:
            store_sealed(self._file(key), json.dumps({"key": key, "value": value},
                                                     ensure_ascii=False).encode())


class PackCache:
    """Many small JSON values in one sealed file, read once and written once per build.

    For values far smaller than a file-system block (parsed front matter: ~300 bytes), one
    file beats one file each: 10,000 entries load in ~30 ms instead of ~450 ms. Entries not
    used by a build are dropped when it saves, so the file never outgrows the site.
    `path=None` disables the cache. `damaged` counts the file (if damaged) and every entry
    that failed its reader's check.
    """

    def __init__(self, path: Path | None, version: str) -> None:
        self.path = path
        self.version = version
        self.damaged = 0
        self._old: dict[str, Any] = {}
        self._used: dict[str, Any] = {}
        if path is not None:
            self._old = self._read(path)

    def _read(self, path: Path) -> dict[str, Any]:
        try:
            payload = read_sealed(path)
            data = {} if payload is None else _json(payload)
            if not isinstance(data, dict):
                raise Damaged
        except Damaged:
            self.damaged += 1
            return {}
        if data.get("version") != self.version:
            return {}  # written by another version of kpr-site: expected, not damage
        entries = data.get("entries")
        if not isinstance(entries, dict):
            self.damaged += 1
            return {}
        return entries

    def get(self, key: str, valid: Valid = _anything) -> Any | None:
        """The value stored under `key` if there is one and it is `valid`, else None."""
        value = self._old.get(key)
        if value is None:
            return None
        if not valid(value):
            self.damaged += 1
            del self._old[key]
            return None
        self._used[key] = value
        return value

    def put(self, key: str, value: Any) -> None:
        self._used[key] = value

    def save(self) -> None:
        if self.path is None or (self._used == self._old and not self.damaged):
            return
        # json.dumps, not json.dump: only the one-shot form uses the C encoder (~10x).
        store_sealed(self.path, json.dumps({"version": self.version, "entries": self._used},
                                           ensure_ascii=False, separators=(",", ":")).encode())


class PackFolder:
    """Values written in batches: each `write` stores many {key: text} entries in one sealed
    file named by its content, and returns that name; `read(name, key)` finds one again.

    Converted Markdown is written this way, one pack per worker's chunk of bodies: one file
    per body cost a file creation each (10 % of a cold build of 1,000 releases, measured).
    Packs stay small (a chunk of bodies, not the site), so a rebuild that needs a few bodies
    reads a few hundred kB. A process keeps the packs it read; `prune` deletes the packs no
    one refers to any more. `folder=None` disables it."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.damaged = 0
        self._read: dict[str, dict[str, Any] | None] = {}
        self._present: dict[str, bool] = {}

    def write(self, entries: dict[str, str]) -> str | None:
        """Store `entries` in one pack; its name, or None if it could not be written."""
        if self.folder is None or not entries:
            return None
        payload = json.dumps(entries, ensure_ascii=False, sort_keys=True,
                             separators=(",", ":")).encode()
        name = hashlib.sha256(payload).hexdigest()[:32]
        written = store_sealed(self.folder / f"{name}.json", payload)
        return name if written else None

    def has(self, name: str) -> bool:
        """Whether pack `name` is there (a missing pack is a cache miss, not damage)."""
        if self.folder is None:
            return False
        if name not in self._present:  # one stat per pack, not per body
            self._present[name] = os.path.exists(self.folder / f"{name}.json")
        return self._present[name]

    def read(self, name: str, key: str) -> str | None:
        """The text stored under `key` in pack `name`; None if the pack is gone. A damaged
        pack (or one that lacks the key) is counted and deleted, so the next build converts
        its entries afresh instead of finding the damage again."""
        if self.folder is None:
            return None
        file = self.folder / f"{name}.json"
        if name not in self._read:
            try:
                payload = read_sealed(file)
                entries = None if payload is None else _json(payload)
            except Damaged:
                entries = {}
            self._read[name] = entries if isinstance(entries, dict) or entries is None else {}
        entries = self._read[name]
        if entries is None:
            return None
        value = entries.get(key)
        if not isinstance(value, str):
            self.damaged += 1
            _remove(file)
            return None
        return value

    def prune(self, keep: set[str]) -> None:
        """Delete every pack not named in `keep` (a cache that cannot be tidied only costs
        disk space)."""
        if self.folder is None:
            return
        with suppress(OSError):
            for entry in os.scandir(self.folder):
                if entry.name.endswith(".json") and entry.name[:-5] not in keep:
                    with suppress(OSError):
                        os.unlink(entry.path)
