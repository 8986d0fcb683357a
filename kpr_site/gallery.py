"""The gallery's sources: gallery/<album>/album.yaml → Album, and every image the site uses.

An album is a folder below gallery/ holding photos and an album.yaml that lists each photo
with its alternative text, in the order they are shown:

    title: Präventionsrat bei der Sitzung
    date: 2017-02-10
    description: Die konstituierende Sitzung im Kreishaus Güstrow.   # optional, plain text
    cover: sitzung-1.jpg                                             # optional, else the first
    photos:
      - file: sitzung-1.jpg
        alt: Die Mitglieder sitzen an einem langen Konferenztisch.   # required (BITV/WCAG)
        caption: Die Sitzung im großen Saal.                         # optional
        credit: Foto: Landkreis Rostock                              # optional

Every photo in the folder must be listed (an unlisted one is an error that prints the lines
to add), and no file may be a symlink to somewhere outside the site's folder.
"""

from __future__ import annotations

import difflib
import json
import os
import posixpath
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from kpr_site.errors import Location, SiteError
from kpr_site.fields import Field, Invalid, date, list_of, text, validate
from kpr_site.frontmatter import YamlData, decode_text, parse_yaml
from kpr_site.german import counted, slugify
from kpr_site.inputs import IMAGE_SUFFIXES, list_folder
from kpr_site.model import Album, Link, Photo, PressRelease, Project, Site
from kpr_site.urls import album_url

__all__ = [
    "ALBUM_FILE",
    "ALBUM_SCHEMA",
    "GALLERY_DIR",
    "IMAGE_SUFFIXES",
    "PHOTO_SCHEMA",
    "attach_images",
    "is_image_path",
    "load_albums",
    "referenced_images",
]

GALLERY_DIR = "gallery"
ALBUM_FILE = "album.yaml"
# Photo formats editors meet that browsers cannot show: an error, not silently left out.
_UNSUPPORTED = frozenset({".heic", ".heif", ".avif", ".tif", ".tiff", ".bmp", ".psd", ".dng",
                          ".cr2", ".cr3", ".nef", ".arw", ".orf", ".raf", ".rw2", ".raw"})


def _photo_list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise Invalid("muss eine Liste sein (Zeilen, die mit „- file:“ beginnen)",
                      "Siehe das Beispiel in docs/ oder in einem vorhandenen album.yaml.")
    return value


_ALT_HINT = ("Beschreiben Sie in einem kurzen Satz, was auf dem Foto zu sehen ist, z. B. "
             "„alt: Die Mitglieder des Präventionsrats am Sitzungstisch“. Blinde und "
             "sehbehinderte Menschen bekommen diesen Text vorgelesen (BITV 2.0).")
PHOTO_SCHEMA = {
    "file": Field(text, True, "Foto", "Das Foto, gespeichert im Ordner dieses Albums.", kind="image"),
    "alt": Field(text, True, "Alternativtext", _ALT_HINT),
    "caption": Field(text, label="Bildunterschrift"),
    "credit": Field(text, label="Urheber", hint="z. B. Foto: Landkreis Rostock"),
}
# "alt" is required, but checked in _check_photo with a message that explains what it is for.
_PHOTO_VALIDATED = {**PHOTO_SCHEMA, "alt": replace(PHOTO_SCHEMA["alt"], required=False)}
ALBUM_SCHEMA = {
    "title": Field(text, True, "Titel"),
    "date": Field(date, True, "Datum", "Tag der Aufnahmen (JJJJ-MM-TT)."),
    "description": Field(text, label="Beschreibung", hint="Kurzer Text über dem Album."),
    "cover": Field(text, label="Titelbild", hint="Dateiname eines Fotos aus der Liste; ohne "
                   "Angabe das erste Foto."),
    "photos": Field(list_of(PHOTO_SCHEMA, _photo_list), True, "Fotos",
                    "Reihenfolge hier = Reihenfolge im Album."),
}


def is_image_path(path: str) -> bool:
    """Whether a file name has one of the image endings the site processes."""
    return posixpath.splitext(path)[1].lower() in IMAGE_SUFFIXES


