"""The council's own content types: events, working groups, funding programmes, documents —
their pages, their cross-links, and every bad input with its German message and place."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import MakeSite, press, read_page, tree_digest

TODAY = "2024-05-15"
MEMBERS = """\
members:
  - name: Anja Kerl
    sector: Verwaltung
    function: Dezernentin
  - name: Marion Starck
    sector: Verwaltung
"""
GROUP = """\
---
title: AG Jugend
status: aktiv
summary: Jugendschutz im Landkreis.
topics: [Jugend]
goal: Ein Handlungskonzept.
start: 2024-01-01
lead: Anja Kerl
members: [Marion Starck]
---
Die AG tagt monatlich.
"""
PROJECT = """\
---
title: Sicher unterwegs
status: laufend
topics: [Jugend]
groups: [jugend]
---
Text.
"""
EVENT = """\
---
title: Fachtag Jugend
start: 2024-06-03T18:00
end: 2024-06-03T20:30
summary: Ein Abend zum Jugendschutz.
place:
  name: Kreishaus Güstrow
  address: Am Wall 3–5, 18273 Güstrow
organiser: Büro für Chancengleichheit
registration:
  email: anmeldung@example.org
  deadline: 2024-05-31
accessibility: Der Saal ist stufenlos erreichbar.
topics: [Jugend]
groups: [jugend]
projects: [sicher-unterwegs]
---
Programm folgt.
"""
FUNDING = """\
---
title: Kleinprojekte
funder: Land Mecklenburg-Vorpommern
max_amount_eur: 15000
applicants: Vereine und Initiativen
documents: [richtlinie.pdf]
topics: [Jugend]
calls:
  - title: Aufruf Frühjahr
    deadline: 2024-03-31
  - title: Aufruf Sommer
    deadline: 2024-06-30
---
Förderung für kleine Vorhaben.
"""
DOCUMENTS = """\
- title: Richtlinie Kleinprojekte
  file: richtlinie.pdf
  accessible: false
- title: Antragsformular des Bundes
  url: https://www.example.org/antrag.pdf
  format: PDF
  language: en
- title: Merkblatt
  url: "[Vom Landkreis zu bestätigen: Adresse des Merkblatts]"
