"""The visitors' search: the /suche/ page, the Pagefind index the build makes, and when it is
made again. The browser half is in test_search_browser.py."""

from __future__ import annotations

import gzip
import json
import os
import stat
import sys
from importlib.util import find_spec
from pathlib import Path

import pytest
from conftest import MakeSite, press, read_page, tree_digest
from gates import require_tool

from kpr_site.build import build_site
from kpr_site.cli import main
from kpr_site.errors import BuildFailed
from kpr_site.options import BuildOptions

pytestmark = pytest.mark.search_index

MISSING = "Pagefind fehlt – installieren: pip install -e . (bringt das Paket pagefind-bin mit)"


@pytest.fixture
def pagefind() -> None:
    require_tool(find_spec("pagefind_bin") is not None or bool(os.environ.get("PAGEFIND_BINARY_PATH")),
                 MISSING)


PROJECT = "---\ntitle: Sicher zur Schule\nstatus: laufend\ntopics: [Verkehr, Jugend]\n---\nSchulweg.\n"
PAGE = "---\ntitle: Kontakt\n---\nSchreiben Sie dem Präventionsrat.\n"
MEMBERS = "- name: Anja Kerl\n  role: Vorsitzende\n  sector: Verwaltung\n"
ALBUM = ("title: Sitzung\ndate: 2017-02-10\nphotos:\n"
         "  - file: a.png\n    alt: Der Saal\n    caption: Die Mitglieder im großen Saal\n")


def _png() -> bytes:
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", (40, 30), (200, 80, 40)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def site(make_site: MakeSite) -> Path:
    return make_site({
        "content/press/2017-02-10-neustart.md": press(
            title="Präventionsrat startet neu", tags="[Jugend, Sucht]",
            body="Der Präventionsrat tagt im Kreishaus."),
        "content/press/2017-03-01-zweite.md": press("2017-03-01", "Zweite Sitzung", tags="[Verkehr]",
                                                    body="Es ging um Radwege."),
        "content/projects/schulweg.md": PROJECT,
        "content/pages/kontakt.md": PAGE,
        "content/members.yaml": MEMBERS,
        "gallery/sitzung/album.yaml": ALBUM,
        "gallery/sitzung/a.png": _png(),
    })


def _records(out: Path) -> dict[str, dict[str, object]]:
    """Every page in the built index: URL → its fragment (content, filters, meta)."""
    records = {}
    for file in sorted((out / "pagefind" / "fragment").iterdir()):
        data = gzip.decompress(file.read_bytes()).removeprefix(b"pagefind_dcd")
        record = json.loads(data)
        records[record["url"]] = record
    return records


def _built(site: Path, *args: str) -> Path:
    assert main(["build", "--source", str(site), *args]) == 0
    return site / "build"


# --- the page and the markup --------------------------------------------------------------


def test_search_page_has_a_get_form_and_links_for_browsers_without_javascript(site: Path, pagefind: None):
    out = _built(site)
    page = read_page(out, "/suche/")
    form = page.attrs("form")[0]
    assert (form["action"], form["method"], form["role"]) == ("/suche/", "get", "search")
    assert [i["name"] for i in page.attrs("input")] == ["q"]
    assert "/themen/" in page.hrefs() and "/sitemap.xml" in page.hrefs()
    assert any("braucht JavaScript" in text for text in page.text("p"))
    status = {"role": "status", "class": "search-status", "data-search-status": ""}
    assert status in page.attrs("p")  # the live region that announces the number of hits
    scripts = [s["src"] for s in page.attrs("script")]
    assert len(scripts) == 1 and scripts[0].startswith("/static/search.")
    assert form["data-bundle"] == "/pagefind/"


def test_every_other_page_has_a_search_field_in_the_header(site: Path, pagefind: None):
    out = _built(site)
    for url in ("/", "/presse/", "/projekte/schulweg/", "/404.html"):
        forms = read_page(out, url).attrs("form")
        assert [(f["action"], f["method"], f["role"]) for f in forms] == [("/suche/", "get", "search")], url
    assert read_page(out, "/suche/").attrs("form")[0]["class"] == "search-form"  # not twice


def test_search_works_under_a_base_path(site: Path, pagefind: None):
    out = _built(site, "--base-url", "https://example.org/kpr/")
    form = read_page(out, "/suche/").attrs("form")[0]
    assert (form["action"], form["data-bundle"], form["data-base"]) == (
        "/kpr/suche/", "/kpr/pagefind/", "/kpr/")
    assert (out / "pagefind" / "pagefind.js").is_file()


# --- what the index holds -----------------------------------------------------------------


