"""Validate YAML values against a small schema, with German messages and did-you-mean hints.

A schema maps each allowed key to a `Field`: a converter that turns the YAML value into the
model's type or raises `Invalid`, and whether the key is required.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kpr_site.errors import Location, SiteError
from kpr_site.frontmatter import YamlData
from kpr_site.german import BERLIN, slugify

__all__ = [
    "Field", "Invalid", "boolean", "choice", "date", "date_or_time", "integer", "list_of",
    "mapping", "text", "text_list", "validate", "validate_list",
]


class Invalid(ValueError):
    """A value does not fit; `hint` says what would."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message, self.hint = message, hint


Converter = Callable[[Any], Any]


@dataclass(frozen=True)
class Field:
    """One key of a schema: how its value is checked, and how editors are told about it.

    The schema is the one source of truth for validation and the browser CMS (kpr_site.cms):
    `label` and `hint` are what the CMS shows next to the input."""

    convert: Converter
    required: bool = False
    label: str = ""
    """German name of the value, e.g. "Titel"."""
    hint: str = ""
    """One German sentence on what to enter, e.g. "Ein bis zwei Sätze für die Übersicht …"."""
    kind: str = ""
    """What a text is, where that matters to an editor: "markdown", or "image" (a photo's
    file name in its album folder)."""


def text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise Invalid("muss ein Text sein", "Schreiben Sie den Text direkt hinter den Doppelpunkt.")
    return str(value).strip()


def date(value: Any) -> dt.date:
    raw = str(value).strip()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        raise Invalid(f"„{raw}“ ist kein Datum im Format JJJJ-MM-TT",
                      "Schreiben Sie das Datum z. B. als 2017-02-10.")
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise Invalid(f"{raw} ist kein gültiges Kalenderdatum",
                      "Prüfen Sie Tag und Monat (z. B. hat der Februar höchstens 29 Tage).") from None