"""


Files = dict[str, str | bytes | None]


def council_site(make_site: MakeSite, extra: Files | None = None) -> Path:
    """A site with one of each type, all linked to each other, plus `extra` files."""
    files: dict[str, str | bytes | None] = {
        "content/members.yaml": MEMBERS,
        "content/groups/jugend.md": GROUP,
        "content/projects/sicher-unterwegs.md": PROJECT,
        "content/events/2024-06-03-fachtag-jugend.md": EVENT,
        "content/funding/kleinprojekte.md": FUNDING,
        "content/documents.yaml": DOCUMENTS,
        "content/documents/richtlinie.pdf": b"%PDF-1.4\n" + b"x" * 244_990,
        "content/press/2024-05-02-ag-gegruendet.md": press(
            "2024-05-02", "AG gegründet", "Siehe [Richtlinie](../documents/richtlinie.pdf).",
            groups="[jugend]", tags="[Jugend]"),
    }
    return make_site({**files, **(extra or {})})


def built(make_site: MakeSite, build, extra: Files | None = None) -> Path:  # type: ignore[no-untyped-def]
    root = council_site(make_site, extra)
    code, _, err = build(root, "--today", TODAY)
    assert code == 0, err
    return root / "build"


def main_h2(page) -> list[str]:  # type: ignore[no-untyped-def]
    """The h2 headings of the page's content (the footer's „Kontakt“ left out)."""
    return page.text("h2")[:-1]


# --- events ---------------------------------------------------------------------------------


def test_event_page_shows_time_place_registration_and_links_group_and_project(make_site, build) -> None:
    out = built(make_site, build)
    page = read_page(out, "/termine/2024/fachtag-jugend/")
    facts = dict(zip(page.text("dt"), page.text("dd"), strict=True))
    assert facts["Wann"] == "3. Juni 2024, 18:00\u00a0Uhr bis 20:30\u00a0Uhr"
    assert facts["Ort"].startswith("Kreishaus Güstrow")
    assert facts["Ort"].endswith("Am Wall 3–5, 18273 Güstrow")
    assert "Anmeldeschluss: 31. Mai 2024" in facts["Anmeldung"]
    assert facts["Barrierefreiheit"] == "Der Saal ist stufenlos erreichbar."
    assert ("AG Jugend", "/arbeitsgruppen/jugend/") in page.links()
    assert ("Sicher unterwegs", "/projekte/sicher-unterwegs/") in page.links()
    assert "/termine/2024/fachtag-jugend/termin.ics" in page.hrefs()
    assert (out / "termine/2024/fachtag-jugend/termin.ics").is_file()


def test_event_list_shows_upcoming_first_then_past_by_year(make_site, build) -> None:
    out = built(make_site, build, {
        "content/events/2023-09-01-herbstforum.md": "---\ntitle: Herbstforum\nstart: 2023-09-01\n---\n",
        "content/events/2024-05-01-maiforum.md": "---\ntitle: Maiforum\nstart: 2024-05-01\n---\n",
        "content/events/jahresforum.md": "---\ntitle: Jahresforum\nschedule: einmal im Jahr\n---\n"})
    page = read_page(out, "/termine/")
    assert main_h2(page) == ["Kommende Termine", "Termin noch nicht festgelegt",
                               "Termine im eigenen Kalender", "Vergangene Termine"]
    assert page.text("h3") == ["Fachtag Jugend", "Jahresforum", "2024", "2023"]
    assert page.text("h4") == ["Maiforum", "Herbstforum"]
    assert read_page(out, "/termine/jahresforum/").text("dd")[0] == "einmal im Jahr"
    assert not (out / "termine/jahresforum/termin.ics").exists()


def test_registration_closes_after_its_deadline(make_site, build) -> None:
    root = council_site(make_site)
    assert build(root, "--today", "2024-06-01")[0] == 0
    facts = dict(zip(*(read_page(root / "build", "/termine/2024/fachtag-jugend/").text(t)
                       for t in ("dt", "dd")), strict=True))
    assert facts["Anmeldung"] == "Die Anmeldefrist ist abgelaufen (31. Mai 2024)."


def test_home_page_shows_next_events_and_open_calls_with_deadline(make_site, build) -> None:
    out = built(make_site, build)
    home = read_page(out, "/")
    assert "Fachtag Jugend" in home.text("h3")
    calls = " ".join(home.text("ul", class_="calls"))
    assert "Aufruf Sommer" in calls and "30. Juni 2024" in calls
    assert "Aufruf Frühjahr" not in calls


@pytest.mark.parametrize(("name", "front", "line", "message"), [
    ("2024-06-03-x.md", "start: 2024-06-03T18:00\nend: 2024-06-03T17:00", 4,
     "Das Ende liegt vor dem Beginn."),
    ("2024-06-03-x.md", "start: 2024-06-03\nend: 2024-06-02", 4, "Das Ende liegt vor dem Beginn."),
    ("2024-06-03-x.md", "start: 2024-06-03\nend: 2024-06-03T17:00", 4,
     "„start“ und „end“ müssen beide eine Uhrzeit haben oder beide keine."),
    ("2024-06-03-x.md", "start: 2024-06-04", 3,
     "Das Datum im Dateinamen (2024-06-03) passt nicht zum Beginn in den Kopfdaten (2024-06-04)."),
    ("2024-06-03-x.md", "start: 03.06.2024", 3, "„start“: „03.06.2024“ ist kein Datum im Format JJJJ-MM-TT."),
    ("2024-06-03-x.md", "start: 2024-06-03T25:00", 3,
     "„start“: „2024-06-03T25:00“ enthält keine gültige Uhrzeit."),
    ("x.md", "start: 2024-06-03", None, "Der Dateiname eines Termins mit Datum muss mit dem Datum beginnen."),
    ("2024-06-03-x.md", "schedule: bald", 2, "Die Angabe „start“ fehlt."),
    ("2024-06-03-x.md", "start: 2024-06-03\ngroups: [jugnd]", 4, "Die Arbeitsgruppe „jugnd“ gibt es nicht."),
    ("2024-06-03-x.md", "start: 2024-06-03\nprojects: [sicher, sicher-unterwegs]", 4,
     "Das Projekt „sicher“ gibt es nicht."),
    ("2024-06-03-x.md", "start: 2024-06-03\nregistration:\n  deadline: 2024-06-01", 4,
     "Bei „registration“ fehlt, wie man sich anmeldet."),
    ("2024-06-03-x.md", "start: 2024-06-03\nregistration:\n  email: a@b.de\n  deadline: 2024-06-04", 6,
     "Der Anmeldeschluss liegt nach dem Beginn des Termins."),
    ("2024-06-03-x.md", "start: 2024-06-03\nregistration:\n  url: www.example.org", 5,
     "„url“: „www.example.org“ ist keine vollständige Webadresse."),
    ("2024-06-03-x.md", "start: 2024-06-03\nplace: Kreishaus", 4,
     "„place“: muss eine Zuordnung mit Unterpunkten sein."),
])
def test_bad_event_is_refused_with_message_and_line(make_site, build, name, front, line, message) -> None:
    root = council_site(make_site)
    assert build(root, "--today", TODAY)[0] == 0
    before = tree_digest(root / "build")
    path = f"content/events/{name}"
    make_site({path: f"---\ntitle: X\n{front}\n---\nText.\n"}, root)
    code, _, err = build(root, "--today", TODAY)
    assert code == 1
    assert f"{path}{f':{line}' if line else ''}: {message}" in err, err
    assert tree_digest(root / "build") == before


def test_unknown_group_reference_suggests_the_close_one(make_site, build) -> None:
    root = council_site(make_site, {"content/press/2024-05-03-x.md": press("2024-05-03", groups="[jugnd]")})
    code, _, err = build(root, "--today", TODAY)
    assert code == 1
    assert ("content/press/2024-05-03-x.md:4: Die Arbeitsgruppe „jugnd“ gibt es nicht.\n"
            "  → Meinten Sie „jugend“? Arbeitsgruppen werden mit dem Namen ihrer Datei in "
            "content/groups/ ohne „.md“ genannt.") in err


# --- working groups -------------------------------------------------------------------------


def test_group_page_lists_its_projects_events_and_press_releases(make_site, build) -> None:
    out = built(make_site, build)
    page = read_page(out, "/arbeitsgruppen/jugend/")
    facts = dict(zip(page.text("dt"), page.text("dd"), strict=True))
    assert facts["Status"] == "Aktiv"
    assert facts["Leitung"] == "Anja Kerl, Dezernentin"
    assert facts["Mitglieder"] == "Marion Starck"
    assert facts["Ziel"] == "Ein Handlungskonzept."
    assert main_h2(page) == ["Projekte der Arbeitsgruppe", "Termine der Arbeitsgruppe",
                               "Pressemitteilungen zur Arbeitsgruppe"]
    assert page.text("h3") == ["Sicher unterwegs", "Fachtag Jugend", "AG gegründet"]
    assert ("AG Jugend", "/arbeitsgruppen/jugend/") in read_page(out, "/presse/2024/ag-gegruendet/").links()
    assert ("AG Jugend", "/arbeitsgruppen/jugend/") in read_page(out, "/projekte/sicher-unterwegs/").links()
    assert main_h2(read_page(out, "/arbeitsgruppen/")) == ["Aktive Arbeitsgruppen"]


@pytest.mark.parametrize(("front", "line", "message", "hint"), [
    ("status: laufend", 3, "„status“: „laufend“ ist nicht erlaubt; erlaubt sind: geplant, aktiv, "
     "abgeschlossen.", None),
    ("status: aktiv\nlead: Anja Kehrl", 4, "Die Person „Anja Kehrl“ gibt es nicht.",
     "Meinten Sie „Anja Kerl“?"),
    ("status: aktiv\nmembers: [Marion Starck, Max Mustermann]", 4,
     "Die Person „Max Mustermann“ gibt es nicht.", "Personen werden mit ihrem Namen genannt"),
    ("status: aktiv\nstart: 2024-05-01\nend: 2024-04-01", 5,
     "Das Ende der Arbeitsgruppe liegt vor ihrem Beginn.", None),
    ("status: aktiv\npublish: 2024-05-01\nexpires: 2024-05-01", 5,
     "„expires“ (2024-05-01) liegt nicht nach „publish“ (2024-05-01)", None),
])
def test_bad_group_is_refused_with_message_and_line(make_site, build, front, line, message, hint) -> None:
    root = council_site(make_site, {"content/groups/neu.md": f"---\ntitle: Neu\n{front}\n---\n"})
    code, _, err = build(root, "--today", TODAY)
    assert code == 1
    assert f"content/groups/neu.md:{line}: {message}" in err, err
    assert hint is None or hint in err


# --- funding --------------------------------------------------------------------------------


def test_call_moves_to_expired_after_its_deadline(make_site, build) -> None:
    root = council_site(make_site)
    assert build(root, "--today", "2024-06-30")[0] == 0
    page = read_page(root / "build", "/foerderung/")
    assert main_h2(page) == ["Offene Aufrufe", "Förderprogramme", "Abgelaufene Aufrufe"]
    assert [t for t in page.text("strong")] == ["Aufruf Sommer", "Aufruf Frühjahr"]
    assert build(root, "--today", "2024-07-01")[0] == 0
    page = read_page(root / "build", "/foerderung/")
    assert page.text("p", class_="empty") == ["Zurzeit ist kein Aufruf mit Antragsfrist bekannt."]
    assert page.text("strong") == ["Aufruf Sommer", "Aufruf Frühjahr"]  # latest first
    assert "Offene Förderaufrufe" not in read_page(root / "build", "/").text("h2")


def test_funding_page_shows_amount_in_german_format_and_its_documents(make_site, build) -> None:
    out = built(make_site, build)
    page = read_page(out, "/foerderung/kleinprojekte/")
    facts = dict(zip(page.text("dt"), page.text("dd"), strict=True))
    assert facts["Förderung bis zu"] == "15.000\u00a0€"
    assert facts["Fördergeber"] == "Land Mecklenburg-Vorpommern"
    assert ("Richtlinie Kleinprojekte (PDF, 245 kB)", "/dokumente/richtlinie.pdf") in page.links()


def test_funding_list_takes_its_introduction_from_content_funding_md(make_site, build) -> None:
    out = built(make_site, build, {"content/funding.md": (
        "---\ntitle: Förderung\nsummary: Geld für Prävention.\n---\nBis zu **1.000 €** für "
        "[kleine Vorhaben](funding/kleinprojekte.md).\n")})
    page = read_page(out, "/foerderung/")
    assert page.text("h1") == ["Förderung"]
    assert page.meta("description") == "Geld für Prävention."
    assert ("kleine Vorhaben", "/foerderung/kleinprojekte/") in page.links()


@pytest.mark.parametrize(("front", "line", "message"), [
    ("calls:\n  - title: A\n    deadline: 31.03.2024", 6,
     "„deadline“: „31.03.2024“ ist kein Datum im Format JJJJ-MM-TT."),
    ("calls:\n  - title: A\n    deadline: 2024-02-30", 6,
     "„deadline“: 2024-02-30 ist kein gültiges Kalenderdatum."),
    ("calls:\n  - title: A", 5, "Die Angabe „deadline“ fehlt."),
    ("calls:\n  - title: A\n    deadline: 2024-01-01\n  - title: A\n    deadline: 2024-02-01", 7,
     "Den Aufruf „A“ gibt es zweimal."),
    ("max_amount_eur: 15.000 €", 4, "„max_amount_eur“: „15.000 €“ ist keine ganze Zahl."),
    ("documents: [richtlinie.pfd]", 4, "Das Dokument „richtlinie.pfd“ gibt es nicht."),
])
def test_bad_funding_programme_is_refused_with_message_and_line(  # type: ignore[no-untyped-def]
    make_site, build, front, line, message,
) -> None:
    programme = f"---\ntitle: Neu\nfunder: Bund\n{front}\n---\n"
    root = council_site(make_site, {"content/funding/neu.md": programme})
    code, _, err = build(root, "--today", TODAY)
    assert code == 1
    assert f"content/funding/neu.md:{line}: {message}" in err, err


def test_amount_may_be_a_placeholder_until_it_is_confirmed(make_site, build) -> None:
    out = built(make_site, build, {"content/funding/bund.md": (
        "---\ntitle: Bundesprogramm\nfunder: Bund\n"
        "max_amount_eur: \"[Vom Landkreis zu bestätigen: Förderhöchstbetrag]\"\n---\n")})
    facts = dict(zip(*(read_page(out, "/foerderung/bund/").text(t) for t in ("dt", "dd")), strict=True))
    assert facts["Förderung bis zu"] == "[Vom Landkreis zu bestätigen: Förderhöchstbetrag]"


# --- documents ------------------------------------------------------------------------------


def test_every_link_to_a_document_shows_format_and_size(make_site, build) -> None:
    out = built(make_site, build, {"content/pages/info.md": (
        "---\ntitle: Info\n---\n[Die Richtlinie](../documents/richtlinie.pdf) und "
        "[noch einmal](/dokumente/richtlinie.pdf#page=2).\n")})
    assert [link for link in read_page(out, "/info/").links() if "dokumente" in link[1]] == [
        ("Die Richtlinie (PDF, 245 kB)", "/dokumente/richtlinie.pdf"),
        ("noch einmal (PDF, 245 kB)", "/dokumente/richtlinie.pdf#page=2")]
    assert ("Richtlinie (PDF, 245 kB)", "/dokumente/richtlinie.pdf") in read_page(
        out, "/presse/2024/ag-gegruendet/").links()
    assert (out / "dokumente/richtlinie.pdf").read_bytes().startswith(b"%PDF-1.4")


def test_document_list_names_language_accessibility_and_external_addresses(make_site, build) -> None:
    out = built(make_site, build)
    page = read_page(out, "/dokumente/")
    assert ("Antragsformular des Bundes (PDF, externer Link)",
            "https://www.example.org/antrag.pdf") in page.links()
    text = " ".join(page.text("li"))
    assert "Sprache: Englisch" in text
    assert "Die Datei ist nicht barrierefrei." in text
    assert "Merkblatt: [Vom Landkreis zu bestätigen: Adresse des Merkblatts]" in text


@pytest.mark.parametrize(("extra", "where", "message"), [
    ({"content/documents/formular.odt": b"odt"}, "content/documents/formular.odt",
     "Diese Datei ist in content/documents.yaml nicht beschrieben."),
    ({"content/documents.yaml": DOCUMENTS + "- title: Fehlt\n  file: fehlt.pdf\n  accessible: true\n"},
     "content/documents.yaml:10", "Die Datei „fehlt.pdf“ gibt es nicht in content/documents/."),
    ({"content/documents.yaml": DOCUMENTS + "- title: Ohne\n  file: richtlinie.pdf\n  accessible: true\n"},
     "content/documents.yaml:10", "„richtlinie.pdf“ ist in content/documents.yaml zweimal eingetragen."),
    ({"content/documents.yaml": DOCUMENTS.replace("  accessible: false\n", "")},
     "content/documents.yaml:1", "Bei „richtlinie.pdf“ fehlt „accessible: true“ oder „accessible: false“."),
    ({"content/documents.yaml": DOCUMENTS + "- title: Beides\n  url: https://a.de/x.pdf\n  file: y.pdf\n"},
     "content/documents.yaml:10", "Ein Dokument braucht entweder „file“"),
    ({"content/documents.yaml": DOCUMENTS + (
        "- title: Umlaut\n  file: Übersicht 2024.pdf\n  accessible: true\n"),
      "content/documents/Übersicht 2024.pdf": b"%PDF"},
     "content/documents.yaml:10", "Der Dateiname „Übersicht 2024.pdf“ eignet sich nicht als Adresse."),
    ({"content/documents.yaml": DOCUMENTS + "- title: Bild\n  file: plan.exe\n  accessible: true\n",
      "content/documents/plan.exe": b"MZ"},
     "content/documents.yaml:10", "Dateien vom Typ „.exe“ veröffentlicht die Website nicht."),
    ({"content/pages/info.md": "---\ntitle: Info\n---\n[Alt](/dokumente/alt.pdf)\n"},
     "content/pages/info.md:4", "Das Dokument „/dokumente/alt.pdf“ gibt es nicht."),
    ({"content/pages/info.md": "---\ntitle: Info\n---\n![Bild](../documents/richtlinie.pdf)\n"},
     "content/pages/info.md:4", "„../documents/richtlinie.pdf“ ist ein Dokument, kein Bild."),
])
def test_bad_document_is_refused_with_message_and_place(make_site, build, extra, where, message) -> None:
    root = council_site(make_site)
    assert build(root, "--today", TODAY)[0] == 0
    before = tree_digest(root / "build")
    make_site(extra, root)
    code, _, err = build(root, "--today", TODAY)
    assert code == 1
    assert f"{where}: {message}" in err, err
    assert tree_digest(root / "build") == before


def test_a_2_gb_document_is_refused_without_being_read(make_site, build, monkeypatch) -> None:
    root = council_site(make_site)
    assert build(root, "--today", TODAY)[0] == 0
    before = tree_digest(root / "build")
    big = root / "content/documents/richtlinie.pdf"
    with big.open("r+b") as handle:  # sparse: no disk space, but 2 GB to anyone who reads it
        handle.truncate(2_000_000_000)
    real_open = open

    def guarded_open(file, *args, **kwargs):  # type: ignore[no-untyped-def]
        assert os.fspath(file) != os.fspath(big), "the 2 GB file was opened"
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", guarded_open)
    real_read = Path.read_bytes

    def guarded_read(self: Path) -> bytes:
        assert self != big, "the 2 GB file was read"
        return real_read(self)

    monkeypatch.setattr(Path, "read_bytes", guarded_read)
    code, _, err = build(root, "--today", TODAY)
    assert code == 1
    assert ("content/documents/richtlinie.pdf: Die Datei ist zu groß (2,0\u00a0GB; höchstens "
            "50,0\u00a0MB).") in err
    monkeypatch.undo()
    assert tree_digest(root / "build") == before


# --- topics ---------------------------------------------------------------------------------


def test_topic_page_lists_every_type_in_its_own_section_with_counts(make_site, build) -> None:
    out = built(make_site, build)
    page = read_page(out, "/themen/jugend/")
    assert main_h2(page) == ["Pressemitteilungen (1)", "Projekte (1)", "Termine (1)",
                               "Arbeitsgruppen (1)", "Förderprogramme (1)"]
    assert "Jugend (1 Pressemitteilung, 1 Projekt, 1 Termin, 1 Arbeitsgruppe, 1 Förderprogramm)" in (
        read_page(out, "/themen/").text("li"))
    # The press list counts press releases only.
    assert read_page(out, "/presse/").text("a", href="/themen/jugend/") == ["Jugend"]
    assert "(1 Eintrag)" in " ".join(read_page(out, "/presse/").text("li"))


# --- check ----------------------------------------------------------------------------------


def test_check_reports_every_reference_error_and_drafts_of_the_new_types(
    make_site: MakeSite, capsys: pytest.CaptureFixture[str]
) -> None:
    from kpr_site.cli import main

    root = council_site(make_site, {
        "content/events/2024-07-01-sommerfest.md": (
            "---\ntitle: Sommerfest\nstart: 2024-07-01\ngroups: [jugnd]\n---\n"),
        "content/groups/neu.md": "---\ntitle: Neu\nstatus: geplant\ndraft: true\n---\n",
        "content/documents/alt/richtlinie-2019.pdf": b"%PDF",
    })
    assert main(["check", "--source", str(root), "--today", TODAY]) == 1
    out = capsys.readouterr().out
    assert ("content/events/2024-07-01-sommerfest.md:4: Die Arbeitsgruppe „jugnd“ gibt es nicht.\n"
            "  → Meinten Sie „jugend“?") in out
    assert "content/groups/neu.md:4: Warnung: Entwurf – wird nicht veröffentlicht." in out
    assert "content/documents/alt/richtlinie-2019.pdf: Warnung: Diese Datei wird nicht verwendet" in out
    assert "Dokumente gehören direkt in content/documents/ (ohne Unterordner)" in out