def test_index_holds_every_detail_page_with_its_type_and_topics(site: Path, pagefind: None):
    records = _records(_built(site))
    types = {url: record["filters"]["Typ"] for url, record in records.items()}
    assert types == {
        "/presse/2017/neustart/": ["Pressemitteilung"],
        "/presse/2017/zweite/": ["Pressemitteilung"],
        "/projekte/schulweg/": ["Projekt"],
        "/kontakt/": ["Seite"],
        "/praeventionsrat/": ["Präventionsrat"],
        "/galerie/sitzung/": ["Galerie"],
    }
    assert sorted(records["/presse/2017/neustart/"]["filters"]["Thema"]) == ["Jugend", "Sucht"]
    assert sorted(records["/projekte/schulweg/"]["filters"]["Thema"]) == ["Jugend", "Verkehr"]
    assert records["/presse/2017/neustart/"]["meta"]["datum"] == "10. Februar 2017"
    assert records["/presse/2017/neustart/"]["meta"]["title"] == "Präventionsrat startet neu"


def test_index_text_is_the_content_without_navigation_or_footer(site: Path, pagefind: None):
    records = _records(_built(site))
    release = records["/presse/2017/neustart/"]["content"]
    assert "Der Präventionsrat tagt im Kreishaus." in release
    for chrome in ("Hauptnavigation", "Zum Inhalt springen", "Barriere melden", "Erika Muster"):
        assert chrome not in release
    assert "Die Mitglieder im großen Saal" in records["/galerie/sitzung/"]["content"]
    assert "Anja Kerl" in records["/praeventionsrat/"]["content"]
    assert "(Großansicht)" not in records["/galerie/sitzung/"]["content"]


def test_bundle_holds_only_what_the_search_page_loads(site: Path, pagefind: None):
    bundle = _built(site) / "pagefind"
    names = {p.relative_to(bundle).as_posix().split("/")[0] for p in bundle.rglob("*") if p.is_file()}
    assert {"pagefind.js", "pagefind-worker.js", "pagefind-entry.json", "wasm.de.pagefind",
            "fragment", "index", "filter"} <= names
    assert not [n for n in names if "-ui" in n or "highlight" in n or n == "wasm.unknown.pagefind"]
    entry = json.loads((bundle / "pagefind-entry.json").read_text(encoding="utf-8"))
    assert entry["languages"]["de"]["page_count"] == 6
    assert (bundle / f"pagefind.{entry['languages']['de']['hash']}.pf_meta").is_file()


# --- when the index is made ---------------------------------------------------------------


def test_index_is_reused_when_no_page_changed(site: Path, tmp_path: Path, pagefind: None):
    options = BuildOptions(cache_dir=tmp_path / "cache")
    first = build_site(site, tmp_path / "out", options)
    assert first.search_seconds is not None
    bundle = tmp_path / "out" / "pagefind"
    inodes = {p: p.stat().st_ino for p in bundle.rglob("*") if p.is_file()}
    (site / "content/press/2017-04-01-entwurf.md").write_text(
        press("2017-04-01", "Entwurf", draft="true"), encoding="utf-8")
    second = build_site(site, tmp_path / "out", options)
    assert second.search_seconds is None  # a draft is no page: nothing to index
    assert {p: p.stat().st_ino for p in bundle.rglob("*") if p.is_file()} == inodes


def test_build_says_when_it_made_the_index(site: Path, build, pagefind: None):  # type: ignore[no-untyped-def]
    code, out, _ = build(site)
    assert code == 0 and "Suchindex: neu erzeugt, " in out
    (site / "content/press/2017-04-01-entwurf.md").write_text(
        press("2017-04-01", "Entwurf", draft="true"), encoding="utf-8")
    code, out, _ = build(site)
    assert code == 0 and "Suchindex" not in out and "Fertig:" in out


def test_edited_page_is_found_by_its_new_text(site: Path, tmp_path: Path, pagefind: None):
    options = BuildOptions(cache_dir=tmp_path / "cache")
    build_site(site, tmp_path / "out", options)
    (site / "content/pages/kontakt.md").write_text(PAGE.replace("Schreiben", "Rufen"), encoding="utf-8")
    report = build_site(site, tmp_path / "out", options)
    assert report.search_seconds is not None
    assert "Rufen Sie dem Präventionsrat" in _records(tmp_path / "out")["/kontakt/"]["content"]


def test_bundle_files_that_did_not_change_keep_their_inode_and_share_none_with_the_cache(
        site: Path, tmp_path: Path, pagefind: None):
    options = BuildOptions(cache_dir=tmp_path / "cache")
    build_site(site, tmp_path / "out", options)
    bundle = tmp_path / "out" / "pagefind"
    before = {p.relative_to(bundle): p.stat().st_ino for p in bundle.rglob("*") if p.is_file()}
    (site / "content/pages/kontakt.md").write_text(PAGE.replace("Schreiben", "Rufen"), encoding="utf-8")
    assert build_site(site, tmp_path / "out", options).search_seconds is not None
    after = {p.relative_to(bundle): p.stat().st_ino for p in bundle.rglob("*") if p.is_file()}
    assert set(after) != set(before)  # the edited page's fragment is a new file
    assert after[Path("pagefind.js")] == before[Path("pagefind.js")]
    assert after[Path("pagefind.js.gz")] == before[Path("pagefind.js.gz")]
    # Copies, not links: damage to the cache can never reach the published site.
    cached = {p.stat().st_ino for p in (tmp_path / "cache" / "search").rglob("*") if p.is_file()}
    assert not cached & set(after.values())


