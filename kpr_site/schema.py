"""What every content type's front matter shares: the publication fields (draft, publish,
expires), slugs from file names, moments in Berlin time, web and e-mail addresses, and
references from one item to another (groups, projects, people, documents), each checked
against what exists, with did-you-mean.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from kpr_site.errors import Location, SiteError, shown
from kpr_site.fields import Field, Invalid, boolean, date, text
from kpr_site.frontmatter import Document
from kpr_site.german import BERLIN, slugify
from kpr_site.model import Moment
from kpr_site.placeholders import MARKER

__all__ = [
    "PLACEHOLDER", "PUBLICATION", "Known", "Problems", "berlin", "check_publication", "email",
    "group_references", "project_references", "reference_errors", "slug_from", "web_address",
]

PUBLICATION = {
    "draft": Field(boolean, label="Entwurf", hint="Ein Entwurf erscheint nicht auf der Website "
                   "(nur in der Vorschau mit --drafts)."),
    "publish": Field(date, label="Veröffentlichen ab",
                     hint="JJJJ-MM-TT: vorher erscheint der Inhalt nicht auf der Website."),
    "expires": Field(date, label="Ablaufdatum", hint="JJJJ-MM-TT: ab diesem Tag nicht mehr in "
                     "Listen, Feed, Kalender und Sitemap; die Seite bleibt erreichbar."),
}
"""Fields of every Markdown content type: held back (`draft`), shown from a day on
(`publish`), out of lists from a day on (`expires`)."""

PLACEHOLDER = MARKER  # one pattern for "[Vom Landkreis zu bestätigen: …]" (kpr_site.placeholders)
"""An open item the county still has to confirm, written where a value is not known yet."""


class Problems(Exception):
    """Several errors of one file at once."""

    def __init__(self, errors: list[SiteError]) -> None:
        super().__init__(f"{len(errors)} Fehler")
        self.errors = errors


@dataclass(frozen=True)
class Known:
    """What items may refer to, gathered before the items themselves are loaded."""

    groups: Collection[str] = ()
    """Slugs of every working group file, drafts included."""
    projects: Collection[str] = ()
    """Slugs of every project file, drafts included."""
    people: Sequence[str] = ()
    """Names in content/members.yaml."""
    documents: Sequence[str] = ()
    """File names and titles of the entries in content/documents.yaml."""


def slug_from(stem: str, path: str) -> str:
    """The address part a file name gives: "Präventionsforum" → "praeventionsforum"."""
    slug = slugify(stem)
    if not slug:
        raise SiteError("Aus dem Dateinamen lässt sich keine Adresse bilden.", Location(path),
                        "Verwenden Sie Buchstaben oder Ziffern im Dateinamen.")
    return slug


def berlin(moment: Moment) -> Moment:
    """A moment in Berlin time (an editor may paste "…T12:00:00Z"); a day stays a day."""
    return moment.astimezone(BERLIN) if isinstance(moment, dt.datetime) else moment


def check_publication(values: dict[str, Any], doc: Document, path: str) -> list[SiteError]:
    publish, expires = values.get("publish"), values.get("expires")
    if publish and expires and expires <= publish:
        return [SiteError(
            f"„expires“ ({expires.isoformat()}) liegt nicht nach „publish“ "
            f"({publish.isoformat()}): die Seite wäre nie in den Listen zu sehen.",
            Location(path, doc.meta.line("expires")),
            "„publish“ ist der erste Tag auf der Website, „expires“ der erste Tag danach.")]
    return []


def web_address(value: Any) -> str:
    """An https:// or http:// address."""
    raw = text(value)
    if not re.fullmatch(r"https?://[^\s/]+\.[^\s]*", raw):
        raise Invalid(f"„{shown(raw)}“ ist keine vollständige Webadresse",
                      "Schreiben Sie die Adresse mit https://, z. B. https://www.example.de/anmeldung")
    return raw


def email(value: Any) -> str:
    raw = text(value).removeprefix("mailto:")
    if not re.fullmatch(r"[^\s@<>\"]+@[^\s@<>\"]+\.[a-zA-Z]{2,}", raw):
        raise Invalid(f"„{shown(raw)}“ ist keine E-Mail-Adresse",
                      "Zum Beispiel: praevention@landkreis-rostock.de")
    return raw


def reference_errors(
    doc: Document, path: str, key: str, names: Sequence[str], known: Collection[str],
    what: str, hint: str,
) -> list[SiteError]:
    """An error for each of `names` (front matter `key`) that is not in `known`: `what` is the
    thing referred to ("Die Arbeitsgruppe"), `hint` how such references are written."""
    errors = []
    for index, name in enumerate(names):
        if name in known:
            continue
        close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
        suggestion = f"Meinten Sie „{close[0]}“? " if close else ""
        errors.append(SiteError(f"{what} „{shown(name)}“ gibt es nicht.",
                                Location(path, doc.meta.line(key, index)), suggestion + hint))
    return errors


def group_references(values: dict[str, Any], doc: Document, path: str, known: Known) -> list[SiteError]:
    """`groups:` of a press release, project or event: slugs of files in content/groups/."""
    return reference_errors(
        doc, path, "groups", values.get("groups", ()), known.groups, "Die Arbeitsgruppe",
        "Arbeitsgruppen werden mit dem Namen ihrer Datei in content/groups/ ohne „.md“ genannt"
        + ("." if known.groups else "; es gibt noch keine."))


def project_references(values: dict[str, Any], doc: Document, path: str, known: Known) -> list[SiteError]:
    """`projects:` of an event: slugs of files in content/projects/."""
    return reference_errors(
        doc, path, "projects", values.get("projects", ()), known.projects, "Das Projekt",
        "Projekte werden mit dem Namen ihrer Datei in content/projects/ ohne „.md“ genannt"
        + ("." if known.projects else "; es gibt noch keine."))
