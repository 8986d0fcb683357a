"""Every bad input: a German message at path:line, exit code 1, and the previous build untouched.

Each case starts from a site that built fine, breaks it, builds again and checks that the
message names the right place and that build/ is byte for byte what the good build wrote.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import REPO, SITE_YAML, press, tree_digest

from kpr_site.cli import main


@dataclass(frozen=True)
class Case:
    files: dict[str, str | bytes | None]
    where: str
    """The location the message must start with: "path:line" (or "path" for whole files)."""
    message: str
    hint: str = ""


def project(*lines: str) -> str:
    return "---\n" + "\n".join(lines) + "\n---\nText.\n"


def page(body: str) -> str:
    return f"---\ntitle: Seite\n---\n{body}\n"


P = "content/press/2017-02-10-neu.md"
J = "content/projects/klar.md"
G = "content/pages/seite.md"
M = "content/members.yaml"
S = "content/site.yaml"

CASES: dict[str, Case] = {
    # --- YAML that does not parse, with the YAML line
    "front matter: colon inside a value": Case(
        {P: "---\ntitle: Neu\ndate: 2017-02-10\nsummary: Ziel: mehr Sicherheit\n---\n"}, f"{P}:4",
        "Die YAML-Angaben sind fehlerhaft: ein Doppelpunkt steht, wo keiner stehen darf.",
        "Texte mit „:“ oder „#“ setzen Sie in Anführungszeichen."),
    "front matter: quote not closed": Case(
        {P: '---\ntitle: "Neu\ndate: 2017-02-10\n---\nText\n'}, f"{P}:2",
        "Die YAML-Angaben sind fehlerhaft: ein Anführungszeichen oder eine Klammer wird nicht geschlossen."),
    "front matter: bracket not closed": Case(
        {P: "---\ntitle: Neu\ndate: 2017-02-10\ntags: [Jugend\n---\n"}, f"{P}:4",
        "Die YAML-Angaben sind fehlerhaft: eine eckige Klammer „[“ wird nicht geschlossen."),
    "front matter: tab indentation": Case(
        {J: "---\ntitle: Klar\nstatus: laufend\nfunding:\n\tprogram: X\n---\n"}, f"{J}:5",
        "Die YAML-Angaben sind fehlerhaft: ein Tabulator oder Sonderzeichen steht am Zeilenanfang."),
    "front matter: a pasted control character": Case(
        {P: "---\ntitle: Neu\ndate: 2017-02-10\nsummary: Kurz\x1b[0m gesagt.\n---\n"}, f"{P}:4",
        "Die YAML-Angaben enthalten ein unsichtbares Steuerzeichen (U+001B).",
        "Löschen Sie die Zeile und tippen Sie sie neu."),
    "front matter: duplicate key": Case(
        {P: "---\ntitle: Neu\ndate: 2017-02-10\ntitle: Alt\n---\n"}, f"{P}:4",
        "Der Schlüssel „title“ steht doppelt (zuerst in Zeile 2)."),
    "front matter: not a mapping": Case(
        {P: "---\n- title\n- date\n---\n"}, f"{P}:2",
        "Die Kopfdaten müssen aus Angaben der Form „schlüssel: wert“ bestehen."),
    "front matter: missing": Case(
        {G: "# Seite\n\nText.\n"}, f"{G}:1",
        "Die Datei beginnt nicht mit Kopfdaten (Front Matter).", "Die erste Zeile muss „---“ sein"),
    "front matter: not closed": Case(
        {G: "---\ntitle: Seite\nText.\n"}, f"{G}:1",
        "Die Kopfdaten (Front Matter) werden nicht mit „---“ abgeschlossen."),
    "members.yaml: item indented wrongly": Case(
        {M: "members:\n  - name: Anja Kerl\n    sector: Verwaltung\n  - name: Marion Starck\n"
            "   sector: Verwaltung\n"}, f"{M}:5",
        "Die YAML-Angaben sind fehlerhaft: ein Listeneintrag ist falsch eingerückt."),
    "members.yaml: colon inside a value": Case(
        {M: "- name: Anja Kerl\n  role: Vorsitz: Rat\n  sector: Verwaltung\n"}, f"{M}:2",
        "Die YAML-Angaben sind fehlerhaft: ein Doppelpunkt steht, wo keiner stehen darf."),
    "site.yaml: indentation": Case(
        {S: SITE_YAML.replace("  role: Koordinatorin", " role: Koordinatorin")},
        f"{S}:{SITE_YAML.splitlines().index('  role: Koordinatorin') + 1}",
        "Die YAML-Angaben sind fehlerhaft:"),
    # --- title and date
    "title missing": Case(
        {P: "---\ndate: 2017-02-10\n---\nText\n"}, f"{P}:2", "Die Angabe „title“ fehlt.",
        "Ergänzen Sie eine Zeile „title: …“ in den Kopfdaten."),
    "title empty": Case(
        {P: "---\ntitle:\ndate: 2017-02-10\n---\n"}, f"{P}:2", "„title“ ist leer."),
    "title not a text": Case(
        {P: "---\ntitle: [Neu, Alt]\ndate: 2017-02-10\n---\n"}, f"{P}:2", "„title“: muss ein Text sein."),
    "date missing": Case(
        {P: "---\ntitle: Neu\n---\n"}, f"{P}:2", "Die Angabe „date“ fehlt."),
    "date does not exist": Case(
        {"content/press/2017-02-31-neu.md": press("2017-02-31")}, "content/press/2017-02-31-neu.md:3",
        "„date“: 2017-02-31 ist kein gültiges Kalenderdatum.", "höchstens 29 Tage"),
    "date in German notation": Case(
        {P: press("10.02.2017")}, f"{P}:3", "„date“: „10.02.2017“ ist kein Datum im Format JJJJ-MM-TT.",
        "Schreiben Sie das Datum z. B. als 2017-02-10."),
    "date differs from file name": Case(
        {P: press("2017-02-11")}, f"{P}:3",
        "Das Datum im Dateinamen (2017-02-10) passt nicht zum Datum in den Kopfdaten (2017-02-11)."),
    "press file name without date": Case(
        {"content/press/neu.md": press()}, "content/press/neu.md",
        "Der Dateiname einer Pressemitteilung muss mit dem Datum beginnen."),
    "project start date does not exist": Case(
        {J: project("title: Klar", "status: laufend", "start: 2017-13-01")}, f"{J}:4",
        "„start“: 2017-13-01 ist kein gültiges Kalenderdatum."),
    "project ends before it starts": Case(
        {J: project("title: Klar", "status: laufend", "start: 2018-01-01", "end: 2017-01-01")},
        f"{J}:5", "Das Projektende liegt vor dem Projektbeginn."),
    # --- unknown keys and values outside the allowed ones
    "unknown key with did-you-mean": Case(
        {P: "---\ntitel: Neu\ndate: 2017-02-10\n---\n"}, f"{P}:2", "Unbekannte Angabe „titel“.",
        "Meinten Sie „title“?"),
    "description instead of summary": Case(
        {P: press(description="Kurz gesagt.")}, f"{P}:4", "Unbekannte Angabe „description“.",
        "Meinten Sie „summary“?"),
    "tags in a project, where they are topics": Case(
        {J: project("title: Klar", "status: laufend", "tags: [Jugend]")}, f"{J}:4",
        "Unbekannte Angabe „tags“.", "Meinten Sie „topics“?"),
    "slug: the address comes from the file name": Case(
        {P: press(slug="anders")}, f"{P}:4", "Unbekannte Angabe „slug“.",
        "Die Adresse entsteht aus dem Dateinamen („2017-02-10-neu.md“ → …/neu/). Um sie zu "
        "ändern, benennen Sie die Datei um"),
    "url: a page's address comes from its file name": Case(
        {G: "---\ntitle: Seite\nurl: /anders/\n---\nText.\n"}, f"{G}:3", "Unbekannte Angabe „url“.",
        "(„seite.md“ → …/seite/)"),
    "unknown key in a nested mapping": Case(
        {J: project("title: Klar", "status: laufend", "funding:", "  program: X", "  betrag: 5")},
        f"{J}:6", "Unbekannte Angabe „betrag“.", "Erlaubt sind: program, amount_eur."),
    "unknown key in members.yaml": Case(
        {M: "- name: Anja Kerl\n  rolle: Vorsitzende\n  sector: Verwaltung\n"}, f"{M}:2",
        "Unbekannte Angabe „rolle“.", "Meinten Sie „role“?"),
    "unknown key in site.yaml": Case(
        {S: SITE_YAML + "titel: Doppelt\n"}, f"{S}:{SITE_YAML.count(chr(10)) + 1}",
        "Unbekannte Angabe „titel“.", "Meinten Sie „title“?"),
    "status outside allowed values": Case(
        {J: project("title: Klar", "status: laufen")}, f"{J}:3",
        "„status“: „laufen“ ist nicht erlaubt; erlaubt sind: geplant, laufend, abgeschlossen.",
        "Meinten Sie „laufend“?"),
    "status missing": Case(
        {J: project("title: Klar")}, f"{J}:2", "Die Angabe „status“ fehlt."),
    "sector outside allowed values": Case(
        {M: "- name: Anja Kerl\n  sector: Verwaltungen\n"}, f"{M}:2",
        "„sector“: „Verwaltungen“ ist nicht erlaubt; erlaubt sind: Polizei, Verwaltung, Verbände.",
        "Meinten Sie „Verwaltung“?"),
    "member without name": Case(
        {M: "- name: Anja Kerl\n  sector: Verwaltung\n- sector: Polizei\n"}, f"{M}:3",
        "Die Angabe „name“ fehlt."),
    "amount with a thousands dot": Case(
        {J: project("title: Klar", "status: laufend", "funding:", "  program: X", "  amount_eur: 15.000")},
        f"{J}:6", "„amount_eur“: „15.0“ ist keine ganze Zahl.", "ohne Punkt, Komma und Währungszeichen"),
    "draft not a boolean": Case(
        {P: press(draft="vielleicht")}, f"{P}:4", "„draft“: muss „true“ oder „false“ sein."),
    "tags not a list of texts": Case(
        {P: press(tags="[[a, b]]")}, f"{P}:4", "„tags“: muss eine Liste von Texten sein."),
    "base_url not a web address": Case(
        {S: SITE_YAML.replace("https://example.org/", "example.org")},
        f"{S}:{SITE_YAML.splitlines().index('base_url: https://example.org/') + 1}",
        "„base_url“: „example.org“ ist keine vollständige Webadresse."),
    "site.yaml missing": Case(
        {S: None}, S, "Die Einstellungsdatei content/site.yaml fehlt."),
    # --- encoding and empty files
    "file not UTF-8": Case(
        {P: b"---\ntitle: Neu\ndate: 2017-02-10\n---\nGr\xfc\xdfe aus Rostock\n"}, f"{P}:5",
        "Die Datei ist nicht in UTF-8 kodiert (ungültiges Zeichen).", "„UTF-8“"),
    "members.yaml not UTF-8": Case(
        {M: "- name: Anja Kerl\n  sector: Verwaltung\n".encode("latin-1") + b"- name: J\xfcrgen\n"},
        f"{M}:3", "Die Datei ist nicht in UTF-8 kodiert (ungültiges Zeichen)."),
    "empty file": Case({G: ""}, f"{G}:1", "Die Datei ist leer."),
    "file of blank lines": Case({G: b"\n \n\n"}, f"{G}:1", "Die Datei ist leer."),
    "empty members.yaml": Case({M: ""}, f"{M}:1", "Die Datei ist leer."),
    "file of only a byte order mark": Case({G: b"\xef\xbb\xbf\r\n"}, f"{G}:1", "Die Datei ist leer."),
    "UTF-16 file": Case({G: "---\ntitle: Seite\n---\n".encode("utf-16")}, f"{G}:1",
                        "Die Datei ist nicht in UTF-8 kodiert (ungültiges Zeichen)."),
    # --- a file takes the URL of a generated page (two files: see test_two_files_…)
    "page takes the URL of a generated page": Case(
        {"content/pages/presse.md": page("")}, "content/pages/presse.md",
        "Die Adresse /presse/ wird doppelt vergeben: auch von (Presseliste)."),
    # --- links
    "broken relative link": Case(
        {G: page("Erst lesen.\n\nDann [Förderung](foerdrung.md) beantragen.")}, f"{G}:6",
        "Der Link „foerdrung.md“ zeigt auf eine Datei, die es nicht gibt (content/pages/foerdrung.md).",
        "Prüfen Sie den Dateinamen und den relativen Pfad"),
    "link to a Markdown file that is no content": Case(
        {G: page("[Liesmich](../../notes.md)"), "notes.md": "# Notizen\n"}, f"{G}:4",
        "Der Link „../../notes.md“ zeigt auf eine Datei, die nicht veröffentlicht wird."),
    "link to a file outside the site": Case(
        {G: page("[x](../../../secret.md)")}, f"{G}:4",
        "Der Link „../../../secret.md“ zeigt aus dem Projektordner hinaus."),
    "broken image": Case(
        {G: page("![Logo](logo.png)")}, f"{G}:4",
        "Der Link „logo.png“ zeigt auf eine Datei, die es nicht gibt"),
    # --- raw HTML that would run script or load from another host
    "script element": Case(
        {G: page("Text.\n\n<script>alert(1)</script>")}, f"{G}:6",
        "Das HTML-Element <script> ist im Inhalt nicht erlaubt."),
    "script from another host": Case(
        {G: page('<script src="https://cdn.example/x.js"></script>')}, f"{G}:4",
        "Das HTML-Element <script> ist im Inhalt nicht erlaubt."),
    "event handler attribute": Case(
        {G: page('<p onclick="alert(1)">Klick</p>')}, f"{G}:4",
        "Das HTML-Attribut „onclick“ (Skript) ist im Inhalt nicht erlaubt."),
    "event handler in upper case": Case(
        {G: page('<div ONMOUSEOVER="alert(1)">x</div>')}, f"{G}:4",
        "Das HTML-Attribut „onmouseover“ (Skript) ist im Inhalt nicht erlaubt."),
    "javascript: URL in Markdown": Case(
        {G: page("[Klick](javascript:alert(1))")}, f"{G}:4",
        "Ein „javascript:“-Link ist im Inhalt nicht erlaubt."),
    "data: URL link": Case(
        {G: page("[Klick](data:text/html;base64,PHNjcmlwdD4=)")}, f"{G}:4",
        "Der Link „data:text/html;base64,PHNjcmlwdD4=“ verwendet das nicht erlaubte Schema „data:“.",
        "Erlaubt sind https://, http://, mailto: und tel: sowie Links auf Dateien und Seiten der Website."),
    "vbscript: URL": Case(
        {G: page('<a href="vbscript:msgbox(1)">x</a>')}, f"{G}:4",
        "Ein „vbscript:“-Link ist im Inhalt nicht erlaubt."),
    "javascript: URL in HTML": Case(
        {G: page('Text.\n\n<a href="JavaScript:alert(1)">Klick</a>')}, f"{G}:6",
        "Ein „javascript:“-Link ist im Inhalt nicht erlaubt."),
    "javascript: URL hidden by a tab": Case(
        {G: page('<a href="java&#9;script:alert(1)">Klick</a>')}, f"{G}:4",
        "Ein „javascript:“-Link ist im Inhalt nicht erlaubt."),
    "iframe": Case(
        {G: page('<iframe src="https://www.youtube.com/embed/x"></iframe>')}, f"{G}:4",
        "Das HTML-Element <iframe> ist im Inhalt nicht erlaubt."),
    "image from another host in HTML": Case(
        {G: page('Text.\n\n<img src="https://other.host/bild.jpg" alt="">')}, f"{G}:6",
        "<img> lädt Inhalte von außerhalb der Website (https://other.host/bild.jpg).",
        "Die Website darf keine fremden Server kontaktieren"),
    "image from another host in Markdown": Case(
        {G: page("![Bild](https://other.host/bild.jpg)")}, f"{G}:4",
        "<img> lädt Inhalte von außerhalb der Website (https://other.host/bild.jpg)."),
    "protocol-relative image": Case(
        {G: page('<img src="//other.host/bild.jpg" alt="">')}, f"{G}:4",
        "<img> lädt Inhalte von außerhalb der Website (//other.host/bild.jpg)."),
    "image from another host in srcset": Case(
        {G: page('<img src="a.jpg" srcset="a.jpg 1x, https://other.host/b.jpg 2x" alt="">')}, f"{G}:4",
        "<img> lädt Inhalte von außerhalb der Website"),
    "SVG image from another host": Case(
        {G: page('<svg><image href="https://other.host/b.png"/></svg>')}, f"{G}:4",
        "<image> lädt Inhalte von außerhalb der Website (https://other.host/b.png)."),
    "style with url()": Case(
        {G: page('<p style="background: url(https://other.host/b.png)">x</p>')}, f"{G}:4",
        "Ein style-Attribut mit url(…) ist im Inhalt nicht erlaubt."),
    "object element": Case(
        {G: page('<object data="https://other.host/x.swf"></object>')}, f"{G}:4",
        "Das HTML-Element <object> ist im Inhalt nicht erlaubt."),
    "form element": Case(
        {G: page('<form action="https://other.host/"><button>Senden</button></form>')}, f"{G}:4",
        "Das HTML-Element <form> ist im Inhalt nicht erlaubt."),
    "script in site.yaml intro": Case(
        {S: SITE_YAML.replace("intro: Willkommen beim **Testrat**.", "intro: Hallo <script>x()</script>")},
        f"{S}:{SITE_YAML.splitlines().index('intro: Willkommen beim **Testrat**.') + 1}",
        "Das HTML-Element <script> ist im Inhalt nicht erlaubt."),
}


@pytest.fixture(scope="module")
def _built_good_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("good") / "site"
    shutil.copytree(REPO / "templates", root / "templates")
    for name, text in {
        S: SITE_YAML,
        P: press(title="Neu", tags="[Jugend]"),
        J: project("title: Klar", "status: laufend"),
        G: page("Text."),
        M: "- name: Anja Kerl\n  role: Vorsitzende\n  sector: Verwaltung\n",
    }.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    assert main(["build", "--source", str(root), "--out", str(root / "build")]) == 0
    return root


@pytest.fixture
def good_site(_built_good_site: Path, tmp_path: Path,
              capsys: pytest.CaptureFixture[str]) -> tuple[Path, dict[str, str]]:
    """A site that built fine (a copy of one built once per module), and the digest of build/."""
    capsys.readouterr()
    root = tmp_path / "site"
    shutil.copytree(_built_good_site, root, symlinks=True)
    return root, tree_digest(root / "build")


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_bad_input_is_reported_at_its_place_and_build_stays(good_site, make_site, build, case):
    root, before = good_site
    make_site(case.files, root)
    code, out, err = build(root)
    assert code == 1, err
    assert out == ""
    assert f"\n{case.where}: {case.message}" in f"\n{err}", err
    if case.hint:
        block = err.split(f"{case.where}: {case.message}", 1)[1].split("\n\n")[0]
        assert case.hint in block.split("\n")[1], err
    assert "Der Build ist fehlgeschlagen" in err
    assert tree_digest(root / "build") == before


@pytest.mark.parametrize(("files", "url"), [
    ({"content/projects/ueber.md": project("title: A", "status: laufend"),
      "content/projects/Über.md": project("title: B", "status: laufend")}, "/projekte/ueber/"),
    ({"content/press/2017-05-01-neu.md": press("2017-05-01")}, "/presse/2017/neu/"),
    ({"content/pages/klar.md": page(""), "content/pages/Klar.md": page("")}, "/klar/"),
], ids=["umlaut and transliteration", "same slug in one year", "upper and lower case"])
def test_two_files_mapping_to_one_url_are_both_named(good_site, make_site, build, files, url):
    root, before = good_site
    make_site(files, root)
    code, _, err = build(root)
    assert code == 1
    (line,) = [line for line in err.splitlines() if "wird doppelt vergeben" in line]
    assert f": Die Adresse {url} wird doppelt vergeben: auch von " in line
    names = {name for name in (*files, P, J, G) if name in line}
    assert len(names) == 2, line
    assert line.startswith(tuple(names)), line
    assert "Benennen Sie eine der Dateien um" in err
    assert tree_digest(root / "build") == before


def template_with(root: Path, name: str, old: str, new: str) -> int:
    """Replace `old` in a template; return the line of the change."""
    path = root / "templates" / name
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return text[: text.index(old)].count("\n") + 1


def test_undefined_variable_in_template_names_template_and_line(good_site, build):
    root, before = good_site
    line = template_with(root, "page.html", "{{ title }}", "{{ titel }}")
    code, _, err = build(root)
    assert code == 1
    assert (f"templates/page.html:{line}: Fehler in der Vorlage beim Erzeugen von /seite/: "
            "die Variable „titel“ ist nicht definiert.") in err
    assert "docs/templates.md" in err
    assert err.count("„titel“ ist nicht definiert") == 1  # once, not once per page
    assert tree_digest(root / "build") == before


def test_undefined_field_in_base_template_is_reported_once(good_site, build):
    root, before = good_site
    line = template_with(root, "base.html", "{{ site.title }}", "{{ site.titel }}")
    code, _, err = build(root)
    assert code == 1
    assert f"templates/base.html:{line}: Fehler in der Vorlage" in err
    assert "hat kein Feld „titel“" in err
    assert "1 Fehler." in err
    assert tree_digest(root / "build") == before


def test_template_syntax_error_names_template_and_line(good_site, build):
    root, before = good_site
    line = template_with(root, "page.html", "{{ title }}", "{{ title }")
    code, _, err = build(root)
    assert code == 1
    assert f"templates/page.html:{line}: Syntaxfehler in der Vorlage" in err
    assert tree_digest(root / "build") == before


def test_missing_template_is_named(good_site, make_site, build):
    root, before = good_site
    make_site({"templates/topic.html": None}, root)
    code, _, err = build(root)
    assert code == 1
    assert "templates/topic.html: Die Vorlage „topic.html“ fehlt" in err
    assert tree_digest(root / "build") == before


def test_all_errors_are_collected_and_reported_at_once(good_site, make_site, build):
    root, before = good_site
    make_site({
        P: "---\ntitle: Neu\ndate: 2017-02-31\n---\n",
        J: project("title: Klar", "status: laufen"),
        G: page("[x](fehlt.md)"),
        M: "- name: Anja Kerl\n  sector: Polizist\n",
        S: SITE_YAML.replace("title: Testrat", "titel: Testrat"),
    }, root)
    code, _, err = build(root)
    assert code == 1
    for where in (f"{P}:3:", f"{J}:3:", f"{M}:2:", f"{S}:1:", f"{S}:1: Die Angabe „title“ fehlt."):
        assert where in err, where
    assert int(re.search(r"fehlgeschlagen: (\d+) Fehler", err)[1]) >= 5
    # sorted by place, so an editor can work through them top to bottom
    places = [line.split(": ", 1)[0] for line in err.splitlines() if line.startswith("content/")]
    assert places == sorted(places, key=lambda p: (p.rsplit(":", 1)[0], int(p.rsplit(":", 1)[1])))
    assert tree_digest(root / "build") == before


def test_two_broken_files_are_both_reported(good_site, make_site, build):
    root, before = good_site
    make_site({
        "content/pages/a.md": "---\ntitle: [A\n---\n",
        "content/pages/b.md": b"---\ntitle: B\xe4\n---\n",
    }, root)
    code, _, err = build(root)
    assert code == 1
    assert "content/pages/a.md:2: Die YAML-Angaben sind fehlerhaft" in err
    assert "content/pages/b.md:2: Die Datei ist nicht in UTF-8 kodiert" in err
    assert "2 Fehler" in err
    assert tree_digest(root / "build") == before


def test_link_errors_are_reported_together_with_load_errors(good_site, make_site, build):
    root, _ = good_site
    make_site({"content/pages/a.md": "---\ntitle: A\nfoo: 1\n---\n",
               "content/pages/b.md": page("[x](fehlt.md)")}, root)
    code, _, err = build(root)
    assert code == 1
    assert "content/pages/a.md:3: Unbekannte Angabe „foo“." in err
    assert "content/pages/b.md:4: Der Link „fehlt.md“" in err


def test_error_output_is_plain_german_without_traceback(good_site, make_site, build):
    root, _ = good_site
    make_site({P: press("2017-02-30")}, root)
    _, _, err = build(root)
    assert "Traceback" not in err
    assert "Error" not in err
    assert err.rstrip().endswith("Die bisherige Ausgabe bleibt unverändert.")
