"""Förderprogramme: content/funding/slug.md → FundingProgramme, with its calls and deadlines
and its documents checked against content/documents.yaml."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from kpr_site.errors import Location, SiteError
from kpr_site.fields import Field, Invalid, date_or_time, integer, text, text_list, validate_list
from kpr_site.frontmatter import Document
from kpr_site.model import FundingCall, FundingProgramme, day_of
from kpr_site.schema import (
    PLACEHOLDER,
    PUBLICATION,
    Known,
    Problems,
    berlin,
    check_publication,
    reference_errors,
    slug_from,
)
from kpr_site.urls import funding_url

__all__ = ["CALL_SCHEMA", "FUNDING_SCHEMA", "make_funding"]


def amount(value: Any) -> int | str:
    """Euros as a whole number (15000), or a placeholder while the amount is unknown."""
    if isinstance(value, str) and PLACEHOLDER.fullmatch(value.strip()):
        return value.strip()
    number = integer(value)
    if number <= 0:
        raise Invalid(f"{number} ist kein Förderbetrag", "Schreiben Sie den Betrag in Euro, z. B. 15000.")
    return number


def call_list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise Invalid("muss eine Liste sein (Zeilen, die mit „- title:“ beginnen)",
                      "Zum Beispiel:\n  calls:\n    - title: Aufruf 2024\n      deadline: 2024-03-31")
    return value


FUNDING_SCHEMA = {
    "title": Field(text, True, "Titel", "Der Name des Förderprogramms."),
    "funder": Field(text, True, "Fördergeber", "z. B. Landesrat für Kriminalitätsvorbeugung M-V."),
    "summary": Field(text, label="Zusammenfassung", hint="Ein bis zwei Sätze für die Liste."),
    "max_amount_eur": Field(amount, label="Förderung bis zu (Euro)",
                            hint="Ganze Zahl ohne Punkt und Euro-Zeichen, z. B. 15000."),
    "applicants": Field(text, label="Wer kann beantragen"),
    "how_to_apply": Field(text, label="So beantragen Sie"),
    "documents": Field(text_list, label="Dokumente",
                       hint="Dateinamen aus content/documents/ (in content/documents.yaml beschrieben)."),
    "calls": Field(call_list, label="Aufrufe", hint="Je Aufruf Titel und Einsendeschluss."),
    "topics": Field(text_list, label="Themen"),
    **PUBLICATION,
}
CALL_SCHEMA = {"title": Field(text, True, "Titel"),
               "deadline": Field(date_or_time, True, "Einsendeschluss", "JJJJ-MM-TT"),
               "note": Field(text, label="Hinweis")}


def make_funding(path: str, values: dict[str, Any], doc: Document, known: Known) -> FundingProgramme:
    """The programme of one file; raises Problems with every error found in it."""
    slug = slug_from(PurePosixPath(path).stem, path)
    calls, errors = (validate_list(doc.meta, CALL_SCHEMA, path, ("calls",)) if values.pop("calls", None)
                     else ([], []))
    errors += check_publication(values, doc, path) + reference_errors(
        doc, path, "documents", values.get("documents", ()), known.documents, "Das Dokument",
        "Dokumente werden mit ihrem Dateinamen oder Titel aus content/documents.yaml genannt.")
    seen: set[str] = set()
    for call, line in calls:
        if call["title"] in seen:
            errors.append(SiteError(f"Den Aufruf „{call['title']}“ gibt es zweimal.", Location(path, line),
                                    "Geben Sie jedem Aufruf einen eigenen Titel, z. B. mit der Jahreszahl."))
        seen.add(call["title"])
    if errors:
        raise Problems(errors)
    made = sorted((FundingCall(line=line, **{**call, "deadline": berlin(call["deadline"])})
                   for call, line in calls), key=lambda c: (day_of(c.deadline), c.title))
    return FundingProgramme(path=path, slug=slug, url=funding_url(slug), calls=tuple(made),
                            max_amount=values.pop("max_amount_eur", None), **values)


call_list.item_schema = CALL_SCHEMA  # type: ignore[attr-defined]  # for the CMS (kpr_site.cms)
