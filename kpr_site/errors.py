"""The one error type of kpr-site: a German message, where it happened, and how to fix it."""

from __future__ import annotations

import errno
import socket
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

__all__ = [
    "BuildFailed", "Location", "Severity", "SiteError", "file_error", "format_errors", "os_reason",
    "shown",
]

Severity = str  # "error" or "warning"


@dataclass(frozen=True, order=True)
class Location:
    """A place in the site's sources: a path relative to the site root, and a 1-based line."""

    path: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


@dataclass(frozen=True)
class SiteError(Exception):
    """A problem in the site's sources, told in plain German.

    `message` says what is wrong, `hint` how to fix it. `severity` is "error" (the build
    stops) or "warning" (reported by `kpr-site check`, fatal only with `--strict`).
    """

    message: str
    location: Location | None = None
    hint: str | None = None
    severity: Severity = "error"
    exit_code: ClassVar[int] = 1

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        text = f"{where}{self.message}"
        if self.severity == "warning":
            text = f"{where}Warnung: {self.message}"
        return f"{text}\n  → {self.hint}" if self.hint else text

    def __reduce__(self) -> tuple[type, tuple[object, ...]]:
        # Exceptions pickle through their args, which a dataclass leaves empty; worker
        # processes send SiteErrors back, so spell the fields out.
        return (SiteError, (self.message, self.location, self.hint, self.severity))

    def sort_key(self) -> tuple[str, int, str]:
        loc = self.location or Location("")
        return (loc.path, loc.line or 0, self.message)


class BuildFailed(Exception):
    """Raised when a build found errors; carries all of them, sorted by place."""

    exit_code: ClassVar[int] = 1

    def __init__(self, errors: Iterable[SiteError]) -> None:
        self.errors = sorted(errors, key=SiteError.sort_key)
        super().__init__(format_errors(self.errors))


def format_errors(errors: Iterable[SiteError]) -> str:
    """All findings as text, one block per finding, in a stable order."""
    return "\n".join(str(e) for e in sorted(errors, key=SiteError.sort_key))


def shown(text: str) -> str:
    """`text` safe to print in a message: control, format (bidi overrides, zero-width) and
    other invisible characters, and undecodable bytes, are written as escapes (`\\x02`,
    `\\u202e`), so a message never carries them to the terminal or the error page."""
    return "".join(_shown_char(char) for char in text)


def _shown_char(char: str) -> str:
    if unicodedata.category(char) not in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
        return char
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


# The operating system's reasons in German (its own strerror texts are English).
_OS_REASONS = {
    errno.EADDRINUSE: "der Port wird schon verwendet",
    errno.EADDRNOTAVAIL: "diese Adresse gehört nicht zu diesem Rechner",
    errno.EACCES: "keine Berechtigung",
    errno.EPERM: "keine Berechtigung",
    errno.ENOENT: "die Datei oder der Ordner fehlt",
    errno.EISDIR: "das ist ein Ordner, keine Datei",
    errno.ENOSPC: "der Datenträger ist voll",
    errno.EROFS: "der Datenträger ist schreibgeschützt",
    errno.EMFILE: "zu viele offene Dateien",
}


def os_reason(exc: OSError) -> str:
    """Why an operating-system call failed, in German: 'der Port wird schon verwendet'."""
    if isinstance(exc, socket.gaierror):
        return "der Rechnername ist unbekannt"
    if exc.errno in _OS_REASONS:
        return _OS_REASONS[exc.errno]
    code = errno.errorcode.get(exc.errno or 0)
    return f"Fehler des Betriebssystems ({code})" if code else "Fehler des Betriebssystems"


# What the operating system said → (what happened, what to do), in the editor's words.
_FAULTS: dict[int, tuple[str, str]] = {
    errno.ENOSPC: ("Auf dem Datenträger ist kein Speicherplatz mehr frei.",
                   "Geben Sie Speicherplatz frei (z. B. alte Ausgabeordner oder den "
                   "Zwischenspeicher .cache/ löschen) und versuchen Sie es erneut."),
    errno.EDQUOT: ("Ihr Speicherkontingent auf dem Datenträger ist erschöpft.",
                   "Löschen Sie nicht mehr benötigte Dateien oder bitten Sie die IT um mehr "
                   "Speicherplatz; versuchen Sie es dann erneut."),
    errno.EROFS: ("Der Datenträger ist schreibgeschützt.",
                  "Wählen Sie mit --out (und --cache-dir) einen beschreibbaren Ordner oder "
                  "heben Sie den Schreibschutz auf."),
    errno.EACCES: ("Keine Berechtigung, diese Datei oder diesen Ordner zu lesen oder zu "
                   "schreiben.",
                   "Prüfen Sie die Zugriffsrechte (z. B. mit „ls -l“) oder wählen Sie mit "
                   "--out einen Ordner, in den Sie schreiben dürfen."),
    errno.EISDIR: ("Hier liegt ein Ordner, wo eine Datei hingehört.",
                   "Verschieben oder löschen Sie den Ordner und versuchen Sie es erneut."),
    errno.ENOTDIR: ("Hier liegt eine Datei, wo ein Ordner hingehört.",
                    "Verschieben oder löschen Sie die Datei und versuchen Sie es erneut."),
    errno.EIO: ("Der Datenträger meldet einen Lese- oder Schreibfehler.",
                "Prüfen Sie den Datenträger (z. B. ob ein USB-Stick oder Netzlaufwerk noch "
                "verbunden ist) und versuchen Sie es erneut."),
    errno.EMFILE: ("Es sind zu viele Dateien gleichzeitig geöffnet.",
                   "Starten Sie den Build mit weniger Prozessen erneut, z. B. mit --jobs 1."),
}
_FAULTS[errno.EPERM] = _FAULTS[errno.EACCES]
_FAULTS[errno.EEXIST] = _FAULTS[errno.ENOTDIR]  # mkdir: a file is in the way
_FAULTS[errno.ENFILE] = _FAULTS[errno.EMFILE]


def file_error(exc: OSError, path: str | None = None) -> SiteError:
    """A fault of the file system (full, read-only, no permission …) as a SiteError naming
    the file (`exc.filename`, else `path`) and what to do. The one translation of OSError."""
    where = exc.filename if exc.filename is not None else path
    known = _FAULTS.get(exc.errno or 0)
    if known is None:
        reason = shown(exc.strerror or type(exc).__name__)
        known = (f"Die Datei lässt sich nicht lesen oder schreiben ({reason}).",
                 "Prüfen Sie die Datei, den Ordner und den Datenträger und versuchen Sie es "
                 "erneut.")
    location = Location(shown(str(where))) if where is not None else None
    return SiteError(known[0], location, known[1])
