"""Dokumente: files in content/documents/ described in content/documents.yaml.

    - title: Richtlinie zur Förderung von Mikroprojekten
      file: richtlinie-mikroprojekte.pdf     # in content/documents/, published at /dokumente/<file>
      description: Fassung vom …             # optional
      language: de                           # optional, default de
      accessible: false                      # required for files: is the file barrierefrei?
    - title: Antragsformular des Bundes
      url: https://www.example.de/antrag.pdf # instead of a file: an address elsewhere
      format: PDF                            # optional for addresses

Every file in content/documents/ must be described and every described file must exist; a
file is read only when the site is written, never while checking its size, so a 2 GB file is
refused at once.
"""

from __future__ import annotations

import difflib
import os
import re
import unicodedata
from pathlib import Path
from typing import Any

from kpr_site.errors import Location, SiteError, shown
from kpr_site.fields import Field, Invalid, boolean, text, validate_list
from kpr_site.frontmatter import YamlData, decode_text, parse_yaml
from kpr_site.german import file_size, slugify
from kpr_site.model import Document
from kpr_site.schema import PLACEHOLDER, web_address

__all__ = ["DOCUMENTS_DIR", "DOCUMENTS_PATH", "FORMATS", "MAX_BYTES", "load_documents"]

DOCUMENTS_PATH = "content/documents.yaml"
DOCUMENTS_DIR = "content/documents"
MAX_BYTES = 50_000_000
"""The largest file the site publishes (50 MB): bigger ones belong on a file server."""
FORMATS = {".pdf": "PDF", ".odt": "ODT", ".ods": "ODS", ".odp": "ODP", ".docx": "DOCX",
           ".doc": "DOC", ".xlsx": "XLSX", ".xls": "XLS", ".pptx": "PPTX", ".ppt": "PPT",
           ".rtf": "RTF", ".txt": "TXT", ".csv": "CSV", ".epub": "EPUB", ".zip": "ZIP"}
_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def address(value: Any) -> str:
    """An external address, or a placeholder while the address is unknown."""
    raw = text(value)
    return raw if PLACEHOLDER.fullmatch(raw) else web_address(raw)


def language(value: Any) -> str:
    raw = text(value)
    if not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*", raw):
        raise Invalid(f"„{shown(raw)}“ ist kein Sprachkürzel", "Zum Beispiel: de, en, pl, uk.")
    return raw


_ENTRY = {"title": Field(text, True), "file": Field(text), "url": Field(address),
          "description": Field(text), "language": Field(language), "accessible": Field(boolean),
          "format": Field(text)}


def load_documents(root: Path) -> tuple[list[Document], list[SiteError]]:
    """Every described document, in the order of documents.yaml, and every problem."""
    on_disk = _files(root)
    data, errors = _read(root, on_disk)
    if data is None:
        return [], errors
    items, found = validate_list(data, _ENTRY, DOCUMENTS_PATH, ())
    errors += found
    documents: list[Document] = []
    for values, line in items:
        try:
            documents.append(_document(root, values, line, on_disk))
        except SiteError as exc:
            errors.append(exc)
    errors += _duplicates(documents)
    raw = data.value if isinstance(data.value, list) else []
    described = {str(item.get("file")) for item in raw if isinstance(item, dict)}
    errors += [_undescribed(name) for name in on_disk if name not in described]
    return documents, errors


def _files(root: Path) -> dict[str, Path]:
    """The files in content/documents/ by NFC name (hidden and underscore files left alone)."""
    folder = root / DOCUMENTS_DIR
    if not folder.is_dir():
        return {}
    return {unicodedata.normalize("NFC", f.name): f for f in sorted(folder.iterdir())
            if not f.name.startswith((".", "_")) and (f.is_file() or f.is_symlink())}


def _read(root: Path, on_disk: dict[str, Path]) -> tuple[YamlData | None, list[SiteError]]:
    file = root / DOCUMENTS_PATH
    if not file.is_file():
        return None, [_undescribed(name) for name in on_disk]
    try:
        data = parse_yaml(decode_text(file.read_bytes(), DOCUMENTS_PATH), DOCUMENTS_PATH)
    except SiteError as exc:
        return None, [exc]
    if data.value is None:
        return None, [_undescribed(name) for name in on_disk]
    return data, []


