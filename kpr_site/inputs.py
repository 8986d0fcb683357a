"""The one walk of the site's folders (content/, templates/, gallery/) and what it may hold.

Every file the build reads is found here, and every entry is vetted on the way. An entry is
*odd* when the build must not read it and an editor would not see why:

* a name that is not valid UTF-8 (shown as `\\xff`), or that holds control, bidi-override or
  other invisible format characters (Unicode Cc, Cf, line and paragraph separators; shown as
  `\\u202e`): such a name can look like another one, and must never reach a page;
* a symlink whose target does not exist, or that loops back to a folder above it;
* a named pipe, socket or device (reading a pipe would wait forever);
* a folder named like a file the build reads (`content/press/x.md/`).

The loaders list folders through `list_folder`/`walk_folder`, which leave odd entries out, and
`input_errors` reports each of them once; the build manifest fingerprints the same walk
(`scan`), where odd entries are recorded but never opened. Hidden entries (a name starting
with "."; editor lock files are dangling symlinks) are never reported.
Standard library only: the manifest runs this before jinja2 or markdown are loaded.
"""

from __future__ import annotations

import os
import stat
import unicodedata
from pathlib import Path
from typing import NamedTuple

from kpr_site.errors import Location, SiteError

__all__ = [
    "IMAGE_SUFFIXES", "INPUT_DIRS", "Entry", "input_errors", "list_folder", "scan", "scan_inputs",
    "shown", "walk_folder",
]

INPUT_DIRS = ("content", "templates", "gallery")
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".gif", ".webp"})
# Endings of files the build reads: a folder named so is a mistake, not a folder.
_FILE_SUFFIXES = IMAGE_SUFFIXES | {".md", ".yaml", ".yml", ".html", ".xml"}
# Characters a name must not hold: controls, format characters (bidi overrides, zero-width
# spaces), line and paragraph separators, and the surrogates a non-UTF-8 byte decodes to.
_INVISIBLE = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
_RENAME = ("Benennen Sie {what} um und verwenden Sie nur sichtbare Zeichen: Buchstaben, Ziffern "
           "und Bindestriche.")


class Entry(NamedTuple):
    """One entry below a walked folder. (A tuple: the walk makes one per file on every
    build, and a frozen dataclass costs ~1 µs more each.)"""

    rel: str
    """Path below the walk's start with "/", e.g. "content/press/a.md"; odd characters are
    shown escaped (`shown`), so the text is safe to print and to store as JSON."""
    path: str
    """The path on disk."""
    kind: str
    """"file" (or a link to one), "dir" (or a link to one), or "other": never to be opened."""
    problem: SiteError | None = None
    """Why the entry is odd; set for hidden entries too, which are just not reported."""
    hidden: bool = False
    """The entry or a folder above it starts with "." (within the walk)."""


def shown(text: str) -> str:
    """`text` with every invisible or undecodable character escaped: `\\xff`, `\\u202e`."""
    if text.isprintable():  # the fast path: printable means none of _INVISIBLE
        return text
    return "".join(_escape(char) if _is_invisible(char) else char for char in text)


def _is_invisible(char: str) -> bool:
    return unicodedata.category(char) in _INVISIBLE


