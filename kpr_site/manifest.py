"""What the last successful build read and wrote, to skip work that cannot have changed.

Two questions, both answered from one JSON file per output folder in the cache:

* Is the whole output up to date? Every input file (content/, templates/, gallery/ and the
  generator's own code) is compared by size and mtime, and by SHA-256 where those differ or
  the file changed too close to the build to trust its mtime (as git's "racy" check does).
  The settings of the build are part of the key. This check imports only the stdlib, so a
  no-change rebuild is answered before jinja2, markdown or PIL are loaded.
* Is one page up to date? Each output file is recorded with the key of everything it was
  rendered from and the (size, mtime, inode) it had when written; if both still match, the
  file is reused without rendering.

A missing, damaged or foreign manifest is ignored: the build then simply does all the work.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kpr_site.cache import Damaged, read_sealed, store_sealed
from kpr_site.inputs import Entry, scan, scan_inputs

__all__ = ["Manifest", "OutputRecord", "fingerprint_inputs", "load_manifest"]

FORMAT = 1
# Linux file timestamps advance in jiffies (up to 10 ms); an input modified this close to
# the start of the build may have been changed again without its mtime changing.
RACY_NS = 50_000_000
_HASH_LIMIT = 64 * 1024 * 1024

OutputRecord = tuple[str, int, int, int]
"""(page key, size, mtime_ns, inode) of a file in the output folder."""
InputRecord = tuple[int, int, str]
"""(size, mtime_ns, sha256) of an input file."""


@dataclass
class Manifest:
    settings: str = ""
    started_ns: int = 0
    """When the build that wrote this manifest fingerprinted its inputs."""
    inputs: dict[str, InputRecord] = field(default_factory=dict)
    outputs: dict[str, OutputRecord] = field(default_factory=dict)
    damaged: bool = False

    def output_unchanged(self, out: Path, rel: str, key: str) -> bool:
        """True if `rel` was rendered from `key` and the file is still as we wrote it."""
        record = self.outputs.get(rel)
        if record is None or record[0] != key:
            return False
        try:
            stat = os.stat(os.path.join(out, rel))
        except OSError:
            return False
        return (stat.st_size, stat.st_mtime_ns, stat.st_ino) == tuple(record[1:])

    def up_to_date(self, source: Path, out: Path, settings: str) -> bool:
        """The whole output matches the current inputs: nothing to do."""
        if self.damaged or not self.outputs or settings != self.settings:
            return False
        current = fingerprint_inputs(source, self.inputs, self.started_ns)
        # Compare contents, not times: a touched or re-checked-out file is still the same.
        if {k: v[2] for k, v in current.items()} != {k: v[2] for k, v in self.inputs.items()}:
            return False
        return all(self.output_unchanged(out, rel, rec[0]) for rel, rec in self.outputs.items())

    def save(self, path: Path) -> None:
        """Never raises: this runs after the swap, when the new site is already live, and a
        manifest that cannot be written only makes the next build do all the work."""
        data = {"format": FORMAT, "settings": self.settings, "started_ns": self.started_ns,
                "inputs": self.inputs,
                "outputs": self.outputs}
        # json.dumps, not json.dump: only the one-shot form uses the C encoder (~10x).
        store_sealed(path, json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode())


def load_manifest(path: Path | None) -> Manifest:
    """The last build's manifest; an empty one without a cache (`path=None`)."""
    if path is None:
        return Manifest()
    try:
        payload = read_sealed(path)
        if payload is None:
            return Manifest()
        data: Any = json.loads(payload)
        if data["format"] != FORMAT:
            return Manifest()
        return Manifest(
            str(data["settings"]), int(data["started_ns"]),
            {str(k): (int(v[0]), int(v[1]), str(v[2])) for k, v in data["inputs"].items()},
            {str(k): (str(v[0]), int(v[1]), int(v[2]), int(v[3]))
             for k, v in data["outputs"].items()},
        )
    except (Damaged, KeyError, TypeError, ValueError, IndexError, AttributeError):
        return Manifest(damaged=True)


def fingerprint_inputs(
    source: Path, known: dict[str, InputRecord] | None = None, known_ns: int = 0,
    read: Mapping[str, str] | None = None,
) -> dict[str, InputRecord]:
    """(size, mtime, sha256) of every input.

    A hash from `known` (recorded at `known_ns`) is reused when size and mtime are unchanged
    and the mtime lies safely before the recording, so a same-tick edit cannot hide. `read`
    holds hashes of files the build has already read (the bytes it built from), so they are
    not read a second time; this must run after that reading.
    Plain os calls, not pathlib: this runs over every file on every build (10,000 files:
    ~40 ms instead of ~300 ms).
    """
    known = known or {}
    limit = known_ns - RACY_NS
    records: dict[str, InputRecord] = {}
    for entry in _input_files(source):
        rel, path = entry.rel, entry.path
        if entry.problem is not None or entry.kind == "other":
            records[rel] = (0, 0, "odd")  # never opened (a pipe would block); see inputs.py
            continue
        if entry.kind == "dir":
            continue
        stat = os.stat(path)
        old = known.get(rel)
        if old and old[:2] == (stat.st_size, stat.st_mtime_ns) and stat.st_mtime_ns < limit:
            records[rel] = old  # mtime unchanged and not racy: the hash still holds
        else:
            digest = read.get(rel) if read else None
            records[rel] = (stat.st_size, stat.st_mtime_ns, digest or _sha256(path))
    return records


def _input_files(source: Path) -> list[Entry]:
    """The entries of the site's folders and of the generator's own code."""
    return [*scan_inputs(source), *scan(os.path.dirname(__file__), "<kpr_site>/")]


def _sha256(path: str) -> str:
    """The file's SHA-256, read in chunks; a file too large for the site (a 2 GB video put into
    content/documents/ by mistake) is fingerprinted by size and mtime instead of being read:
    the build refuses it anyway (documents.MAX_BYTES)."""
    try:
        stat = os.stat(path)
        if stat.st_size > _HASH_LIMIT:
            return f"size:{stat.st_size}:mtime:{stat.st_mtime_ns}"
        with open(path, "rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError:
        return ""