def load_albums(root: Path) -> tuple[list[Album], list[SiteError]]:
    """Every album below gallery/, newest first, and every problem found on the way."""
    folder = root / GALLERY_DIR
    albums: list[Album] = []
    errors: list[SiteError] = []
    if not folder.is_dir():
        return albums, errors
    for entry in list_folder(folder):
        path = f"{GALLERY_DIR}/{entry.name}"
        if entry.name.startswith((".", "_")):
            continue
        if entry.is_dir():
            album, found = _load_album(root, entry, path)
            errors.extend(found)
            if album is not None:
                albums.append(album)
        elif entry.suffix.lower() in IMAGE_SUFFIXES | _UNSUPPORTED:
            errors.append(SiteError(
                "Fotos gehören in einen Album-Ordner, nicht direkt in gallery/.", Location(path),
                "Legen Sie einen Ordner wie gallery/sitzung-2017/ an und verschieben Sie das "
                f"Foto dorthin; die Datei {ALBUM_FILE} dazu legt dann „kpr-site new album "
                "sitzung-2017“ an."))
    return sorted(albums, key=lambda a: (a.date, a.slug), reverse=True), errors


def _load_album(root: Path, folder: Path, path: str) -> tuple[Album | None, list[SiteError]]:
    if _outside(root, folder):
        return None, [_outside_error(path)]
    files, errors = _folder_photos(root, folder, path)
    yaml_file = folder / ALBUM_FILE
    if os.path.lexists(yaml_file) and not yaml_file.is_file():
        return None, errors  # a pipe, folder or dangling link: the input walk names it
    try:
        source, data = _read_album_yaml(root, folder, path, files)
    except SiteError as exc:
        return None, [*errors, exc]
    yaml_path = f"{path}/{ALBUM_FILE}"
    values, found = validate(data, ALBUM_SCHEMA, yaml_path)
    errors += found
    photos: tuple[Photo, ...] = ()
    if "photos" in values:
        photos, found = _photos(data, yaml_path, path, files, _item_indent(source, data))
        errors += found
    cover = _cover(values.get("cover", ""), photos, data, yaml_path, errors)
    slug = slugify(folder.name)
    if not slug:
        errors.append(SiteError("Aus dem Ordnernamen lässt sich keine Adresse bilden.",
                                Location(f"{path}/"), "Verwenden Sie Buchstaben oder Ziffern."))
    if errors:
        return None, errors
    return Album(path=yaml_path, slug=slug, url=album_url(slug), title=values["title"],
                 date=values["date"], photos=photos, description=values.get("description", ""),
                 cover=cover), []


def _shell_word(name: str) -> str:
    """A folder name as typed in a terminal: quoted if it holds spaces or other signs."""
    return name if re.fullmatch(r"[\w.-]+", name) else '"' + name.replace('"', '\\"') + '"'


def _read_album_yaml(root: Path, folder: Path, path: str,
                     files: dict[str, str]) -> tuple[str, YamlData]:
    yaml_path = f"{path}/{ALBUM_FILE}"
    yaml_file = folder / ALBUM_FILE
    if not yaml_file.is_file():
        raise SiteError(
            f"Im Album-Ordner fehlt die Datei {ALBUM_FILE}.", Location(f"{path}/"),
            f"Legen Sie sie mit „kpr-site new album {_shell_word(folder.name)}“ an: Das trägt "
            "alle Fotos des Ordners ein. Oder von Hand, zum Beispiel:\ntitle: …\n"
            "date: JJJJ-MM-TT\nphotos:\n" + _yaml_entries(sorted(files.values()), "  "))
    if _outside(root, yaml_file):
        raise _outside_error(yaml_path)
    source = decode_text(yaml_file.read_bytes(), yaml_path)
    data = parse_yaml(source, yaml_path)
    if not isinstance(data.value, dict):
        raise SiteError(
            f"{ALBUM_FILE} muss Angaben wie „title: …“, „date: …“ und „photos:“ enthalten.",
            Location(yaml_path, 1))
    return source, data


def _folder_photos(root: Path, folder: Path, path: str) -> tuple[dict[str, str], list[SiteError]]:
    """The photo files of an album folder: NFC name → name on disk; refused ones as errors."""
    files: dict[str, str] = {}
    errors: list[SiteError] = []
    for file in list_folder(folder):
        suffix = file.suffix.lower()
        if file.name.startswith(".") or not (file.is_file() or file.is_symlink()):
            continue
        if suffix in _UNSUPPORTED:
            errors.append(SiteError(
                f"Das Bildformat {suffix} können Browser nicht anzeigen.", Location(f"{path}/{file.name}"),
                "Exportieren Sie das Foto als JPEG (.jpg) und löschen Sie diese Datei."))
        elif suffix in IMAGE_SUFFIXES:
            if _outside(root, file):
                errors.append(_outside_error(f"{path}/{file.name}"))
            files[unicodedata.normalize("NFC", file.name)] = file.name
    return files, errors


