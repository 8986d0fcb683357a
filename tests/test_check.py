"""`kpr-site check`: every problem at once, with its place; exit codes; nothing published."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest
from conftest import MakeSite, press
from PIL import Image

from kpr_site.check import check_site, format_findings, summary
from kpr_site.cli import main
from kpr_site.errors import Location, SiteError
from kpr_site.options import BuildOptions

KONTAKT = """\
---
title: Kontakt
---
So erreichen Sie uns.

## Erreichbarkeit

Montag bis Freitag.
"""

NEUSTART_BODY = """\
Erster Absatz.

Siehe [Erreichbarkeit](../pages/kontakt.md#erreichbarkeit), [zum Inhalt](#inhalt)
und [Abschnitt](#abschnitt).

## Abschnitt {#abschnitt}

Ein [falscher Anker](../pages/kontakt.md#oeffnungszeiten).

Ein [fehlender Anker](#nirgends) auf dieser Seite.

Eine [Adresse ohne Seite](/gibt-es-nicht/).

![](/static/logo.svg)

![Foto](../../gallery/fehlt.jpg)

[Alte Seite](../pages/alt.md)"""


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), "teal").save(buffer, format="JPEG")
    return buffer.getvalue()


PROBLEMS: dict[str, str | bytes] = {
    "content/pages/kontakt.md": KONTAKT,
    "content/press/2017-02-10-neustart.md": press(body=NEUSTART_BODY),
    "content/press/2017-03-01-kaputt.md": "---\ntitle: Kaputt\ndate: 2017-02-31\n---\nText.\n",
    "content/pages/yaml.md": "---\ntitle: [nicht geschlossen\n---\nText.\n",
    "content/pages/presse.md": "---\ntitle: Presse\n---\nDoppelte Adresse.\n",
    "content/pages/entwurf.md": "---\ntitle: Entwurf\nsummary: Noch nicht fertig.\ndraft: true\n---\nText.\n",
    "content/press/2999-01-01-zukunft.md": press(date="2999-01-01", title="Zukunft"),
    "gallery/fest/eins.jpg": _jpeg(),
    "gallery/fest/album.yaml": "title: Fest\ndate: 2017-06-01\nphotos:\n  - file: eins.jpg\n    alt: \"\"\n",
}

# (path, line, start of the message, severity) — one of each kind of problem.
EXPECTED = [
    ("content/pages/entwurf.md", 4, "Entwurf – wird nicht veröffentlicht.", "warning"),
    ("content/pages/presse.md", None, "Die Adresse /presse/ wird doppelt vergeben", "error"),
    ("content/pages/yaml.md", 2, "Die YAML-Angaben sind fehlerhaft", "error"),
    ("content/press/2017-02-10-neustart.md", 12, "Den Anker „#oeffnungszeiten“ gibt es nicht auf "
     "der Seite /kontakt/.", "error"),
    ("content/press/2017-02-10-neustart.md", 14, "Den Anker „#nirgends“ gibt es nicht auf dieser "
     "Seite.", "error"),
    ("content/press/2017-02-10-neustart.md", 16, "Der Link „/gibt-es-nicht/“ zeigt auf eine Seite, "
     "die es nicht gibt.", "error"),
    ("content/press/2017-02-10-neustart.md", 18, "Ein Bild hat keinen Alternativtext.", "warning"),
    ("content/press/2017-02-10-neustart.md", 20, "Der Link „../../gallery/fehlt.jpg“ zeigt auf eine "
     "Datei, die es nicht gibt", "error"),
    ("content/press/2017-02-10-neustart.md", 22, "Der Link „../pages/alt.md“ zeigt auf eine Datei, "
     "die es nicht gibt", "error"),
    ("content/press/2017-03-01-kaputt.md", 3, "„date“: 2017-02-31 ist kein gültiges Kalenderdatum",
     "error"),
    ("content/press/2999-01-01-zukunft.md", 3, "Das Datum 2999-01-01 liegt in der Zukunft", "warning"),
    ("gallery/fest/album.yaml", 5, "Der Alternativtext („alt“) zum Foto „eins.jpg“ ist leer.", "error"),
]


def test_every_problem_is_found_with_its_place(make_site: MakeSite) -> None:
    root = make_site(PROBLEMS)
    result = check_site(root, today=dt.date(2024, 5, 1))
    found = [(f.location.path if f.location else "", f.location.line if f.location else None,
              f.message, f.severity) for f in result.findings]
    for path, line, message, severity in EXPECTED:
        matches = [f for f in found if f[0] == path and f[2].startswith(message)]
        assert matches, f"nicht gemeldet: {path}: {message}\n{format_findings(result.findings)}"
        assert (matches[0][1], matches[0][3]) == (line, severity), matches[0]
    assert len(found) == len(EXPECTED), format_findings(result.findings)


def test_valid_anchors_and_template_ids_are_accepted(make_site: MakeSite) -> None:
    body = ("[a](../pages/kontakt.md#erreichbarkeit) [b](#inhalt) [c](#abschnitt) [d](/kontakt/) "
            "[e](/kontakt#erreichbarkeit) [f](/presse/feed.xml)\n\n## Abschnitt {#abschnitt}\n")
    root = make_site({"content/pages/kontakt.md": KONTAKT,
                      "content/press/2017-02-10-neustart.md": press(body=body)})
    assert check_site(root).findings == []


def test_template_errors_are_found_once_with_template_and_line(make_site: MakeSite) -> None:
    root = make_site({"content/pages/kontakt.md": KONTAKT, "content/pages/impressum.md": KONTAKT})
    template = root / "templates/page.html"
    lines = template.read_text(encoding="utf-8").split("\n")
    lines.insert(2, "{{ gibt_es_nicht }}")
    template.write_text("\n".join(lines), encoding="utf-8")
    findings = check_site(root).findings
    assert [(str(f.location), f.message.split(": ", 1)[-1]) for f in findings] == [
        ("templates/page.html:3", "die Variable „gibt_es_nicht“ ist nicht definiert.")]


def test_output_is_grouped_by_file_with_hints_and_a_summary(
    make_site: MakeSite, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_site(PROBLEMS)
    code = main(["check", "--source", str(root)])
    out = capsys.readouterr().out
    assert code == 1
    blocks = out.split("\n\n")
    assert blocks[0].startswith("content/pages/entwurf.md:4: Warnung: Entwurf – wird nicht "
                                "veröffentlicht.\n  → ")
    assert "content/press/2017-03-01-kaputt.md:3: „date“: 2017-02-31 ist kein gültiges " \
           "Kalenderdatum.\n  → Prüfen Sie Tag und Monat" in out
    assert "\n9 Fehler, 3 Warnungen in 7 Dateien.\n" in out
    assert not (root / "build").exists()


def test_warnings_alone_exit_0_and_1_with_strict(
    make_site: MakeSite, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_site({"content/pages/entwurf.md": "---\ntitle: Entwurf\ndraft: true\n---\nText.\n"})
    assert main(["check", "--source", str(root)]) == 0
    assert "0 Fehler, 1 Warnung in 1 Datei." in capsys.readouterr().out
    assert main(["check", "--source", str(root), "--strict"]) == 1
    assert "(--strict: Warnungen zählen als Fehler)" in capsys.readouterr().out


def test_drafts_are_checked_like_published_pages_with_drafts(make_site: MakeSite) -> None:
    body = "Ein [kaputter Link](fehlt.md)."
    root = make_site({"content/pages/entwurf.md": f"---\ntitle: Entwurf\ndraft: true\n---\n{body}\n"})
    assert [f.severity for f in check_site(root).findings] == ["warning"]
    findings = check_site(root, BuildOptions(drafts=True)).findings
    assert sorted((str(f.location), f.severity) for f in findings) == [
        ("content/pages/entwurf.md:3", "warning"), ("content/pages/entwurf.md:5", "error")]


def test_a_clean_site_exits_0(make_site: MakeSite, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_site({"content/pages/kontakt.md": KONTAKT})
    assert main(["check", "--source", str(root), "--strict"]) == 0
    assert capsys.readouterr().out.startswith("Keine Probleme gefunden.\nGeprüft: ")


def test_summary_counts_files_and_uses_german_plurals() -> None:
    def error(path: str, severity: str = "error") -> SiteError:
        return SiteError("x", Location(path, 1), severity=severity)

    assert summary([error("a")]) == "1 Fehler, 0 Warnungen in 1 Datei."
    assert summary([error("a"), error("a", "warning"), error("b"), error("c", "warning"),
                    error("c", "warning")]) == "2 Fehler, 3 Warnungen in 3 Dateien."


def _noisy_jpeg() -> bytes:
    """A photo large enough that a cut-off file still has a readable header."""
    buffer = io.BytesIO()
    Image.frombytes("RGB", (600, 400), bytes(range(256)) * 2812 + bytes(128)).save(
        buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def test_truncated_photo_is_found_by_check_and_the_cache_is_warmed(make_site: MakeSite) -> None:
    good, broken = _jpeg(), _noisy_jpeg()
    root = make_site({
        "gallery/fest/eins.jpg": good,
        "gallery/fest/zwei.jpg": broken[: len(broken) // 2],
        "gallery/fest/album.yaml": "title: Fest\ndate: 2017-06-01\nphotos:\n"
                                   "  - file: eins.jpg\n    alt: Eins\n  - file: zwei.jpg\n    alt: Zwei\n",
    })
    result = check_site(root, today=dt.date(2024, 5, 1))
    assert [str(f.location) for f in result.errors] == ["gallery/fest/zwei.jpg"]
    assert "beschädigt oder unvollständig" in result.errors[0].message
    assert any((root / ".cache" / "images").rglob("*.webp"))  # eins.jpg is ready for the build


def test_files_the_build_never_reads_are_warned_about(make_site: MakeSite) -> None:
    root = make_site({
        "content/press/2017-02-10-neu.markdown": press(),
        "content/press/2017/2017-03-01-alt.md": press("2017-03-01"),
        "content/notizen.txt": "Ideen\n",
        "content/pages/.kontakt.md.swp": b"\0",  # an editor's swap file: not the editor's doing
    })
    warnings = {str(f.location): f.hint for f in check_site(root).findings if f.severity == "warning"}
    assert sorted(warnings) == ["content/notizen.txt", "content/press/2017-02-10-neu.markdown",
                                "content/press/2017/2017-03-01-alt.md"]
    assert "„2017-02-10-neu.md“" in (warnings["content/press/2017-02-10-neu.markdown"] or "")


def test_photos_beside_a_text_that_shows_them_are_used_and_others_are_not(
    make_site: MakeSite, capsys: pytest.CaptureFixture[str]
) -> None:
    body = "![Die Bühne beim Fest](buehne.jpg)\n\nDas [Plakat](plakat.png) zum Fest."
    root = make_site({
        "content/pages/fest.md": f"---\ntitle: Fest\nsummary: Unser Fest.\n---\n{body}\n",
        "content/pages/buehne.jpg": _jpeg(),
        "content/pages/plakat.png": _jpeg(),
        "content/pages/uebrig.jpg": _jpeg(),
    })
    findings = check_site(root).findings
    assert [(str(f.location), f.message) for f in findings] == [
        ("content/pages/uebrig.jpg",
         "Diese Datei wird nicht verwendet und erscheint nicht auf der Website.")]
    (root / "content/pages/uebrig.jpg").unlink()
    assert main(["check", "--source", str(root), "--strict"]) == 0, capsys.readouterr().out


def _new_press(root: Path) -> Path:
    assert main(["new", "press", "Sicher zur Schule", "--date", "2017-05-14",
                 "--source", str(root)]) == 0
    return root / "content/press/2017-05-14-sicher-zur-schule.md"


def test_a_new_press_release_fails_strict_check_until_it_is_edited(
    make_site: MakeSite, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_site({})
    file = _new_press(root)
    capsys.readouterr()

    def strict() -> tuple[int, list[tuple[str, str]]]:
        code = main(["check", "--source", str(root), "--strict"])
        out = capsys.readouterr().out
        return code, re.findall(r"^\S+?:(\d+): Warnung: (.*)$", out, re.MULTILINE)

    assert strict() == (1, [
        ("4", "„summary“ ist leer."),
        ("6", "Entwurf – wird nicht veröffentlicht."),
        ("8", "Hier steht noch das Textgerüst von „kpr-site new“: „Der erste Absatz sagt das "
              "Wichtigste: Wer hat …“"),
        ("13", "Hier steht noch das Textgerüst von „kpr-site new“: „Weitere Einzelheiten, "
               "Hintergründe und Zitate.“"),
    ])
    text = file.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^draft: true.*\n", "", text).replace('summary: ""', "summary: Kurz.")
    file.write_text(text, encoding="utf-8")
    code, warnings = strict()
    assert (code, [line for line, _ in warnings]) == (1, ["7", "12"])  # the skeleton text
    head, _, _ = text.partition("---\nDer erste")
    file.write_text(head + "---\nUnser Text.\n\n## Zwischenüberschrift\n\nMehr.\n", encoding="utf-8")
    assert strict() == (0, [])


def test_new_says_it_wrote_a_draft_and_how_to_publish_it(
    make_site: MakeSite, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_site({})
    _new_press(root)
    err = capsys.readouterr().err
    assert err.startswith("Angelegt als Entwurf (draft: true): Die Datei erscheint nur in der "
                          "Vorschau mit „kpr-site serve --drafts“ und wird nicht veröffentlicht.\n")
    assert "Zum Veröffentlichen löschen Sie die Zeile „draft: true“" in err


@pytest.mark.parametrize("kind", ["project", "page"])
def test_every_new_skeleton_is_found_until_replaced(make_site: MakeSite, kind: str) -> None:
    root = make_site({})
    assert main(["new", kind, "Neu", "--source", str(root)]) == 0
    messages = [f.message for f in check_site(root).findings]
    assert "„summary“ ist leer." in messages
    assert any(m.startswith("Hier steht noch das Textgerüst") for m in messages), messages


@pytest.mark.parametrize(("body", "lines"), [
    ("Worum geht es in dem Projekt, und wem soll es helfen? Es hilft Kindern.", [5]),
    ("Einleitung.\n\n## Ziele\n\nWas soll das Projekt\nerreichen?\n", [9]),
    ("## Ziele\n\nSichere Schulwege.\n\nWer gibt Auskunft: Frau Muster.\n", []),
])
def test_skeleton_text_is_found_even_with_text_after_it_but_headings_may_stay(
    make_site: MakeSite, body: str, lines: list[int]
) -> None:
    root = make_site({"content/projects/p.md": f"---\ntitle: P\nstatus: laufend\n---\n{body}\n"})
    assert [f.location.line for f in check_site(root).findings if f.location] == lines


@pytest.mark.parametrize(("summary", "empty"), [
    ('summary: ""', True), ("summary:", True), ("summary: ~  # später", True), ("summary: '  '", True),
    ("summary:\n  Zwei Zeilen,\n  ein Satz.", False), ("summary: Ein Satz.", False), ("", False),
])
def test_an_empty_summary_is_a_warning(make_site: MakeSite, summary: str, empty: bool) -> None:
    root = make_site({"content/pages/a.md": f"---\ntitle: A\n{summary}\n---\nText.\n"})
    findings = [(str(f.location), f.message, f.severity) for f in check_site(root).findings]
    assert findings == ([("content/pages/a.md:3", "„summary“ ist leer.", "warning")] if empty else [])
