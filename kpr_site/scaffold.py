"""`kpr-site new …`: start a press release, project, page or photo album from a skeleton.

A press release, project or page starts as a draft (`draft: true`): it is not published
until the editor deletes that line, and `kpr-site check` names the skeleton text and the
empty summary still to replace. Every file written here loads without errors (an album's
empty `alt` fields excepted: they are there to be filled in, and the build insists on it).
Existing files are never overwritten; `new album` run again only appends the photos not
listed yet, so entries, their order and comments stay as the editor left them.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from kpr_site.documents import DOCUMENTS_DIR, DOCUMENTS_PATH
from kpr_site.errors import Location, SiteError
from kpr_site.frontmatter import YamlData, decode_text, parse_yaml
from kpr_site.gallery import ALBUM_FILE, GALLERY_DIR, IMAGE_SUFFIXES
from kpr_site.german import slugify
from kpr_site.inputs import list_folder
from kpr_site.placeholders import SKELETON_BODIES

__all__ = [
    "AlbumResult", "new_album", "new_document", "new_event", "new_funding", "new_group",
    "new_page", "new_press", "new_project",
]

_DRAFT = "draft: true  # Entwurf: zum Veröffentlichen diese Zeile löschen\n"

# Front matter only: the body text is placeholders.SKELETON_BODIES, which `kpr-site check`
# also reads to find skeleton text an editor has not replaced yet.
_PRESS = """\
---
title: {title}
date: {date}
summary: ""  # ein bis zwei Sätze für die Übersicht und für Suchmaschinen
tags: []     # Themen, z. B. [Suchtprävention, Jugend]
"""

_PROJECT = """\
---
title: {title}
status: geplant  # geplant | laufend | abgeschlossen
summary: ""      # ein bis zwei Sätze für die Projektliste
topics: []       # Themen, z. B. [Verkehrssicherheit]
"""

_PAGE = """\
---
title: {title}
summary: ""  # ein bis zwei Sätze für Suchmaschinen
"""

# The council's own types start as drafts: publish with `draft: true` deleted.
_EVENT = """\
---
title: {title}
start: {date}          # Beginn, mit Uhrzeit z. B. {date}T18:00
# end: {date}T20:00    # Ende (freiwillig)
summary: ""            # ein bis zwei Sätze für die Terminliste
# place:              # Ort
#   name: …            # z. B. Kreishaus Güstrow, großer Saal
#   address: …         # Straße, Postleitzahl und Ort
organiser: ""          # wer lädt ein
# registration:        # Anmeldung (freiwillig)
#   email: …           # oder url: https://…
#   deadline: {date}
accessibility: ""      # z. B. stufenlos erreichbar, Gebärdensprache auf Anfrage
topics: []             # Themen, z. B. [Suchtprävention]
draft: true            # löschen, wenn der Termin erscheinen soll
---
Worum geht es, für wen ist der Termin, und was erwartet die Teilnehmenden?
"""

_GROUP = """\
---
title: {title}
status: geplant        # geplant | aktiv | abgeschlossen
summary: ""            # ein bis zwei Sätze für die Übersicht
goal: ""               # was die Arbeitsgruppe erarbeiten soll, z. B. ein Handlungskonzept
# lead: …              # Leitung: Name wie in content/members.yaml
# members: []          # Mitglieder: Namen wie in content/members.yaml
topics: []
draft: true            # löschen, wenn die Arbeitsgruppe erscheinen soll
---
Welches Thema bearbeitet die Arbeitsgruppe, und bis wann?
"""

_FUNDING = """\
---
title: {title}
funder: "[Vom Landkreis zu bestätigen: Fördergeber]"  # wer fördert
summary: ""            # ein bis zwei Sätze für die Übersicht
# max_amount_eur: 1000 # Förderung höchstens, in Euro ohne Punkt
applicants: ""         # wer Anträge stellen kann
how_to_apply: ""       # wie man beantragt
documents: []          # Dateinamen oder Titel aus content/documents.yaml
# calls:               # Aufrufe mit Antragsfrist
#   - title: Aufruf {year}
#     deadline: {year}-03-31
draft: true            # löschen, wenn das Programm erscheinen soll
---
Was wird gefördert, und worauf kommt es beim Antrag an?
"""

_DOCUMENT = """\
- title: {title}
  file: {file}
  description: ""      # z. B. Fassung vom …
  language: de
  accessible: false    # true, wenn die Datei barrierefrei ist (z. B. getaggtes PDF)