_MOMENT = re.compile(r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*(Z|[+-]\d{2}:?\d{2})?")


def date_or_time(value: Any) -> dt.date | dt.datetime:
    """A date, or a date with time and optional zone as editors paste it
    ("2012-01-03T15:19:00+01:00"); a time without a zone is Berlin time."""
    raw = str(value).strip()
    match = _MOMENT.fullmatch(raw)
    if match is None:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}.+", raw):
            raise Invalid(f"„{raw}“ ist kein Datum mit Uhrzeit im Format JJJJ-MM-TTTHH:MM",
                          "Schreiben Sie z. B. 2017-02-10 oder 2017-02-10T14:30 oder "
                          "2017-02-10T14:30:00+01:00.")
        return date(raw)
    day = date(match.group(1))
    try:
        moment = dt.datetime.fromisoformat(f"{day.isoformat()}T{match.group(2)}{match.group(3) or ''}")
    except ValueError:
        raise Invalid(f"„{raw}“ enthält keine gültige Uhrzeit",
                      "Stunden gehen von 00 bis 23, Minuten von 00 bis 59.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=BERLIN)


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Invalid("muss „true“ oder „false“ sein")
    return value


def integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(f"„{value}“ ist keine ganze Zahl",
                      "Schreiben Sie die Zahl ohne Punkt, Komma und Währungszeichen, z. B. 15000.")
    return value


def text_list(value: Any) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
        raise Invalid("muss eine Liste von Texten sein", "Zum Beispiel: [Suchtprävention, Jugend]")
    return tuple(i.strip() for i in items)


def choice(*allowed: str) -> Converter:
    def convert(value: Any) -> str:
        raw = text(value)
        if raw not in allowed:
            close = difflib.get_close_matches(raw, allowed, n=1)
            hint = f"Meinten Sie „{close[0]}“?" if close else None
            raise Invalid(f"„{raw}“ ist nicht erlaubt; erlaubt sind: {', '.join(allowed)}", hint)
        return raw
    convert.allowed = allowed  # type: ignore[attr-defined]
    return convert


def mapping(schema: Mapping[str, Field]) -> Converter:
    """A nested mapping; its errors are reported by `validate` with their own lines."""
    def convert(value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise Invalid("muss eine Zuordnung mit Unterpunkten sein",
                          f"Erlaubte Unterpunkte: {', '.join(schema)}")
        return value
    convert.schema = schema  # type: ignore[attr-defined]
    return convert


def list_of(schema: Mapping[str, Field], convert: Converter) -> Converter:
    """`convert` (which checks the list as a whole), marked as a list of mappings of `schema`;
    the caller checks each item with its own line (`validate_list`)."""
    convert.item_schema = schema  # type: ignore[attr-defined]
    return convert


def validate(
    data: YamlData, schema: Mapping[str, Field], path: str, prefix: tuple[str | int, ...] = (),
) -> tuple[dict[str, Any], list[SiteError]]:
    """Check `data.value` at `prefix` against `schema`; return the converted values and errors."""
    values: dict[str, Any] = {}
    errors: list[SiteError] = []
    raw = _at(data.value, prefix)
    for key, value in raw.items():
        where = Location(path, data.line(*prefix, str(key)))
        field = schema.get(str(key))
        if field is None:
            errors.append(_unknown_key(str(key), schema, where))
        elif value is None or value == "":
            if field.required:
                errors.append(SiteError(f"„{key}“ ist leer.", where, "Tragen Sie einen Wert ein."))
        else:
            converted, found = _convert(data, field, (*prefix, str(key)), path, value, where)
            values[str(key)] = converted
            errors.extend(found)
    for key, field in schema.items():
        if field.required and key not in raw:
            errors.append(SiteError(
                f"Die Angabe „{key}“ fehlt.", Location(path, data.line(*prefix)),
                f"Ergänzen Sie eine Zeile „{key}: …“"
                + (" in den Kopfdaten." if path.endswith(".md") else ".")))
    return values, errors


def validate_list(
    data: YamlData, schema: Mapping[str, Field], path: str, prefix: tuple[str | int, ...],
) -> tuple[list[tuple[dict[str, Any], int]], list[SiteError]]:
    """Validate a list of mappings; return each item's values with its line."""
    items, errors = [], []
    raw = data.value
    for key in prefix:
        raw = raw[key]
    for index, item in enumerate(raw if isinstance(raw, list) else []):
        line = data.line(*prefix, index) or 0
        if not isinstance(item, dict):
            errors.append(SiteError("Dieser Listeneintrag muss Angaben wie „name: …“ enthalten.",
                                    Location(path, line)))
            continue
        values, found = validate(data, schema, path, (*prefix, index))
        errors.extend(found)
        if not found:
            items.append((values, line))
    if not isinstance(raw, list):
        errors.append(SiteError("Hier wird eine Liste erwartet (Zeilen, die mit „-“ beginnen).",
                                Location(path, data.line(*prefix))))
    return items, errors


def _convert(
    data: YamlData, field: Field, key: tuple[str | int, ...], path: str, value: Any, where: Location
) -> tuple[Any, list[SiteError]]:
    try:
        converted = field.convert(value)
    except Invalid as exc:
        return None, [SiteError(f"„{key[-1]}“: {exc.message}.", where, exc.hint)]
    nested = getattr(field.convert, "schema", None)
    return validate(data, nested, path, key) if nested else (converted, [])


def _at(value: Any, prefix: tuple[str | int, ...]) -> dict[Any, Any]:
    for key in prefix:
        value = value[key]
    return value if isinstance(value, dict) else {}


# Keys editors bring from other tools (Jekyll, Hugo, WordPress), and their names here.
_SYNONYMS = {
    "description": ("summary",), "excerpt": ("summary",), "teaser": ("summary",),
    "categories": ("tags", "topics"), "keywords": ("tags", "topics"), "tags": ("topics",),
    "topics": ("tags",),
}
# Keys that would set the address, which comes from the file or folder name instead.
_ADDRESS_KEYS = frozenset({"slug", "url", "permalink"})


def _unknown_key(key: str, schema: Mapping[str, Field], where: Location) -> SiteError:
    message = f"Unbekannte Angabe „{key}“."
    if key.lower() in _ADDRESS_KEYS and where.path.endswith((".md", "/album.yaml")):
        return SiteError(message, where, _address_hint(where.path))
    close = [name for name in _SYNONYMS.get(key.lower(), ()) if name in schema][:1]
    close = close or difflib.get_close_matches(key, list(schema), n=1, cutoff=0.6)
    hint = f"Meinten Sie „{close[0]}“? " if close else ""
    hint += f"Erlaubt sind: {', '.join(schema)}."
    return SiteError(message, where, hint)


def _address_hint(path: str) -> str:
    """How the address of a page or album is made, and how to change it."""
    folder, _, name = path.rpartition("/")
    if name == "album.yaml":
        name = folder.rsplit("/", 1)[-1]
        return (f"Die Adresse eines Albums entsteht aus dem Ordnernamen („{name}“ → "
                f"/galerie/{slugify(name)}/). Um sie zu ändern, benennen Sie den Ordner um.")
    stem = re.sub(r"^\d{4}-\d{2}-\d{2}-", "", name.removesuffix(".md"))
    return (f"Die Adresse entsteht aus dem Dateinamen („{name}“ → …/{slugify(stem)}/). Um sie "
            "zu ändern, benennen Sie die Datei um; Links, die noch auf den alten Namen zeigen, "
            "meldet der Build.")
