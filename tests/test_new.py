"""`kpr-site new`: skeletons that load, slugs and dates, never overwrite, albums that grow."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from conftest import MakeSite
from PIL import Image

from kpr_site.cli import main
from kpr_site.frontmatter import parse_yaml
from kpr_site.load import load_site


def new(root: Path, *args: str) -> int:
    return main(["new", *args, "--source", str(root)])


def photo(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 6), "teal").save(path, format="PNG" if path.suffix == ".png" else "JPEG")


def test_new_press_release_is_named_by_date_and_slug_and_loads(
    make_site: MakeSite, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_site({})
    code = new(root, "press", "Präventionsrat: Neue Ideen für Güstrow", "--date", "2017-02-10")
    path = root / "content/press/2017-02-10-praeventionsrat-neue-ideen-fuer-guestrow.md"
    assert code == 0
    assert capsys.readouterr().out.strip() == str(path)
    loaded = load_site(root, drafts=True)
    assert loaded.errors == []
    assert loaded.site is not None
    (release,) = loaded.site.press
    assert (release.title, release.date, release.tags, release.draft) == (
        "Präventionsrat: Neue Ideen für Güstrow", dt.date(2017, 2, 10), (), True)
    assert "## Zwischenüberschrift" in path.read_text(encoding="utf-8")


def test_new_press_release_is_dated_today_without_date(make_site: MakeSite) -> None:
    root = make_site({})
    assert new(root, "press", "Heute") == 0
    assert (root / f"content/press/{dt.date.today().isoformat()}-heute.md").is_file()


def test_new_project_is_planned_and_loads(make_site: MakeSite) -> None:
    root = make_site({})
    assert new(root, "project", "Sicher zur Schule") == 0
    loaded = load_site(root, drafts=True)
    assert loaded.errors == []
    assert loaded.site is not None
    (project,) = loaded.site.projects
    assert (project.path, project.title, project.status, project.draft) == (
        "content/projects/sicher-zur-schule.md", "Sicher zur Schule", "geplant", True)


def test_new_page_is_a_draft_that_builds_with_drafts_only(  # type: ignore[no-untyped-def]
    make_site: MakeSite, build
) -> None:
    root = make_site({})
    assert new(root, "page", "Über uns") == 0
    assert (root / "content/pages/ueber-uns.md").is_file()
    code, _, err = build(root)
    assert code == 0, err
    assert not (root / "build/ueber-uns/index.html").exists()
    code, _, err = build(root, "--drafts")
    assert code == 0, err
    assert (root / "build/ueber-uns/index.html").is_file()


@pytest.mark.parametrize("title", ['Zitat "so" und \\ Schrägstrich', "yes", "123 Tage", "#hashtag",
                                   "Titel: mit Doppelpunkt", "- Spiegelstrich"])
def test_titles_with_yaml_special_characters_survive(make_site: MakeSite, title: str) -> None:
    root = make_site({})
    assert new(root, "page", title) == 0
    loaded = load_site(root, drafts=True)
    assert loaded.errors == []
    assert loaded.site is not None
    assert loaded.site.pages[0].title == title


def test_existing_file_is_never_overwritten(
    make_site: MakeSite, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_site({"content/pages/kontakt.md": "---\ntitle: Kontakt\n---\nMein Text.\n"})
    code = new(root, "page", "Kontakt")
    assert code == 1
    err = capsys.readouterr().err
    assert "content/pages/kontakt.md: Die Datei gibt es schon; sie wird nicht überschrieben." in err
    assert (root / "content/pages/kontakt.md").read_text(encoding="utf-8").endswith("Mein Text.\n")


def test_title_without_letters_is_refused(make_site: MakeSite, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_site({})
    assert new(root, "page", "!!!") == 1
    assert "lässt sich kein Dateiname bilden" in capsys.readouterr().err


def test_invalid_date_is_a_usage_error(make_site: MakeSite, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_site({})
    assert new(root, "press", "Titel", "--date", "10.02.2017") == 2
    assert "„10.02.2017“ ist kein Datum im Format JJJJ-MM-TT" in capsys.readouterr().err


def test_new_album_lists_every_photo_sorted_with_empty_alt(
    make_site: MakeSite, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_site({})
    album = root / "gallery/sitzung-2017"
    for name in ("b.jpg", "A.JPG", "c.png", "d.jpeg"):
        photo(album / name)
    (album / "notizen.txt").write_text("keine Fotos", encoding="utf-8")
    (album / ".versteckt.jpg").write_bytes(b"")
    assert new(root, "album", "gallery/sitzung-2017/", "--date", "2017-02-10") == 0
    out = capsys.readouterr()
    assert out.out.strip() == str(album / "album.yaml")
    assert "4 Fotos eingetragen" in out.err
    data = parse_yaml((album / "album.yaml").read_text(encoding="utf-8"), "album.yaml").value
    assert data["title"] == "Sitzung 2017"
    assert data["date"] == "2017-02-10"
    assert data["photos"] == [{"file": n, "alt": ""} for n in ("A.JPG", "b.jpg", "c.png", "d.jpeg")]


def test_new_album_fails_only_for_the_empty_alt_texts(make_site: MakeSite) -> None:
    root = make_site({})
    photo(root / "gallery/fest/eins.jpg")
    assert new(root, "album", "fest", "--date", "2017-05-01") == 0
    errors = load_site(root).errors
    assert [(e.message, e.location.line if e.location else None) for e in errors] == [
        ("Der Alternativtext („alt“) zum Foto „eins.jpg“ ist leer.", 9)]


def test_new_album_again_keeps_entries_order_and_comments_and_adds_new_photos(
    make_site: MakeSite, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_site({})
    album = root / "gallery/fest"
    for name in ("a.jpg", "b.jpg"):
        photo(album / name)
    edited = (
        "title: Sommerfest\n"
        "date: 2017-06-01\n"
        "photos:\n"
        "    - file: b.jpg   # das beste zuerst\n"
        "      alt: Kinder am Spielmobil.\n"
        "    - file: a.jpg\n"
        "      alt: Der Stand der Polizei.\n"
        "      caption: Großer Andrang.\n"
        "\n"
        "# Titelbild gewählt von der Redaktion\n"
        "cover: b.jpg\n"
    )
    (album / "album.yaml").write_text(edited, encoding="utf-8")
    photo(album / "c.jpg")
    photo(album / "0-neu.png")
    assert new(root, "album", "fest") == 0
    assert "2 Fotos ergänzt: 0-neu.png, c.jpg." in capsys.readouterr().err
    text = (album / "album.yaml").read_text(encoding="utf-8")
    assert text == edited.replace(
        "      caption: Großer Andrang.\n",
        "      caption: Großer Andrang.\n"
        '    - file: "0-neu.png"\n      alt: ""\n'
        '    - file: c.jpg\n      alt: ""\n')
    assert new(root, "album", "fest") == 0
    assert "Alle Fotos sind schon eingetragen." in capsys.readouterr().err
    assert (album / "album.yaml").read_text(encoding="utf-8") == text


def test_new_album_turns_an_empty_photo_list_into_a_block(make_site: MakeSite) -> None:
    root = make_site({})
    photo(root / "gallery/fest/a.jpg")
    (root / "gallery/fest/album.yaml").write_text(
        "title: Fest\ndate: 2017-06-01\nphotos: []\n", encoding="utf-8")
    assert new(root, "album", "fest") == 0
    assert (root / "gallery/fest/album.yaml").read_text(encoding="utf-8") == (
        'title: Fest\ndate: 2017-06-01\nphotos:\n  - file: a.jpg\n    alt: ""\n')


@pytest.mark.parametrize(("files", "message"), [
    ({}, "Den Albumordner gallery/fest/ gibt es nicht."),
    ({"gallery/fest/liesmich.txt": "Text"}, "Im Ordner gallery/fest/ liegen keine Fotos."),
])
def test_new_album_needs_a_folder_with_photos(
    make_site: MakeSite, capsys: pytest.CaptureFixture[str], files: dict[str, str], message: str
) -> None:
    root = make_site(files)  # type: ignore[arg-type]
    assert new(root, "album", "fest") == 1
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(("kind", "path", "attribute"), [
    ("event", "content/events/2024-06-03-fachtag-jugend.md", "events"),
    ("group", "content/groups/fachtag-jugend.md", "groups"),
    ("funding", "content/funding/fachtag-jugend.md", "funding"),
])
def test_new_event_group_and_funding_start_as_drafts_that_load(
    make_site: MakeSite, capsys: pytest.CaptureFixture[str], kind: str, path: str, attribute: str
) -> None:
    root = make_site({})
    assert new(root, kind, "Fachtag Jugend", "--date", "2024-06-03") == 0
    assert "Angelegt als Entwurf (draft: true)" in capsys.readouterr().err
    assert (root / path).is_file()
    assert load_site(root).errors == []
    loaded = load_site(root, drafts=True)
    assert loaded.errors == []
    assert loaded.site is not None
    (item,) = getattr(loaded.site, attribute)
    assert (item.title, item.draft) == ("Fachtag Jugend", True)
    if kind == "event":
        assert item.start == dt.date(2024, 6, 3)


def test_new_document_describes_a_file_and_the_site_builds(make_site: MakeSite, build) -> None:  # type: ignore[no-untyped-def]
    root = make_site({"content/documents/richtlinie-2024.pdf": b"%PDF-1.4 x",
                      "content/documents/formular.odt": b"odt"})
    assert new(root, "document", "richtlinie-2024.pdf") == 0
    assert new(root, "document", "formular.odt") == 0
    loaded = load_site(root)
    assert loaded.errors == []
    assert loaded.site is not None
    assert [(d.title, d.file, d.accessible) for d in loaded.site.documents] == [
        ("Richtlinie 2024", "richtlinie-2024.pdf", False), ("Formular", "formular.odt", False)]
    assert build(root)[0] == 0
    assert (root / "build/dokumente/formular.odt").read_bytes() == b"odt"


def test_new_document_refuses_a_missing_or_described_file(
    make_site: MakeSite, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_site({"content/documents/a.pdf": b"%PDF"})
    assert new(root, "document", "b.pdf") == 1
    assert "content/documents/b.pdf: Die Datei „b.pdf“ gibt es nicht in content/documents/." in (
        capsys.readouterr().err)
    assert new(root, "document", "a.pdf") == 0
    before = (root / "content/documents.yaml").read_bytes()
    assert new(root, "document", "a.pdf") == 1
    assert "„a.pdf“ ist schon beschrieben." in capsys.readouterr().err
    assert (root / "content/documents.yaml").read_bytes() == before