"""

_ALBUM_HEAD = """\
# Fotoalbum. Tragen Sie zu jedem Foto bei „alt“ ein, was darauf zu sehen ist (Pflicht:
# blinde und sehbehinderte Menschen hören diesen Text statt des Bildes).
# Freiwillig: description (Text zum Album), cover (Dateiname des Titelbilds) und je Foto
# caption (Bildunterschrift) und credit (Fotograf/in).
title: {title}
date: {date}
photos:
"""


def _yaml_text(value: str) -> str:
    """A YAML scalar for `value`: plain where that is unambiguous, else double-quoted."""
    plain = re.fullmatch(r"[^\W\d_][\w .,!?()„“–'-]*", value) and not value.endswith(" ")
    if plain and value.lower() not in {"yes", "no", "true", "false", "on", "off", "null", "y", "n"}:
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _slug(title: str) -> str:
    slug = slugify(title)
    if not slug:
        raise SiteError(f"Aus dem Titel „{title}“ lässt sich kein Dateiname bilden.",
                        hint="Der Titel braucht Buchstaben oder Ziffern.")
    return slug


def _document(head: str, kind: str) -> str:
    """A new content file: front matter, marked as draft, and the skeleton body."""
    return f"{head}{_DRAFT}---\n{SKELETON_BODIES[kind]}"


def _create(root: Path, relative: str, text: str) -> Path:
    """Write a new file; refuse if it exists."""
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("x", encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError:
        raise SiteError("Die Datei gibt es schon; sie wird nicht überschrieben.", Location(relative),
                        "Bearbeiten Sie die vorhandene Datei oder wählen Sie einen anderen "
                        "Titel.") from None
    return path


def new_press(root: Path, title: str, date: dt.date) -> Path:
    """content/press/<date>-<slug>.md"""
    relative = f"content/press/{date.isoformat()}-{_slug(title)}.md"
    head = _PRESS.format(title=_yaml_text(title), date=date.isoformat())
    return _create(root, relative, _document(head, "press"))


def new_project(root: Path, title: str) -> Path:
    """content/projects/<slug>.md, status „geplant“."""
    return _create(root, f"content/projects/{_slug(title)}.md",
                   _document(_PROJECT.format(title=_yaml_text(title)), "projects"))


def new_page(root: Path, title: str) -> Path:
    """content/pages/<slug>.md"""
    return _create(root, f"content/pages/{_slug(title)}.md",
                   _document(_PAGE.format(title=_yaml_text(title)), "pages"))


def new_event(root: Path, title: str, date: dt.date) -> Path:
    """content/events/<date>-<slug>.md, a draft."""
    relative = f"content/events/{date.isoformat()}-{_slug(title)}.md"
    return _create(root, relative, _EVENT.format(title=_yaml_text(title), date=date.isoformat()))


def new_group(root: Path, title: str) -> Path:
    """content/groups/<slug>.md, status „geplant“, a draft."""
    return _create(root, f"content/groups/{_slug(title)}.md", _GROUP.format(title=_yaml_text(title)))


def new_funding(root: Path, title: str, date: dt.date) -> Path:
    """content/funding/<slug>.md, a draft."""
    return _create(root, f"content/funding/{_slug(title)}.md",
                   _FUNDING.format(title=_yaml_text(title), year=date.year))


def new_document(root: Path, name: str) -> Path:
    """Describe content/documents/<name> in content/documents.yaml (appended at the end)."""
    name = unicodedata.normalize("NFC", Path(name).name)
    if not (root / DOCUMENTS_DIR / name).is_file():
        raise SiteError(f"Die Datei „{name}“ gibt es nicht in {DOCUMENTS_DIR}/.",
                        Location(f"{DOCUMENTS_DIR}/{name}"),
                        f"Legen Sie die Datei zuerst in den Ordner {DOCUMENTS_DIR}/.")
    target = root / DOCUMENTS_PATH
    text = decode_text(target.read_bytes(), DOCUMENTS_PATH) if target.is_file() else ""
    data = parse_yaml(text, DOCUMENTS_PATH) if text else None
    listed = data.value if data and isinstance(data.value, list) else []
    if any(isinstance(entry, dict) and entry.get("file") == name for entry in listed):
        raise SiteError(f"„{name}“ ist schon beschrieben.", Location(DOCUMENTS_PATH),
                        f"Bearbeiten Sie den Eintrag in {DOCUMENTS_PATH}.")
    stem = Path(name).stem.replace("-", " ").replace("_", " ").strip() or name
    entry = _DOCUMENT.format(title=_yaml_text(stem[:1].upper() + stem[1:]), file=_yaml_text(name))
    if not text:
        text = "# Dokumente zum Herunterladen: jede Datei in content/documents/ mit Titel.\n"
    _replace(target, text + ("" if text.endswith("\n") else "\n") + entry)
    return target


@dataclass(frozen=True)
class AlbumResult:
    path: Path
    added: tuple[str, ...]
    """Photos newly listed; empty when album.yaml already listed every photo."""
    created: bool


def new_album(root: Path, folder: str, date: dt.date) -> AlbumResult:
    """Write or extend gallery/<folder>/album.yaml with every photo in the folder."""
    name = folder.strip("/").removeprefix(f"{GALLERY_DIR}/").strip("/")
    relative = f"{GALLERY_DIR}/{name}/{ALBUM_FILE}"
    album = root / GALLERY_DIR / name
    if not name or "/" in name or name.startswith(".") or not album.is_dir():
        raise SiteError(f"Den Albumordner gallery/{name}/ gibt es nicht.", Location(f"gallery/{name}"),
                        "Legen Sie im Ordner gallery/ einen Ordner für das Album an, kopieren "
                        "Sie die Fotos hinein und rufen Sie den Befehl dann erneut auf.")
    photos = _photos(album)
    if not photos:
        raise SiteError(f"Im Ordner gallery/{name}/ liegen keine Fotos.", Location(f"gallery/{name}"),
                        "Kopieren Sie Fotos (JPEG, PNG, GIF oder WebP) in den Ordner.")
    target = album / ALBUM_FILE
    if not target.exists():
        title = name.replace("-", " ").replace("_", " ").strip()
        title = title[:1].upper() + title[1:]
        text = _ALBUM_HEAD.format(title=_yaml_text(title), date=date.isoformat())
        return AlbumResult(_create(root, relative, text + _entries(photos, "  ")),
                           tuple(photos), True)
    text = decode_text(target.read_bytes(), relative)
    data = parse_yaml(text, relative)
    listed = _listed(data, relative)
    added = [p for p in photos if p not in listed]
    if added:
        _replace(target, _extended(text, data, relative, added))
    return AlbumResult(target, tuple(added), False)


def _replace(path: Path, text: str) -> None:
    """Write through a temporary file, so an interrupted run leaves the old file intact."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temp, path)


