"""Arbeitsgruppen: content/groups/slug.md → Group, with lead and members checked against
content/members.yaml."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from kpr_site.errors import Location, SiteError
from kpr_site.fields import Field, choice, date, text, text_list
from kpr_site.frontmatter import Document
from kpr_site.model import GROUP_STATUSES, Group
from kpr_site.schema import PUBLICATION, Known, Problems, check_publication, reference_errors, slug_from
from kpr_site.urls import group_url

__all__ = ["GROUP_SCHEMA", "make_group"]

GROUP_SCHEMA = {
    "title": Field(text, True, "Titel", "Das Thema der Arbeitsgruppe."),
    "status": Field(choice(*GROUP_STATUSES), True, "Status", "geplant, aktiv oder abgeschlossen."),
    "summary": Field(text, label="Zusammenfassung", hint="Ein bis zwei Sätze für die Liste."),
    "topics": Field(text_list, label="Themen", hint="Themen, z. B. Verkehrssicherheit."),
    "goal": Field(text, label="Ziel", hint="Was die Gruppe erarbeiten soll, z. B. ein "
                  "Handlungskonzept."),
    "start": Field(date, label="Beginn", hint="JJJJ-MM-TT"),
    "end": Field(date, label="Ende", hint="JJJJ-MM-TT; nicht vor dem Beginn."),
    "lead": Field(text, label="Leitung", hint="Name wie in content/members.yaml."),
    "members": Field(text_list, label="Mitglieder", hint="Namen wie in content/members.yaml."),
    **PUBLICATION,
}
_PEOPLE_HINT = ("Personen werden mit ihrem Namen genannt, genau wie bei „name:“ in "
                "content/members.yaml; wer dort fehlt, wird zuerst dort eingetragen.")


def make_group(path: str, values: dict[str, Any], doc: Document, known: Known) -> Group:
    """The Group of one file; raises Problems with every error found in it."""
    slug = slug_from(PurePosixPath(path).stem, path)
    errors = check_publication(values, doc, path)
    start, end = values.get("start"), values.get("end")
    if start and end and end < start:
        errors.append(SiteError("Das Ende der Arbeitsgruppe liegt vor ihrem Beginn.",
                                Location(path, doc.meta.line("end")), "Prüfen Sie „start“ und „end“."))
    lead = (values["lead"],) if values.get("lead") else ()
    errors += reference_errors(doc, path, "lead", lead, known.people, "Die Person", _PEOPLE_HINT)
    errors += reference_errors(doc, path, "members", values.get("members", ()), known.people,
                               "Die Person", _PEOPLE_HINT)
    if errors:
        raise Problems(errors)
    return Group(path=path, slug=slug, url=group_url(slug), **values)