def _photos(data: YamlData, yaml_path: str, path: str, files: dict[str, str],
            indent: str) -> tuple[tuple[Photo, ...], list[SiteError]]:
    """The listed photos in list order; missing, duplicate and unlisted photos as errors."""
    photos: list[Photo] = []
    errors: list[SiteError] = []
    listed: dict[str, int] = {}
    for index, item in enumerate(data.value["photos"]):
        line = data.line("photos", index) or 0
        if not isinstance(item, dict):
            errors.append(SiteError("Dieser Eintrag muss „file: …“ und „alt: …“ enthalten.",
                                    Location(yaml_path, line)))
            continue
        values, found = validate(data, _PHOTO_VALIDATED, yaml_path, ("photos", index))
        name = unicodedata.normalize("NFC", values.get("file") or "")
        found += _check_photo(name, values, data, index, yaml_path, listed, files)
        listed.setdefault(name, line)
        errors += found
        if not found:
            photos.append(Photo(path=f"{path}/{files[name]}", alt=values["alt"],
                                caption=values.get("caption", ""),
                                credit=values.get("credit", ""), line=line))
    if not data.value["photos"] and not errors:
        errors.append(SiteError("Das Album enthält keine Fotos.",
                                Location(yaml_path, data.line("photos")),
                                "Tragen Sie unter „photos:“ mindestens ein Foto ein."))
    errors += _unlisted(files, listed, data, yaml_path, indent)
    return tuple(photos), errors


def _check_photo(name: str, values: dict[str, Any], data: YamlData, index: int, yaml_path: str,
                 listed: dict[str, int], files: dict[str, str]) -> list[SiteError]:
    errors = []
    if not values.get("alt"):
        what = "ist leer" if "alt" in data.value["photos"][index] else "fehlt"
        errors.append(SiteError(
            f"Der Alternativtext („alt“) zum Foto „{name or '?'}“ {what}.",
            Location(yaml_path, data.line("photos", index, "alt")), _ALT_HINT))
    if not name:
        return errors  # validate() reported the missing "file"
    where = Location(yaml_path, data.line("photos", index, "file"))
    if "/" in name or "\\" in name:
        errors.append(SiteError(
            f"„{name}“: Hier steht nur der Dateiname, ohne Ordner.", where,
            "Legen Sie das Foto in diesen Album-Ordner und schreiben Sie nur seinen Namen."))
    elif name in listed:
        errors.append(SiteError(f"Das Foto „{name}“ steht doppelt in der Liste (zuerst in Zeile "
                                f"{listed[name]}).", where, "Löschen Sie einen der Einträge."))
    elif name not in files:
        same = [f for f in files if f.casefold() == name.casefold()]
        close = same or difflib.get_close_matches(name, list(files), n=1, cutoff=0.6)
        hint = f"Meinten Sie „{close[0]}“? " if close else ""
        errors.append(SiteError(
            f"Das Foto „{name}“ steht in {ALBUM_FILE}, aber die Datei gibt es im Ordner nicht.",
            where, hint + "Prüfen Sie den Dateinamen (auch Groß- und Kleinschreibung und "
            "die Endung) oder legen Sie das Foto in den Ordner."))
    return errors


def _unlisted(files: dict[str, str], listed: dict[str, int], data: YamlData, yaml_path: str,
              indent: str) -> list[SiteError]:
    missing = [disk for name, disk in files.items() if name not in listed]
    if not missing:
        return []
    names = ", ".join(f"„{name}“" for name in missing)
    count = ("Ein Foto im Ordner steht" if len(missing) == 1
             else f"{counted(len(missing), 'Foto', 'Fotos')} im Ordner stehen")
    return [SiteError(
        f"{count} nicht in {ALBUM_FILE}: {names}.", Location(yaml_path, data.line("photos")),
        "Ergänzen Sie unter „photos:“ diese Zeilen und beschreiben Sie bei „alt“, was auf dem "
        "Foto zu sehen ist (oder löschen Sie das Foto):\n"
        + _yaml_entries(missing, indent))]


def _item_indent(text: str, data: YamlData) -> str:
    """The indentation of the album's list items, so the printed lines paste as they are."""
    line = data.line("photos", 0) or 1
    match = re.match(r"( *)- ", text.split("\n")[line - 1])
    return match.group(1) if match else "  "


def _yaml_entries(names: Iterable[str], indent: str) -> str:
    lines = []
    for name in names:
        lines += [f"{indent}- file: {_yaml_scalar(name)}", f'{indent}  alt: ""']
    return "\n".join(lines)


def _yaml_scalar(name: str) -> str:
    plain = re.fullmatch(r"[\w][\w .()+-]*", name) and ": " not in name and " #" not in name
    return name if plain else json.dumps(name, ensure_ascii=False)