def _photos(folder: Path) -> list[str]:
    return sorted(unicodedata.normalize("NFC", f.name) for f in list_folder(folder)
                  if f.suffix.lower() in IMAGE_SUFFIXES and not f.name.startswith(".") and f.is_file())


def _entries(files: list[str], indent: str) -> str:
    return "".join(f'{indent}- file: {_yaml_text(f)}\n{indent}  alt: ""\n' for f in files)


def _listed(data: YamlData, path: str) -> set[str]:
    if not isinstance(data.value, dict):
        raise SiteError("album.yaml muss aus Angaben der Form „schlüssel: wert“ bestehen.",
                        Location(path, 1))
    photos = data.value.get("photos") or []
    if not isinstance(photos, list):
        raise SiteError("„photos“ muss eine Liste sein (Zeilen, die mit „-“ beginnen).",
                        Location(path, data.line("photos")))
    return {unicodedata.normalize("NFC", str(p.get("file")))
            for p in photos if isinstance(p, dict) and p.get("file")}


def _extended(text: str, data: YamlData, path: str, added: list[str]) -> str:
    """The file's text with entries for `added` inserted at the end of the photo list."""
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    photos_line = data.line("photos") if "photos" in data.value else None
    if photos_line is None:
        return "".join(lines) + "photos:\n" + _entries(added, "  ")
    if data.value["photos"]:
        first = data.line("photos", 0) or photos_line
        if first == photos_line:
            raise SiteError("Die Fotoliste steht in einer Zeile ([…]); so kann sie nicht ergänzt "
                            "werden.", Location(path, photos_line),
                            "Schreiben Sie jedes Foto in eigene Zeilen („- file: …“).")
        indent = re.match(r"\s*", lines[first - 1]).group(0)  # type: ignore[union-attr]
    else:
        lines[photos_line - 1] = "photos:\n"  # "photos: []" or "photos:" → a block list
        indent = "  "
    end = _end_of_block(lines, data, photos_line)
    return "".join(lines[:end]) + _entries(added, indent) + "".join(lines[end:])


def _end_of_block(lines: list[str], data: YamlData, photos_line: int) -> int:
    """Index after the photo list's last line: before the next top-level key (and the
    comments or blank lines leading up to it), or the end of the file."""
    later = sorted(line for key in data.value if (line := data.line(key) or 0) > photos_line)
    end = later[0] - 1 if later else len(lines)
    while end > photos_line and (not lines[end - 1].strip() or lines[end - 1].startswith("#")):
        end -= 1
    return end