def test_no_search_keeps_the_last_index_and_a_normal_build_renews_it(site: Path, tmp_path: Path,
                                                                     pagefind: None):
    options = BuildOptions(cache_dir=tmp_path / "cache")
    build_site(site, tmp_path / "out", options)
    before = tree_digest(tmp_path / "out" / "pagefind")
    (site / "content/pages/kontakt.md").write_text(PAGE.replace("Schreiben", "Rufen"), encoding="utf-8")
    quick = build_site(site, tmp_path / "out", BuildOptions(cache_dir=tmp_path / "cache", search=False))
    assert quick.search_seconds is None and quick.rendered > 0
    assert tree_digest(tmp_path / "out" / "pagefind") == before  # the last index, unchanged
    renewed = build_site(site, tmp_path / "out", options)
    assert renewed.search_seconds is not None
    assert "Rufen Sie dem Präventionsrat" in _records(tmp_path / "out")["/kontakt/"]["content"]


def test_damaged_cached_index_is_made_again(site: Path, tmp_path: Path, pagefind: None):
    options = BuildOptions(cache_dir=tmp_path / "cache")
    build_site(site, tmp_path / "one", options)
    cached = next((tmp_path / "cache" / "search").glob("*/pagefind.js"))
    cached.write_bytes(b"kaputt")
    report = build_site(site, tmp_path / "two", options)
    assert report.search_seconds is not None
    assert tree_digest(tmp_path / "one") == tree_digest(tmp_path / "two")


def test_filter_files_are_the_same_whatever_order_pagefind_wrote_them_in(site: Path, pagefind: None):
    """Pagefind 1.5.2 writes filter values in hash-map order; the build sorts them."""
    from kpr_site import search

    out = _built(site)
    bundle = out / "pagefind"
    for packed in bundle.rglob("*.gz"):  # the build's .gz siblings; Pagefind's bundle has none
        packed.unlink()
    before = tree_digest(bundle)
    for file in (bundle / "filter").iterdir():  # write every filter file in reversed order
        data = search._unpack(file)
        start = search._expect_array(data, 0, 2)
        name_end = search._skip(data, start)
        count, pos = search._array(data, name_end)
        items = []
        for _ in range(count):
            end = search._skip(data, pos)
            items.append(data[pos:end])
            pos = end
        assert count >= 2
        file.unlink()
        search._pack(bundle / "filter" / f"de_{count}{file.name[3:]}",
                     data[:name_end] + search._head(4, count) + b"".join(reversed(items)))
    assert tree_digest(bundle) != before
    search._stable_filters(bundle, search._published_files(bundle))
    assert tree_digest(bundle) == before


def test_two_clean_builds_give_the_same_index(site: Path, tmp_path: Path, pagefind: None):
    build_site(site, tmp_path / "one", BuildOptions(use_cache=False))
    build_site(site, tmp_path / "two", BuildOptions(use_cache=False))
    assert tree_digest(tmp_path / "one" / "pagefind") == tree_digest(tmp_path / "two" / "pagefind")


# --- when Pagefind is missing or fails ----------------------------------------------------


def test_missing_pagefind_is_explained_in_german(site: Path, monkeypatch, capsys):  # type: ignore[no-untyped-def]
    monkeypatch.delenv("PAGEFIND_BINARY_PATH", raising=False)
    monkeypatch.setitem(sys.modules, "pagefind_bin", None)  # import fails as if not installed
    assert main(["build", "--source", str(site)]) == 1
    err = capsys.readouterr().err
    assert "pyproject.toml: Die Suche braucht das Programm Pagefind, es ist aber nicht installiert." in err
    assert "→ Installieren Sie kpr-site neu: pip install -e ." in err
    assert not (site / "build").exists()


def test_failing_pagefind_keeps_the_previous_site(site: Path, tmp_path: Path, monkeypatch, pagefind: None):  # type: ignore[no-untyped-def]
    out = _built(site)
    before = tree_digest(out)
    fake = tmp_path / "pagefind"
    fake.write_text("#!/bin/sh\necho 'Error: kein Platz auf dem Gerät' >&2\nexit 3\n", encoding="utf-8")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PAGEFIND_BINARY_PATH", str(fake))
    (site / "content/pages/kontakt.md").write_text(PAGE + "Neu.\n", encoding="utf-8")
    with pytest.raises(BuildFailed) as failed:
        build_site(site, out)
    error = failed.value.errors[0]
    assert error.message == "Pagefind konnte den Suchindex nicht erzeugen: Error: kein Platz auf dem Gerät"
    assert error.hint and error.location
    assert tree_digest(out) == before


def test_pagefind_path_that_is_no_program_is_explained(site: Path, tmp_path: Path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PAGEFIND_BINARY_PATH", str(tmp_path / "fehlt"))
    with pytest.raises(BuildFailed) as failed:
        build_site(site, tmp_path / "out", BuildOptions(use_cache=False))
    error = failed.value.errors[0]
    assert error.message == f"PAGEFIND_BINARY_PATH nennt kein Programm: {tmp_path / 'fehlt'}"
    assert error.location is not None and error.hint