def _cover(name: str, photos: Sequence[Photo], data: YamlData, yaml_path: str,
           errors: list[SiteError]) -> str:
    if not name:
        return photos[0].path if photos else ""
    for photo in photos:
        if posixpath.basename(photo.path) == name:
            return photo.path
    if photos:  # with no photos the list's own error says enough
        errors.append(SiteError(
            f"Das Titelbild „{name}“ steht nicht in der Liste „photos“.",
            Location(yaml_path, data.line("cover")),
            "Tragen Sie bei „cover“ den Dateinamen eines Fotos aus der Liste ein."))
    return ""


def _outside(root: Path, file: Path) -> bool:
    return not file.resolve().is_relative_to(root.resolve())


def _outside_error(path: str) -> SiteError:
    return SiteError(
        "Die Datei ist ein Verweis (Symlink) auf eine Stelle außerhalb des Website-Ordners.",
        Location(path),
        "Kopieren Sie die Datei in den Website-Ordner, statt auf sie zu verweisen: nur was im "
        "Repository liegt, wird veröffentlicht.")


# ---------- images used by press releases, projects and Markdown ----------

Item = TypeVar("Item", PressRelease, Project)


def attach_images(root: Path, items: Sequence[Item], albums: Sequence[Album],
                  lines: Mapping[str, Mapping[str, int]]) -> tuple[list[Item], list[SiteError]]:
    """Resolve each front-matter `image:` to `image_path` and give it its alternative text.

    `image:` is a path relative to the Markdown file (like a Markdown image) or, with a
    leading "/", to the site folder. The text comes from `image_alt:`, else from the album
    entry of that photo. `lines` are the front-matter lines of each item's file.
    """
    alts = {photo.path: photo.alt for album in albums for photo in album.photos}
    done: list[Item] = []
    errors: list[SiteError] = []
    for item in items:
        if not item.image:
            done.append(item)
            continue
        try:
            path = _resolve_image(root, item.image, item.path)
            alt = item.image_alt or alts.get(path, "")
            if not alt:
                raise SiteError(
                    f"Zum Bild „{item.image}“ fehlt der Alternativtext.", hint="Ergänzen Sie "
                    "„image_alt: …“ in den Kopfdaten oder nehmen Sie ein Foto aus einem Album "
                    f"(dort steht der Text bei „alt“). {_ALT_HINT}")
        except SiteError as exc:
            where = Location(item.path, lines.get(item.path, {}).get("image"))
            errors.append(replace(exc, location=exc.location or where))
            continue
        done.append(replace(item, image_path=path, image_alt=alt))
    return done, errors


def _resolve_image(root: Path, ref: str, source: str) -> str:
    if ref.startswith("/"):
        path = posixpath.normpath(ref.lstrip("/"))
    else:
        path = posixpath.normpath(posixpath.join(posixpath.dirname(source), ref))
    hint = ("Geben Sie den Pfad relativ zur Markdown-Datei an (z. B. "
            "„../../gallery/sitzung/foto1.jpg“) oder mit „/“ vom Website-Ordner aus "
            "(„/gallery/sitzung/foto1.jpg“).")
    if path.startswith("..") or not path.startswith((f"{GALLERY_DIR}/", "content/")):
        raise SiteError(f"Das Bild „{ref}“ liegt nicht in gallery/ oder content/.", hint=hint)
    if not is_image_path(path):
        raise SiteError(f"„{ref}“ ist kein Bild (erlaubt: JPEG, PNG, GIF, WebP).", hint=hint)
    if not (root / path).is_file():
        raise SiteError(f"Das Bild „{ref}“ gibt es nicht ({path}).", hint=hint)
    if _outside(root, root / path):
        raise _outside_error(path)
    return path


def referenced_images(root: Path, site: Site,
                      links: Iterable[Link]) -> tuple[list[str], list[SiteError]]:
    """Every image the site shows: album photos, `image:` fields, Markdown images and links
    to image files in gallery/ or content/. Sorted; symlinks out of the site are refused."""
    paths = {photo.path for album in site.albums for photo in album.photos}
    paths |= {item.image_path for item in site.press if item.image_path}
    paths |= {item.image_path for item in site.projects if item.image_path}
    errors: list[SiteError] = []
    for link in links:
        target = link.target
        if (link.kind != "file" or target in paths or not is_image_path(target)
                or not target.startswith((f"{GALLERY_DIR}/", "content/"))
                or not (root / target).is_file()):
            continue
        if _outside(root, root / target):
            errors.append(_outside_error(target))
        else:
            paths.add(target)
    return sorted(paths), errors