def _escape(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that is not UTF-8, decoded with surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def scan(folder: str, prefix: str, recursive: bool = True) -> list[Entry]:
    """Every entry below `folder` (or only in it), depth first, siblings sorted by name;
    `prefix` starts each `rel`. Folders and links to folders are entered unless odd (a link
    back to a folder above is odd); a missing folder is empty."""
    entries: list[Entry] = []
    try:
        info = os.stat(folder)
        children = _listing(folder)
    except (FileNotFoundError, NotADirectoryError):
        return entries
    _scan(children, prefix, False, {(info.st_dev, info.st_ino)}, entries, recursive)
    return entries


def _listing(folder: str) -> list[os.DirEntry[str]]:
    with os.scandir(folder) as listing:
        return sorted(listing, key=lambda e: e.name)


def _scan(children: list[os.DirEntry[str]], prefix: str, hidden: bool,
          above: set[tuple[int, int]], entries: list[Entry], recursive: bool) -> None:
    for item in children:
        name = item.name
        if name.isprintable() and item.is_file():  # the common case, without a system call
            entries.append(Entry(prefix + name, item.path, "file", None,
                                 hidden or name.startswith(".")))
            continue
        entry, inode = _classify(item, prefix, hidden or name.startswith("."), above)
        grandchildren = None
        enter = recursive and entry.kind == "dir" and entry.problem is None
        if enter and name != "__pycache__":
            try:
                grandchildren = _listing(item.path)
            except OSError:
                entry = entry._replace(problem=SiteError(
                    "Der Ordner lässt sich nicht lesen (fehlende Rechte).",
                    Location(f"{entry.rel}/"), "Prüfen Sie die Zugriffsrechte des Ordners."))
        entries.append(entry)
        if grandchildren is not None:
            _scan(grandchildren, f"{entry.rel}/", entry.hidden, above | {inode}, entries, True)


def _classify(item: os.DirEntry[str], prefix: str, hidden: bool,
              above: set[tuple[int, int]]) -> tuple[Entry, tuple[int, int]]:
    """The entry for `item` and, for a folder, its (device, inode)."""
    name = item.name
    rel = prefix + shown(name)
    kind, inode, problem = _kind(item)
    if problem is None and not name.isprintable() and any(map(_is_invisible, name)):
        problem = _name_problem(name, kind)
    elif problem is None and inode in above:
        problem = ("Der Ordner ist ein Verweis (Symlink) auf einen Ordner, in dem er selbst "
                   "liegt.", "Löschen Sie den Verweis.")
    elif problem is None and kind == "dir" and os.path.splitext(name)[1].lower() in _FILE_SUFFIXES:
        problem = (f"„{shown(name)}“ ist ein Ordner, keine Datei.",
                   "Inhalte, Vorlagen und Fotos sind Dateien. Benennen Sie den Ordner um oder "
                   "verschieben Sie die Datei aus ihm heraus.")
    error = None
    if problem is not None:
        where = f"{rel}/" if kind == "dir" else rel
        error = SiteError(problem[0], Location(where), problem[1])
    return Entry(rel, item.path, kind, error, hidden), inode


def _kind(item: os.DirEntry[str]) -> tuple[str, tuple[int, int], tuple[str, str] | None]:
    """'file', 'dir' or 'other'; the folder's (device, inode); the problem of an 'other'."""
    try:
        if item.is_file():  # follows symlinks; no system call for a plain file on Linux
            return "file", (0, 0), None
        info = item.stat()
    except FileNotFoundError:
        return "other", (0, 0), (
            "Die Datei ist ein Verweis (Symlink) auf etwas, das es nicht gibt.",
            "Löschen Sie den Verweis oder legen Sie die Datei selbst an diese Stelle.")
    except OSError:  # a symlink loop (ELOOP) or no permission
        return "other", (0, 0), (
            "Die Datei lässt sich nicht lesen (ein Verweis im Kreis oder fehlende Rechte).",
            "Löschen Sie den Verweis oder prüfen Sie die Zugriffsrechte.")
    if stat.S_ISDIR(info.st_mode):
        return "dir", (info.st_dev, info.st_ino), None
    return "other", (0, 0), (
        f"Das ist keine gewöhnliche Datei, sondern {_special(info.st_mode)}.",
        "Entfernen Sie sie aus dem Ordner: Die Website liest nur gewöhnliche Dateien und Ordner.")


def _special(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "eine benannte Pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "ein Socket"
    return "eine Gerätedatei"


def _name_problem(name: str, kind: str) -> tuple[str, str]:
    what = "den Ordner" if kind == "dir" else "die Datei"
    noun = "Ordnername" if kind == "dir" else "Dateiname"
    undecodable = [_escape(c) for c in name if 0xDC80 <= ord(c) <= 0xDCFF]
    if undecodable:
        return (f"Der {noun} ist nicht in UTF-8 kodiert (das Byte {undecodable[0]} ist kein "
                "gültiges Zeichen).", _RENAME.format(what=what))
    codes = ", ".join(dict.fromkeys(f"U+{ord(c):04X}" for c in name if _is_invisible(c)))
    return (f"Der {noun} enthält unsichtbare Steuer- oder Formatzeichen ({codes}); so kann "
            "er anders aussehen, als er ist.", _RENAME.format(what=what))


def scan_inputs(source: Path) -> list[Entry]:
    """Every entry of content/, templates/ and gallery/ below `source`."""
    entries: list[Entry] = []
    for name in INPUT_DIRS:
        entries += scan(os.path.join(source, name), name + "/")
    return entries


def input_errors(source: Path) -> list[SiteError]:
    """An error for every odd entry in the site's folders that is not hidden."""
    return [e.problem for e in scan_inputs(source) if e.problem is not None and not e.hidden]


def list_folder(folder: Path) -> list[Path]:
    """The files and folders in `folder`, sorted by name, without odd ones."""
    return [Path(e.path) for e in _usable(scan(str(folder), "", recursive=False))]


def walk_folder(folder: Path) -> list[tuple[Path, bool]]:
    """(path, is folder) of everything below `folder` without odd entries, in sorted path order."""
    return [(Path(e.path), e.kind == "dir") for e in _usable(scan(str(folder), ""))]


def _usable(entries: list[Entry]) -> list[Entry]:
    return [e for e in entries if e.problem is None and e.kind != "other"]
