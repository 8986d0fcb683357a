"""Atomic, reproducible output: build/ is replaced whole or not at all, and the same input gives
the same bytes."""

from __future__ import annotations

import copy
import gzip
import os
import shutil
from pathlib import Path, PurePosixPath

import pytest
from conftest import output_path, press, tree_digest

from kpr_site.cli import main
from kpr_site.compress import gzip_bytes
from kpr_site.output import Staging, build_lock

# Whole outputs are compared: the search index is part of them.
pytestmark = pytest.mark.search_index

OLD = 1_000_000_000  # 2001-09-09: an mtime no build can produce


@pytest.fixture
def site(make_site) -> Path:  # type: ignore[no-untyped-def]
    return make_site({
        "content/press/2017-02-10-neu.md": press(title="Neu", tags="[Jugend]"),
        "content/press/2017-03-01-zwei.md": press("2017-03-01", "Zwei"),
        "content/pages/kontakt.md": "---\ntitle: Kontakt\n---\nSchreiben Sie uns.\n",
        "content/projects/klar.md": "---\ntitle: Klar\nstatus: laufend\n---\n",
        "content/members.yaml": "- name: Anja Kerl\n  role: Vorsitzende\n  sector: Verwaltung\n",
    })


def built(build, root: Path, *args: str, out: Path | None = None) -> Path:  # type: ignore[no-untyped-def]
    code, _, err = build(root, *args, out=out)
    assert code == 0, err
    return out or root / "build"


