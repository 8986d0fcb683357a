"""Termine: content/events/YYYY-MM-DD-slug.md → Event, with its checks.

A dated event's file name begins with its first day (as a press release's does); an event
whose date is not fixed yet ("einmal im Jahr") has a file name without a date and no `start`.
Start and end are a day, or a day and a time; a time without a zone is Berlin time.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import PurePosixPath
from typing import Any

from kpr_site.errors import Location, SiteError
from kpr_site.fields import Field, date_or_time, mapping, text, text_list
from kpr_site.frontmatter import Document
from kpr_site.model import Event, Moment, Place, Registration, day_of
from kpr_site.schema import (
    PUBLICATION,
    Known,
    Problems,
    berlin,
    check_publication,
    email,
    group_references,
    project_references,
    slug_from,
    web_address,
)
from kpr_site.urls import event_url

__all__ = ["EVENT_SCHEMA", "make_event"]

EVENT_SCHEMA = {
    "title": Field(text, True, "Titel", "Die Überschrift, wie sie auf der Website erscheint."),
    "start": Field(date_or_time, label="Beginn", hint="JJJJ-MM-TT, auf Wunsch mit Uhrzeit "
                   "(JJJJ-MM-TTTHH:MM, Berliner Zeit)."),
    "end": Field(date_or_time, label="Ende", hint="Wie der Beginn; nicht vor dem Beginn."),
    "schedule": Field(text, label="Wann (ohne Datum)",
                      hint="Für Termine ohne festes Datum, z. B. „Einmal im Jahr“."),
    "summary": Field(text, label="Zusammenfassung", hint="Ein bis zwei Sätze für die Terminliste."),
    "place": Field(mapping({"name": Field(text, True, "Ort"),
                            "address": Field(text, label="Adresse")}), label="Ort"),
    "organiser": Field(text, label="Veranstalter"),
    "registration": Field(mapping({
        "url": Field(web_address, label="Anmeldung (Webadresse)", hint="https://…"),
        "email": Field(email, label="Anmeldung (E-Mail)"),
        "deadline": Field(date_or_time, label="Anmeldeschluss", hint="JJJJ-MM-TT"),
        "note": Field(text, label="Hinweis zur Anmeldung")}), label="Anmeldung"),
    "accessibility": Field(text, label="Barrierefreiheit",
                           hint="z. B. Rollstuhlgerecht, Gebärdensprachdolmetschung auf Anfrage."),
    "topics": Field(text_list, label="Themen", hint="Themen, z. B. Suchtprävention, Jugend."),
    "groups": Field(text_list, label="Arbeitsgruppen",
                    hint="Kurznamen der Arbeitsgruppen (Dateinamen in content/groups/)."),
    "projects": Field(text_list, label="Projekte",
                      hint="Kurznamen der Projekte (Dateinamen in content/projects/)."),
    **PUBLICATION,
}
_DATED_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})-(.+)\.md")


def make_event(path: str, values: dict[str, Any], doc: Document, known: Known) -> Event:
    """The Event of one file; raises Problems with every error found in it."""
    start = berlin(values.pop("start")) if "start" in values else None
    end = berlin(values.pop("end")) if "end" in values else None
    slug, errors = _slug_and_date(path, start, doc)
    errors += _period_errors(start, end, path, doc)
    place = values.pop("place", None)
    registration, found = _registration(values.pop("registration", None), start, path, doc)
    errors += found + check_publication(values, doc, path) + _references(values, doc, path, known)
    if errors:
        raise Problems(errors)
    day = day_of(start) if start is not None else None
    return Event(path=path, slug=slug, url=event_url(day, slug), start=start, end=end,
                 place=Place(**place) if place else None, registration=registration, **values)


def _slug_and_date(path: str, start: Moment | None, doc: Document) -> tuple[str, list[SiteError]]:
    name = PurePosixPath(path).name
    match = _DATED_NAME.fullmatch(name)
    if match is None:
        if start is None:
            return slug_from(PurePosixPath(path).stem, path), []
        day = day_of(start)
        return slug_from(PurePosixPath(path).stem, path), [SiteError(
            "Der Dateiname eines Termins mit Datum muss mit dem Datum beginnen.", Location(path),
            f"Benennen Sie die Datei in „{day.isoformat()}-{name}“ um. Ohne Datum (z. B. "
            "„schedule: einmal im Jahr“) entfällt „start“.")]
    slug = slug_from(match.group(2), path)
    if start is None:
        return slug, [SiteError(
            "Die Angabe „start“ fehlt.", Location(path, doc.meta.line()),
            f"Der Dateiname beginnt mit dem Datum {match.group(1)}: Ergänzen Sie "
            f"„start: {match.group(1)}“ (mit Uhrzeit z. B. „start: {match.group(1)}T18:00“).")]
    day = day_of(start)
    if match.group(1) != day.isoformat():
        return slug, [SiteError(
            f"Das Datum im Dateinamen ({match.group(1)}) passt nicht zum Beginn in den "
            f"Kopfdaten ({day.isoformat()}).", Location(path, doc.meta.line("start")),
            "Korrigieren Sie „start“ oder den Dateinamen, damit beide übereinstimmen.")]
    return slug, []


def _period_errors(
    start: Moment | None, end: Moment | None, path: str, doc: Document
) -> list[SiteError]:
    where = Location(path, doc.meta.line("end"))
    if end is None:
        return []
    if start is None:
        return [SiteError("„end“ ist angegeben, „start“ aber nicht.", where,
                          "Ein Termin ohne Datum hat weder „start“ noch „end“.")]
    if isinstance(start, dt.datetime) != isinstance(end, dt.datetime):
        return [SiteError("„start“ und „end“ müssen beide eine Uhrzeit haben oder beide keine.",
                          where, "Ganztägig: „start: 2024-05-01“, „end: 2024-05-02“. Mit "
                          "Uhrzeit: „start: 2024-05-01T18:00“, „end: 2024-05-01T20:00“.")]
    if _before(end, start):
        return [SiteError("Das Ende liegt vor dem Beginn.", where,
                          "Prüfen Sie „start“ und „end“ (Datum und Uhrzeit).")]
    return []


def _before(a: Moment, b: Moment) -> bool:
    return a < b  # both days or both times (checked before)


def _registration(
    values: dict[str, Any] | None, start: Moment | None, path: str, doc: Document
) -> tuple[Registration | None, list[SiteError]]:
    if values is None:
        return None, []
    where = Location(path, doc.meta.line("registration"))
    if not (values.get("url") or values.get("email") or values.get("note")):
        return None, [SiteError("Bei „registration“ fehlt, wie man sich anmeldet.", where,
                                "Ergänzen Sie „url: https://…“ (Anmeldeformular) oder "
                                "„email: …“ oder einen Hinweis „note: …“.")]
    deadline = berlin(values["deadline"]) if "deadline" in values else None
    if deadline is not None and start is not None and day_of(deadline) > day_of(start):
        return None, [SiteError("Der Anmeldeschluss liegt nach dem Beginn des Termins.",
                                Location(path, doc.meta.line("registration", "deadline")),
                                "Prüfen Sie „deadline“ und „start“.")]
    return Registration(**{**values, "deadline": deadline}), []


def _references(values: dict[str, Any], doc: Document, path: str, known: Known) -> list[SiteError]:
    return group_references(values, doc, path, known) + project_references(values, doc, path, known)
