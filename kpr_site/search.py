"""The visitors' search: a Pagefind index of the built pages, made only when a page changed.

Pagefind (PyPI `pagefind-bin`, one Rust binary) reads the staged HTML and writes a static
search bundle: a small script and WebAssembly module that the search page (/suche/) loads, and
the index split into gzip'd chunks so that a visitor fetches only what a query needs. Templates
decide what is found: only elements marked `data-pagefind-body` are indexed (detail pages, not
lists), `data-pagefind-filter` gives the content type and topics to filter by.

The bundle is content-addressed: its key is the hash of every page's render key, the language
and the Pagefind version, and it is kept in a folder of its own (`.cache/search/<key>/`) with
the SHA-256 of each file, checked before reuse. A build in which no page changed therefore
only links the same files again.

Pagefind 1.5.2 writes its filter index in hash-map order, so two runs over the same pages can
differ in two files (fixed upstream after 1.5.2, Pagefind PR #1124). `_stable_filters` sorts
them, which keeps builds byte for byte reproducible.

Why the binary and not Pagefind's Python API: its client reads one reply from the binary per
100 ms poll, so adding pages one by one took 5.1 s for 50 pages here (about 17 minutes for
10,000); one run of the binary over the staging folder takes well under a second for 1,000.

This is the only module that runs Pagefind.
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path, PurePosixPath

from kpr_site.cache import code_version, digest
from kpr_site.errors import Location, SiteError, shown

__all__ = ["BUNDLE_URL", "SearchBundle", "bundle_key", "cached_bundle", "make_bundle"]

BUNDLE_URL = "/pagefind/"
"""Where the bundle is published; the search page loads pagefind.js from here."""
_LIST = "files.json"
_KEEP_BUNDLES = 3
"""Bundles kept in the cache: `build` and `serve` (another base URL) each reuse their own."""


@dataclass(frozen=True)
class SearchBundle:
    """A finished search bundle: `files` (relative to `folder`, with their SHA-256) as they
    are published."""

    folder: Path
    files: Mapping[str, str]

    def outputs(self) -> Iterator[tuple[PurePosixPath, Path, str]]:
        """(output path below the site root, file, its SHA-256) for every file of the bundle."""
        root = PurePosixPath(BUNDLE_URL.strip("/"))
        for rel, sha in sorted(self.files.items()):
            yield root / rel, self.folder / rel, sha


def bundle_key(language: str, pages: Mapping[str, str]) -> str:
    """The key of the bundle for these pages (output path → render key)."""
    return digest(code_version(), _pagefind_version(), language,
                  *(f"{path}\0{key}" for path, key in sorted(pages.items())))


def cached_bundle(cache: Path, key: str) -> SearchBundle | None:
    """The bundle made earlier for `key`, if it is there and every file has its recorded hash."""
    entry = cache / key
    try:
        listed = json.loads((entry / _LIST).read_bytes())
        files = listed["files"]
        if listed.get("key") != key or not isinstance(files, dict):
            return None
        for rel, sha in files.items():
            if _sha256(entry / rel) != sha:
                return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    os.utime(entry)  # recently used: kept when old bundles are removed
    return SearchBundle(entry, files)


def make_bundle(site_dir: Path, cache: Path, key: str, language: str) -> SearchBundle:
    """Index the HTML pages in `site_dir` and store the bundle in `cache` under `key`."""
    cache.mkdir(parents=True, exist_ok=True)
    work = cache / f".{key}.tmp-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    try:
        _run_pagefind(site_dir, work, language)
        _require_space(work)
        try:
            _stable_filters(work, _published_files(work))
        except (ValueError, IndexError, OSError) as exc:
            raise _pagefind_failed(site_dir, f"unerwartete Ausgabe ({exc})") from exc
        files = _published_files(work)
        listing = {rel: _sha256(work / rel) for rel in files}
        (work / _LIST).write_text(json.dumps({"key": key, "files": listing}, sort_keys=True),
                                  encoding="utf-8")
        entry = cache / key
        shutil.rmtree(entry, ignore_errors=True)  # a damaged earlier copy
        os.rename(work, entry)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _remove_old_bundles(cache)
    return SearchBundle(entry, listing)


# Pagefind 1.5.2 exits 0 and says nothing when its writes fail on a full disk (measured on a
# 200 kB tmpfs): its output is then incomplete. A disk left (nearly) full after the run is
# taken as that failure, so a broken index is neither cached nor published.
_MIN_FREE = 1 << 20


def _require_space(folder: Path) -> None:
    stat = os.statvfs(folder)
    if stat.f_bavail * stat.f_frsize < _MIN_FREE:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(folder))


def _run_pagefind(site_dir: Path, output: Path, language: str) -> None:
    command = [str(_executable()), "--site", str(site_dir), "--output-path", str(output),
               "--force-language", language, "--silent"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, errors="replace",
                              timeout=600, check=False)
    except subprocess.TimeoutExpired as exc:
        raise _pagefind_failed(site_dir, "keine Antwort nach 10 Minuten") from exc
    except OSError as exc:
        raise _pagefind_failed(site_dir, f"das Programm ließ sich nicht starten ({exc.strerror})") from exc
    if done.returncode != 0 or not (output / "pagefind-entry.json").is_file():
        lines = re.sub(r"\x1b\[[0-9;]*m", "", done.stderr or done.stdout).strip().splitlines()
        raise _pagefind_failed(site_dir, shown(lines[-1]) if lines else f"Exit {done.returncode}")


def _pagefind_failed(site_dir: Path, reason: str) -> SiteError:
    return SiteError(f"Pagefind konnte den Suchindex nicht erzeugen: {reason}",
                     Location(str(site_dir)),
                     "Prüfen Sie die Meldung; ein erneuter Build hilft bei einem vollen "
                     "Datenträger. Bleibt der Fehler, melden Sie ihn mit dieser Ausgabe.")


def _executable() -> Path:
    """The Pagefind binary: PAGEFIND_BINARY_PATH, else the one of the pagefind-bin package."""
    configured = os.environ.get("PAGEFIND_BINARY_PATH")
    if configured:
        if not (os.path.isfile(configured) and os.access(configured, os.X_OK)):
            raise SiteError(f"PAGEFIND_BINARY_PATH nennt kein Programm: {shown(configured)}",
                            Location(configured),
                            "Nennen Sie dort den Pfad zu einem ausführbaren Pagefind-Programm "
                            "oder löschen Sie die Variable (dann gilt das Paket pagefind-bin).")
        return Path(configured)
    try:
        from pagefind_bin import get_executable  # type: ignore[import-untyped]

        found: Path = get_executable()
        return found
    except (ImportError, FileNotFoundError):
        raise SiteError(
            "Die Suche braucht das Programm Pagefind, es ist aber nicht installiert.",
            Location("pyproject.toml"),
            "Installieren Sie kpr-site neu: pip install -e . (bringt das Paket pagefind-bin "
            "mit) – oder nennen Sie in PAGEFIND_BINARY_PATH den Pfad zu einem Pagefind-"
            "Programm.") from None


def _pagefind_version() -> str:
    try:
        return metadata.version("pagefind-bin")
    except metadata.PackageNotFoundError:
        return "unbekannt"


def _published_files(folder: Path) -> list[str]:
    """The bundle's files a visitor may load, relative to `folder`; the rest is removed.

    Pagefind also writes its own user interfaces and a WebAssembly module for pages of no
    detected language; our search page uses neither."""
    kept = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(folder).as_posix()
        if rel in ("pagefind.js", "pagefind-worker.js", "pagefind-entry.json") or (
                rel.endswith((".pf_meta", ".pf_index", ".pf_filter", ".pf_fragment"))
                or (rel.startswith("wasm.") and not rel.startswith("wasm.unknown."))):
            kept.append(rel)
        else:
            path.unlink()
    return kept


def _sha256(file: Path) -> str:
    return hashlib.sha256(file.read_bytes()).hexdigest()


def _remove_old_bundles(cache: Path) -> None:
    entries = [p for p in cache.iterdir() if p.is_dir() and not p.name.startswith(".")]
    entries.sort(key=lambda p: p.stat().st_mtime_ns, reverse=True)
    for old in entries[_KEEP_BUNDLES:]:
        shutil.rmtree(old, ignore_errors=True)


# ---------- reproducible filter files ----------
#
# Each .pf_filter file is gzip("pagefind_dcd" + CBOR [filter name, [[value, [pages]], …]]),
# and the .pf_meta file lists [filter name, file hash] pairs as its fourth entry. Both lists
# come out in hash-map order; here they are sorted, the files renamed by their new content,
# and pagefind-entry.json pointed at the new meta file.

_SIGNATURE = b"pagefind_dcd"


def _stable_filters(folder: Path, files: list[str]) -> None:
    metas = [rel for rel in files if rel.endswith(".pf_meta")]
    if len(metas) != 1:
        raise ValueError(f"{len(metas)} Metadaten-Dateien statt einer")
    meta_name = metas[0]
    renamed: dict[str, str] = {}
    for rel in (f for f in files if f.startswith("filter/")):
        old = rel.removeprefix("filter/").removesuffix(".pf_filter")
        language = old.split("_", 1)[0]
        data = _sorted_filter(_unpack(folder / rel))
        new = _free_name(language, hashlib.sha256(data).hexdigest(), 7, set(renamed.values()))
        (folder / rel).unlink()
        _pack(folder / f"filter/{new}.pf_filter", data)
        renamed[old] = new
    old_meta = meta_name.removeprefix("pagefind.").removesuffix(".pf_meta")
    data = _meta_with_filters(_unpack(folder / meta_name), renamed)
    new_meta = f"{old_meta.split('_', 1)[0]}_{hashlib.sha256(data).hexdigest()[:10]}"
    (folder / meta_name).unlink()
    _pack(folder / f"pagefind.{new_meta}.pf_meta", data)
    entry = folder / "pagefind-entry.json"
    text = entry.read_text(encoding="utf-8")
    entry.write_text(text.replace(f'"{old_meta}"', f'"{new_meta}"'), encoding="utf-8")


def _free_name(language: str, sha: str, length: int, taken: Collection[str]) -> str:
    """`language_<sha prefix>`, longer where another file already has that name."""
    while f"{language}_{sha[:length]}" in taken:
        length += 1
    return f"{language}_{sha[:length]}"


def _unpack(file: Path) -> bytes:
    data = gzip.decompress(file.read_bytes())
    if not data.startswith(_SIGNATURE):
        raise ValueError(f"{file.name}: unbekanntes Pagefind-Format")
    return data[len(_SIGNATURE):]


def _pack(file: Path, data: bytes) -> None:
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_bytes(gzip.compress(_SIGNATURE + data, compresslevel=9, mtime=0))


def _sorted_filter(data: bytes) -> bytes:
    """[name, values] with the values sorted by their text."""
    start = _expect_array(data, 0, 2)
    name_end = _skip(data, start)
    count, pos = _array(data, name_end)
    items = []
    for _ in range(count):
        end = _skip(data, pos)
        value, _ = _text(data, _expect_array(data, pos, 2))
        items.append((value, data[pos:end]))
        pos = end
    items.sort()
    return _head(4, 2) + data[start:name_end] + _head(4, count) + b"".join(r for _, r in items)


def _meta_with_filters(data: bytes, renamed: Mapping[str, str]) -> bytes:
    """The meta index with its filter list renamed and sorted by filter name."""
    count, pos = _array(data, 0)
    parts = []
    for index in range(count):
        end = _skip(data, pos)
        parts.append(_filter_list(data, pos, renamed) if index == 3 else data[pos:end])
        pos = end
    return _head(4, count) + b"".join(parts)


def _filter_list(data: bytes, pos: int, renamed: Mapping[str, str]) -> bytes:
    count, pos = _array(data, pos)
    pairs = []
    for _ in range(count):
        name, after = _text(data, _expect_array(data, pos, 2))
        file, pos = _text(data, after)
        pairs.append((name, renamed.get(file, file)))
    return _head(4, count) + b"".join(
        _head(4, 2) + _encode_text(name) + _encode_text(file) for name, file in sorted(pairs))


# A minimal CBOR reader for the definite-length items Pagefind writes (RFC 8949).

def _read_head(data: bytes, pos: int) -> tuple[int, int, int]:
    """(major type, argument, position after the head)."""
    first = data[pos]
    major, info = first >> 5, first & 0x1F
    if info < 24:
        return major, info, pos + 1
    if info > 27:
        raise ValueError("CBOR mit unbestimmter Länge wird nicht unterstützt")
    size = 1 << (info - 24)
    return major, int.from_bytes(data[pos + 1:pos + 1 + size], "big"), pos + 1 + size


def _skip(data: bytes, pos: int) -> int:
    """The position after the item starting at `pos`."""
    major, value, pos = _read_head(data, pos)
    if major in (2, 3):
        return pos + value
    if major in (4, 5):
        for _ in range(value * (2 if major == 5 else 1)):
            pos = _skip(data, pos)
    elif major == 6:
        pos = _skip(data, pos)
    return pos


def _array(data: bytes, pos: int) -> tuple[int, int]:
    major, count, pos = _read_head(data, pos)
    if major != 4:
        raise ValueError("CBOR-Liste erwartet")
    return count, pos


def _expect_array(data: bytes, pos: int, size: int) -> int:
    count, pos = _array(data, pos)
    if count != size:
        raise ValueError(f"CBOR-Liste mit {size} Einträgen erwartet")
    return pos


def _text(data: bytes, pos: int) -> tuple[str, int]:
    major, size, pos = _read_head(data, pos)
    if major != 3:
        raise ValueError("CBOR-Text erwartet")
    return data[pos:pos + size].decode("utf-8"), pos + size


def _head(major: int, value: int) -> bytes:
    if value < 24:
        return bytes([major << 5 | value])
    for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if value < 1 << (8 * size):
            return bytes([major << 5 | info]) + value.to_bytes(size, "big")
    raise ValueError("CBOR-Wert zu groß")


def _encode_text(value: str) -> bytes:
    raw = value.encode("utf-8")
    return _head(3, len(raw)) + raw