def age(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            os.utime(path, (OLD, OLD))


# --- reproducibility ----------------------------------------------------------------------


def test_two_builds_are_byte_identical(site, build, tmp_path):
    first = built(build, site, out=tmp_path / "eins")
    second = built(build, site, "--no-cache", out=tmp_path / "zwei")
    assert tree_digest(first) == tree_digest(second)
    assert len(tree_digest(first)) > 10


def test_build_does_not_depend_on_where_the_sources_are(site, build, tmp_path):
    first = built(build, site, out=tmp_path / "eins")
    moved = tmp_path / "anderswo" / "quelle"
    shutil.copytree(site, moved, ignore=shutil.ignore_patterns("build", ".cache"))
    second = built(build, moved, out=tmp_path / "zwei")
    assert tree_digest(first) == tree_digest(second)


def test_output_has_no_wall_clock_or_machine_paths(site, build, tmp_path):
    out = built(build, site)
    for path in out.rglob("*"):
        if path.is_file() and path.suffix in (".html", ".xml", ".txt", ".css"):
            assert str(tmp_path) not in path.read_text(), path
    feed = (out / "presse/feed.xml").read_text()
    # The feed's <updated> is the newest release's date, not the time of the build.
    assert "<updated>2017-03-01T00:00:00Z</updated>" in feed


# --- rebuilds -----------------------------------------------------------------------------


@pytest.mark.parametrize("cache", ["cache", "no-cache"])
def test_unchanged_files_keep_their_mtime_on_rebuild(site, build, cache):
    args = ("--no-cache",) if cache == "no-cache" else ()
    out = built(build, site, *args)
    age(out)
    before = {p: p.stat().st_ino for p in out.rglob("*") if p.is_file()}
    built(build, site, *args)
    for path, inode in before.items():
        assert path.stat().st_mtime == OLD, path
        assert path.stat().st_ino == inode, path


def test_rebuild_after_an_edit_changes_only_what_shows_the_edit(site, build, make_site):
    out = built(build, site)
    age(out)
    make_site({"content/pages/kontakt.md": "---\ntitle: Kontakt\n---\nRufen Sie an.\n"}, site)
    built(build, site)
    kontakt = output_path(out, "/kontakt/")
    assert "Rufen Sie an." in kontakt.read_text()
    assert kontakt.stat().st_mtime != OLD
    assert output_path(out, "/presse/2017/neu/").stat().st_mtime == OLD
    assert next((out / "static").glob("site.*.css")).stat().st_mtime == OLD


def test_rebuild_removes_pages_whose_source_is_gone(site, build, make_site):
    out = built(build, site)
    make_site({"content/press/2017-03-01-zwei.md": None}, site)
    built(build, site)
    assert not output_path(out, "/presse/2017/zwei/").exists()
    assert "Zwei" not in output_path(out, "/presse/").read_text()


def test_rebuild_repairs_a_file_deleted_or_edited_in_the_output(site, build):
    out = built(build, site)
    good = tree_digest(out)
    output_path(out, "/kontakt/").unlink()
    output_path(out, "/presse/").write_text("kaputt")
    built(build, site)
    assert tree_digest(out) == good


def test_rebuild_after_template_edit_shows_the_edit(site, build):
    out = built(build, site)
    template = site / "templates" / "page.html"
    template.write_text(template.read_text().replace("{{ body }}", "{{ body }}<p>Neu im Layout</p>"))
    built(build, site)
    assert "Neu im Layout" in output_path(out, "/kontakt/").read_text()


# --- failed and interrupted builds --------------------------------------------------------


def test_failed_build_leaves_previous_site_untouched(site, build, make_site):
    out = built(build, site)
    before = tree_digest(out)
    make_site({"content/pages/kontakt.md": "---\ntitle: Kontakt\ndate: 2017-02-31\n---\n"}, site)
    code, _, err = build(site)
    assert code == 1
    assert "Die bisherige Ausgabe bleibt unverändert." in err
    assert tree_digest(out) == before


def test_template_error_while_rendering_leaves_previous_site_untouched(site, build, make_site):
    out = built(build, site)
    before = tree_digest(out)
    template = site / "templates" / "project_detail.html"
    template.write_text(template.read_text().replace("{{ title }}", "{{ title.nope }}", 1))
    code, _, err = build(site)
    assert code == 1, err
    assert "templates/project_detail.html:" in err
    assert tree_digest(out) == before


class Interrupted(Exception):
    pass


@pytest.mark.parametrize("exception", [Interrupted, KeyboardInterrupt])
@pytest.mark.parametrize("after", [0, 5])
def test_interrupted_build_leaves_previous_site_intact(site, build, make_site, monkeypatch, tmp_path,
                                                        exception, after):
    out = built(build, site)
    before = tree_digest(out)
    make_site({"content/pages/kontakt.md": "---\ntitle: Kontakt\n---\nNeuer Text.\n"}, site)
    write = Staging.write
    calls = []

    def failing_write(self: Staging, path, data: bytes) -> None:  # type: ignore[no-untyped-def]
        calls.append(path)
        if len(calls) > after:
            raise exception("Strom weg")
        write(self, path, data)

    monkeypatch.setattr(Staging, "write", failing_write)
    with pytest.raises(exception):
        main(["build", "--source", str(site), "--out", str(out), "--jobs", "1"])
    assert tree_digest(out) == before
    assert not [p for p in out.rglob("*") if ".tmp" in p.name]
    # The next build is complete and correct: nothing of the broken one leaks into it.
    monkeypatch.setattr(Staging, "write", write)
    built(build, site)
    assert "Neuer Text." in output_path(out, "/kontakt/").read_text()
    assert tree_digest(out) == tree_digest(built(build, site, "--no-cache", out=tmp_path / "frisch"))


def test_output_folder_holds_only_the_site(site, build):
    """Staging, lock and temporary files live beside build/, never in what gets published."""
    out = built(build, site)
    built(build, site, "--no-cache")
    assert not [p for p in out.rglob("*") if p.name.startswith(".") or "tmp" in p.name]


# --- where the output may go --------------------------------------------------------------


@pytest.mark.parametrize("out", [".", "..", "content/build", "templates/out"])
def test_output_that_is_or_holds_the_sources_is_refused(site, capsys, out):
    target = (site / out).resolve()
    before = tree_digest(site)
    assert main(["build", "--source", str(site), "--out", str(target)]) == 2
    err = capsys.readouterr().err
    assert "Fehler beim Aufruf: Der Ausgabeordner" in err
    assert tree_digest(site) == before


def test_folder_that_is_not_a_site_is_not_replaced(site, build, tmp_path):
    documents = tmp_path / "Dokumente"
    documents.mkdir()
    (documents / "Steuer.pdf").write_bytes(b"%PDF wichtig")
    code, _, err = build(site, out=documents)
    assert code == 2  # a usage error: the --out argument
    assert f"Der Ausgabeordner {documents} enthält Dateien, aber keine erzeugte Website." in err
    assert (documents / "Steuer.pdf").read_bytes() == b"%PDF wichtig"
    assert sorted(p.name for p in documents.iterdir()) == ["Steuer.pdf"]


def test_file_as_output_is_refused(site, build, tmp_path):
    target = tmp_path / "datei.txt"
    target.write_text("bleibt")
    code, _, err = build(site, out=target)
    assert code == 2
    assert "ist eine Datei, kein Ordner." in err
    assert target.read_text() == "bleibt"


def test_empty_folder_is_accepted_as_output(site, build, tmp_path):
    out = tmp_path / "leer"
    out.mkdir()
    assert output_path(built(build, site, out=out), "/").is_file()


def test_second_concurrent_build_is_refused_in_german(site, build):
    out = built(build, site)
    before = tree_digest(out)
    (site / "content/pages/kontakt.md").write_text("---\ntitle: Kontakt\n---\nGeändert.\n")
    with build_lock(out):
        code, _, err = build(site)
    assert code == 1
    assert "Ein anderer Build schreibt gerade nach build/." in err
    assert "Warten Sie, bis er fertig ist" in err
    assert tree_digest(out) == before
    built(build, site)  # the lock is released with the first build
    assert "Geändert." in output_path(out, "/kontakt/").read_text()


# --- precompressed siblings ---------------------------------------------------------------


def test_text_files_get_a_gz_sibling_with_the_same_bytes(site, build):
    out = built(build, site)
    texts = [p for p in out.rglob("*") if p.suffix in (".html", ".css", ".xml", ".svg", ".ics")]
    assert len(texts) > 10
    for path in texts:
        packed = path.with_name(path.name + ".gz").read_bytes()
        assert gzip.decompress(packed) == path.read_bytes(), path


def test_gz_files_are_reproducible_without_time_or_name(site, build, tmp_path):
    first = built(build, site, out=tmp_path / "eins")
    second = built(build, site, "--no-cache", out=tmp_path / "zwei")
    packed = (first / "index.html.gz").read_bytes()
    assert packed == (second / "index.html.gz").read_bytes()
    flags, mtime = packed[3], int.from_bytes(packed[4:8], "little")
    assert (flags & 0x08, mtime) == (0, 0)  # FNAME unset: no file name; no timestamp


def test_gz_is_written_only_where_it_saves_bytes():
    assert gzip_bytes(b"x") is None
    text = b"<p>Pressemitteilung</p>\n" * 50
    packed = gzip_bytes(text)
    assert packed is not None and len(packed) < len(text) // 5


def test_images_and_pdfs_get_no_gz_sibling(make_site, build):
    root = make_site({"content/documents.yaml": "- title: Satzung\n  file: satzung.pdf\n  accessible: true\n",
                      "content/documents/satzung.pdf": b"%PDF-1.4\n" + b"0" * 4000})
    out = built(build, root)
    assert not list(out.rglob("*.pdf.gz")) and not list(out.rglob("*.webp.gz"))
    assert not list(out.rglob("*.gz.gz"))


def test_gz_of_an_unchanged_file_is_reused_not_recompressed(site, build, make_site, monkeypatch):
    out = built(build, site)
    kept = output_path(out, "/presse/2017/neu/").with_name("index.html.gz")
    inode = kept.stat().st_ino
    packed: list[int] = []

    def counting(data: bytes) -> bytes | None:
        packed.append(len(data))
        return gzip_bytes(data)

    monkeypatch.setattr("kpr_site.output.gzip_bytes", counting)
    make_site({"content/pages/kontakt.md": "---\ntitle: Kontakt\n---\nRufen Sie an.\n"}, site)
    built(build, site)
    assert kept.stat().st_ino == inode
    assert 1 <= len(packed) <= 3  # the edited page (and a sitemap or search index at most)
    kontakt = output_path(out, "/kontakt/")
    assert gzip.decompress(kontakt.with_name("index.html.gz").read_bytes()) == kontakt.read_bytes()


def test_a_gz_edited_in_the_output_is_repaired(site, build):
    out = built(build, site)
    packed = out / "index.html.gz"
    packed.write_bytes(b"kaputt")
    built(build, site)
    assert gzip.decompress(packed.read_bytes()) == (out / "index.html").read_bytes()


def _siblings_match(out: Path) -> None:
    """Every text file has a `.gz` holding exactly its bytes, and no `.gz` is left over."""
    texts = {p for p in out.rglob("*") if p.suffix in (".html", ".css", ".xml", ".svg", ".ics")}
    for path in texts:
        packed = path.with_name(path.name + ".gz")
        assert gzip.decompress(packed.read_bytes()) == path.read_bytes(), path
    for packed in out.rglob("*.gz"):
        assert packed.with_name(packed.name[:-3]).is_file(), packed


def test_gz_equals_its_file_after_incremental_builds(site, build, make_site):
    out = built(build, site)
    make_site({"content/pages/kontakt.md": "---\ntitle: Kontakt\n---\nRufen Sie an.\n",
               "content/press/2017-03-01-zwei.md": None}, site)
    built(build, site)  # staged into a fresh folder
    make_site({"content/pages/kontakt.md": "---\ntitle: Kontakt\n---\nKommen Sie vorbei.\n",
               "content/press/2017-04-01-drei.md": press("2017-04-01", "Drei")}, site)
    built(build, site)  # staged into the output of the build before last
    _siblings_match(out)
    assert not output_path(out, "/presse/2017/zwei/").exists()
    assert not output_path(out, "/presse/2017/zwei/").with_name("index.html.gz").exists()


def test_pages_rendered_in_worker_processes_get_their_gz(make_site, build):
    root = make_site({f"content/press/2017-01-{1 + n % 28:02d}-meldung-{n}.md":
                      press(f"2017-01-{1 + n % 28:02d}", f"Meldung {n}") for n in range(70)})
    out = built(build, root, "--jobs", "2")
    _siblings_match(out)
    make_site({"content/press/2017-01-05-meldung-4.md": press("2017-01-05", "Geändert")}, root)
    built(build, root, "--jobs", "2")
    _siblings_match(out)


def test_a_gz_a_worker_did_not_write_is_not_recorded(tmp_path):
    staging = Staging(tmp_path / "build", precompress=True)
    staging.expect(["klein.html", "gross.html"])
    worker = copy.deepcopy(staging)  # a forked worker: its own copy of what is staged
    worker.write(PurePosixPath("klein.html"), b"x")  # too small to save bytes: no sibling
    worker.write(PurePosixPath("gross.html"), b"<p>Pressemitteilung</p>\n" * 100)
    staging.prune()
    assert sorted(staging.records({})) == ["gross.html", "gross.html.gz", "klein.html"]