def _document(root: Path, values: dict[str, Any], line: int, on_disk: dict[str, Path]) -> Document:
    where = Location(DOCUMENTS_PATH, line)
    name, url = values.get("file", ""), values.get("url", "")
    if bool(name) == bool(url):
        raise SiteError("Ein Dokument braucht entweder „file“ (eine Datei in content/documents/) "
                        "oder „url“ (eine Adresse), nicht beides und nicht keins.", where)
    if PLACEHOLDER.fullmatch(url):
        return Document(line=line, **{**values, "url": "", "pending": url})
    if url:
        return Document(line=line, **values)
    suffix = os.path.splitext(name)[1].lower()
    _check_name(name, suffix, where)
    if name not in on_disk:
        close = difflib.get_close_matches(name, list(on_disk), n=1)
        raise SiteError(f"Die Datei „{shown(name)}“ gibt es nicht in {DOCUMENTS_DIR}/.", where,
                        f"Meinten Sie „{close[0]}“?" if close else
                        f"Legen Sie die Datei in den Ordner {DOCUMENTS_DIR}/ oder korrigieren Sie "
                        "den Namen.")
    if "accessible" not in values:
        raise SiteError(f"Bei „{shown(name)}“ fehlt „accessible: true“ oder „accessible: false“.",
                        where, "Geben Sie an, ob die Datei barrierefrei ist (z. B. ein getaggtes "
                        "PDF); die Website nennt das neben dem Link (BITV 2.0).")
    size = _size(root, on_disk[name], name)
    return Document(line=line, size=size, **{"format": FORMATS[suffix], **values})


def _check_name(name: str, suffix: str, where: Location) -> None:
    if not _FILE_NAME.fullmatch(name) or "/" in name:
        stem, ext = os.path.splitext(name)
        better = (slugify(stem) or "dokument") + ext.lower()
        raise SiteError(f"Der Dateiname „{shown(name)}“ eignet sich nicht als Adresse.", where,
                        f"Benennen Sie die Datei in „{better}“ um (nur Buchstaben ohne Umlaute, "
                        "Ziffern, - und _; keine Leerzeichen und Unterordner).")
    if suffix not in FORMATS:
        raise SiteError(f"Dateien vom Typ „{shown(suffix or name)}“ veröffentlicht die Website nicht.",
                        where, f"Erlaubt sind: {', '.join(sorted(set(FORMATS.values())))}.")


def _size(root: Path, file: Path, name: str) -> int:
    """The file's size from the file system: nothing of it is read here."""
    where = Location(f"{DOCUMENTS_DIR}/{name}")
    if not file.resolve().is_relative_to(root.resolve()):
        raise SiteError("Die Datei ist ein Verweis (Symlink) auf eine Stelle außerhalb des "
                        "Website-Ordners.", where, "Kopieren Sie die Datei in den Ordner.")
    size = file.stat().st_size
    if size > MAX_BYTES:
        raise SiteError(f"Die Datei ist zu groß ({file_size(size)}; höchstens "
                        f"{file_size(MAX_BYTES)}).", where,
                        "Verkleinern Sie sie (z. B. PDF mit geringerer Bildauflösung exportieren) "
                        "oder legen Sie sie auf einem Dateiserver ab und tragen Sie dessen "
                        "Adresse mit „url:“ statt „file:“ ein.")
    return size


def _duplicates(documents: list[Document]) -> list[SiteError]:
    errors = []
    for key in ("file", "title"):
        seen: set[str] = set()
        for document in documents:
            value = getattr(document, key)
            if value and value in seen:
                errors.append(SiteError(f"„{shown(value)}“ ist in {DOCUMENTS_PATH} zweimal "
                                        "eingetragen.", Location(DOCUMENTS_PATH, document.line),
                                        "Jede Datei und jeder Titel darf nur einmal vorkommen: "
                                        "Förderprogramme nennen Dokumente mit Dateinamen oder Titel."))
            seen.add(value)
    return errors


def _undescribed(name: str) -> SiteError:
    return SiteError(
        f"Diese Datei ist in {DOCUMENTS_PATH} nicht beschrieben.", Location(f"{DOCUMENTS_DIR}/{name}"),
        f"Ergänzen Sie in {DOCUMENTS_PATH}:\n- title: …\n  file: {name}\n  accessible: false   "
        "# oder true, wenn die Datei barrierefrei ist")
