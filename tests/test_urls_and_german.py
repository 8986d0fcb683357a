"""The URL scheme, and German dates, numbers, slugs and typography."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from pathlib import PurePosixPath

import pytest
from conftest import HtmlFacts, output_path, press, read_page, releases_linked
from hypothesis import given
from hypothesis import strategies as st

from kpr_site import german, urls
from kpr_site.config import normalise_base_url
from kpr_site.fields import Invalid
from kpr_site.markup import convert
from kpr_site.model import Contact, SiteConfig

# --- URL scheme ---------------------------------------------------------------------------


def test_url_scheme_of_each_content_type():
    assert urls.press_url(dt.date(2017, 2, 10), "neustart") == "/presse/2017/neustart/"
    assert urls.year_url(2017) == "/presse/2017/"
    assert urls.press_page_url(1) == "/presse/"
    assert urls.press_page_url(2) == "/presse/seite/2/"
    assert urls.project_url("klarer-kopf") == "/projekte/klarer-kopf/"
    assert urls.page_url("kontakt") == "/kontakt/"
    assert urls.topic_url("Suchtprävention") == "/themen/suchtpraevention/"
    assert urls.MEMBERS_URL == "/praeventionsrat/"
    assert urls.FEED_URL == "/presse/feed.xml"


@pytest.mark.parametrize(("url", "file"), [
    ("/", "index.html"),
    ("/presse/", "presse/index.html"),
    ("/presse/seite/2/", "presse/seite/2/index.html"),
    ("/presse/feed.xml", "presse/feed.xml"),
    ("/404.html", "404.html"),
])
def test_url_maps_to_output_file(url, file):
    assert urls.output_file(url) == PurePosixPath(file)


def test_content_files_get_their_urls(make_site, build):
    root = make_site({
        "content/press/2017-02-10-neustart.md": press(),
        "content/projects/klarer-kopf.md": "---\ntitle: Klarer Kopf\nstatus: laufend\n---\n",
        "content/pages/kontakt.md": "---\ntitle: Kontakt\n---\n",
        "content/members.yaml": "- name: Anja Kerl\n  sector: Verwaltung\n",
    })
    assert build(root)[0] == 0
    for url in ("/presse/2017/neustart/", "/projekte/klarer-kopf/", "/kontakt/", "/praeventionsrat/"):
        assert output_path(root / "build", url).is_file(), url


def test_umlauts_in_file_names_are_transliterated_in_urls(make_site, build):
    root = make_site({
        "content/press/2017-02-10-Übung-für-Straßen.md": press(),
        "content/pages/Öffnungszeiten.md": "---\ntitle: Öffnungszeiten\n---\n",
        # macOS writes decomposed umlauts (NFD); they must give the same URL.
        unicodedata.normalize("NFD", "content/projects/Prävention.md"):
            "---\ntitle: Prävention\nstatus: geplant\n---\n",
    })
    assert build(root)[0] == 0
    for url in ("/presse/2017/uebung-fuer-strassen/", "/oeffnungszeiten/", "/projekte/praevention/"):
        assert output_path(root / "build", url).is_file(), url


def releases(count: int, year: int = 2017) -> dict[str, str]:
    start = dt.date(year, 1, 1)
    files = {}
    for n in range(count):
        day = start + dt.timedelta(days=n)
        files[f"content/press/{day}-m{n:02d}.md"] = press(day.isoformat(), f"Mitteilung {n:02d}")
    return files


def test_press_list_is_paginated_ten_per_page(make_site, build):
    root = make_site(releases(23))
    assert build(root)[0] == 0
    out = root / "build"
    pages = [read_page(out, url) for url in ("/presse/", "/presse/seite/2/", "/presse/seite/3/")]
    listed = [releases_linked(page) for page in pages]
    assert [len(t) for t in listed] == [10, 10, 3]
    assert listed[0][0] == "/presse/2017/m22/"  # newest first
    assert listed[2][-1] == "/presse/2017/m00/"
    assert not output_path(out, "/presse/seite/1/").exists()
    assert not output_path(out, "/presse/seite/4/").exists()
    rel = [{a["rel"]: a["href"] for a in page.attrs("a") if a.get("rel")} for page in pages]
    assert rel[0] == {"next": "/presse/seite/2/"}
    assert rel[1] == {"prev": "/presse/", "next": "/presse/seite/3/"}
    assert rel[2] == {"prev": "/presse/seite/2/"}


def test_exactly_ten_releases_fit_on_one_page(make_site, build):
    root = make_site(releases(10))
    assert build(root)[0] == 0
    assert len(releases_linked(read_page(root / "build", "/presse/"))) == 10
    assert not (root / "build/presse/seite").exists()


def test_year_archives_hold_the_releases_of_their_year(make_site, build):
    root = make_site({**releases(2, 2017), **releases(3, 2018)})
    assert build(root)[0] == 0
    out = root / "build"
    assert len(releases_linked(read_page(out, "/presse/2017/"))) == 2
    assert len(releases_linked(read_page(out, "/presse/2018/"))) == 3
    assert {"/presse/2017/", "/presse/2018/"} <= set(read_page(out, "/presse/").hrefs())


def test_topic_pages_live_under_themen(make_site, build):
    root = make_site({"content/press/2017-02-10-a.md": press(tags="[Kriminalitätsschutz, Straße & Verkehr]")})
    assert build(root)[0] == 0
    for url in ("/themen/", "/themen/kriminalitaetsschutz/", "/themen/strasse-verkehr/"):
        assert output_path(root / "build", url).is_file(), url


def test_sitemap_lists_every_page_but_not_the_404_page(make_site, build):
    root = make_site({"content/press/2017-02-10-neu.md": press()})
    assert build(root)[0] == 0
    sitemap = (root / "build/sitemap.xml").read_text()
    locs = re.findall(r"<loc>(.*?)</loc>", sitemap)
    assert "https://example.org/presse/2017/neu/" in locs
    assert "https://example.org/" in locs
    assert not [loc for loc in locs if "404" in loc]
    assert locs == sorted(locs)


# --- German dates and numbers -------------------------------------------------------------


@pytest.mark.parametrize(("date", "long", "short"), [
    (dt.date(2017, 2, 10), "10. Februar 2017", "10.02.2017"),
    (dt.date(2017, 3, 1), "1. März 2017", "01.03.2017"),
    (dt.date(2020, 12, 31), "31. Dezember 2020", "31.12.2020"),
    (dt.date(2021, 1, 5), "5. Januar 2021", "05.01.2021"),
])
def test_dates_in_german_form(date, long, short):
    assert german.date_long(date) == long
    assert german.date_short(date) == short


def test_every_month_has_its_german_name():
    names = [german.date_long(dt.date(2017, m, 1)).split()[1] for m in range(1, 13)]
    assert names == ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
                     "September", "Oktober", "November", "Dezember"]


@pytest.mark.parametrize(("value", "text"), [
    (0, "0"), (999, "999"), (1000, "1.000"), (15000, "15.000"), (1234567, "1.234.567"),
    (15000.0, "15.000"), (1234.5, "1.234,50"), (0.5, "0,50"),
])
def test_numbers_in_german_form(value, text):
    assert german.number(value) == text


@pytest.mark.parametrize(("value", "decimals", "text"), [
    (0.5612, 2, "0,56"), (12.0, 2, "12,00"), (1234.56, 1, "1.234,6"), (999.96, 1, "1.000,0"),
    (117.4, 0, "117"), (12345.678, 0, "12.346"),
])
def test_numbers_with_a_fixed_number_of_decimals(value, decimals, text):
    assert german.number(value, decimals) == text


def test_counts_agree_with_their_noun():
    assert german.counted(1, "Datei", "Dateien") == "1 Datei"
    assert german.counted(0, "Datei", "Dateien") == "0 Dateien"
    assert german.counted(10000, "offener", "offene") == "10.000 offene"


def test_euro_amounts_have_a_no_break_space_before_the_sign():
    assert german.euro(15000) == "15.000\u00a0€"
    assert german.euro(1000) == "1.000\u00a0€"


def test_date_and_amount_reach_the_page(make_site, build):
    root = make_site({"content/projects/p.md": (
        "---\ntitle: P\nstatus: laufend\nstart: 2017-02-10\n"
        "funding:\n  program: Mikroprojekte\n  amount_eur: 1000\n---\n")})
    assert build(root)[0] == 0
    html = output_path(root / "build", "/projekte/p/").read_text()
    assert '<time datetime="2017-02-10">10. Februar 2017</time>' in html
    assert "1.000\u00a0€" in html


# --- German slugs -------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "slug"), [
    ("Suchtprävention", "suchtpraevention"),
    ("Straße", "strasse"),
    ("Öffentliche Übung", "oeffentliche-uebung"),
    ("ÄÖÜ ẞ", "aeoeue-ss"),
    (unicodedata.normalize("NFD", "Prävention"), "praevention"),
    ("Café", "cafe"),
    ("  Straße & Verkehr!  ", "strasse-verkehr"),
    ("2017: Neustart", "2017-neustart"),
])
def test_slugs_transliterate_german_letters(text, slug):
    assert german.slugify(text) == slug


@given(st.text())
def test_slugs_are_lowercase_ascii_words_joined_by_hyphens(text):
    slug = german.slugify(text)
    assert re.fullmatch(r"([a-z0-9]+(-[a-z0-9]+)*)?", slug)
    assert german.slugify(slug) == slug


# --- Markdown: German typography, anchors, footnotes, tables -------------------------------


def test_straight_double_quotes_become_german_quotes():
    html = convert('Er sagte "Hallo Welt".', "content/pages/a.md").html
    assert "„Hallo Welt“" in html


@pytest.mark.parametrize(("markdown", "expected"), [
    ('"**fett**" und ("Klammer")', "„<strong>fett</strong>“ und („Klammer“)"),
    ("geht's weiter ... gleich -- sofort --- jetzt", "geht’s weiter … gleich – sofort — jetzt"),
    ('`"code"` bleibt', '<code>"code"</code> bleibt'),
    ('Er sagte \\"roh\\"', 'Er sagte "roh"'),
    ("'einfach' zitiert", "‚einfach’ zitiert"),
])
def test_typography_follows_german_rules_and_spares_code(markdown, expected):
    assert expected in convert(markdown, "content/pages/a.md").html


def test_german_quotes_reach_the_page(make_site, build):
    root = make_site({"content/press/2017-02-10-neu.md": press(body='Sie sagte "Ja".')})
    assert build(root)[0] == 0
    assert "Sie sagte „Ja“." in read_page(root / "build", "/presse/2017/neu/").text("p")


def test_heading_anchors_are_german_safe_and_unique():
    body = "## Übersicht & Ziele\n\n## Straße der Prävention\n\n## Übersicht & Ziele\n"
    converted = convert(body, "content/pages/a.md")
    ids = [values["id"] for tag, values in HtmlFacts(converted.html).tags if tag == "h2"]
    assert ids == ["uebersicht-ziele", "strasse-der-praevention", "uebersicht-ziele_1"]
    assert set(ids) <= set(converted.anchors)


def test_link_to_a_heading_anchor_on_the_same_page_is_kept(make_site, build):
    root = make_site({"content/pages/a.md": "---\ntitle: A\n---\n## Förderung\n\n[nach oben](#foerderung)\n"})
    assert build(root)[0] == 0
    page = read_page(root / "build", "/a/")
    assert "foerderung" in page.ids
    assert "#foerderung" in page.hrefs()


def test_footnotes_link_both_ways(make_site, build):
    root = make_site({"content/pages/a.md": "---\ntitle: A\n---\nText[^1].\n\n[^1]: Die Fußnote.\n"})
    assert build(root)[0] == 0
    facts = read_page(root / "build", "/a/")
    assert "#fn:1" in facts.hrefs() and "#fnref:1" in facts.hrefs()
    assert {"fn:1", "fnref:1"} <= set(facts.ids)
    assert "Die Fußnote." in facts.text("li", id="fn:1")[0]
    backref = [a for a in facts.attrs("a") if a.get("class") == "footnote-backref"]
    assert backref[0]["title"].startswith("Zurück zur Fußnotenmarke")


def test_tables_become_html_tables():
    facts = HtmlFacts(convert("| Projekt | Betrag |\n|---|---|\n| Klein | 1.000 € |\n",
                              "content/pages/a.md").html)
    assert facts.text("th") == ["Projekt", "Betrag"]
    assert facts.text("td") == ["Klein", "1.000 €"]


def test_attribute_lists_set_ids_and_classes():
    facts = HtmlFacts(convert("## Feedback {: #feedback .wichtig }\n", "content/pages/a.md").html)
    assert facts.attrs("h2") == [{"id": "feedback", "class": "wichtig"}]


def test_heading_named_like_the_skip_link_target_does_not_steal_it(make_site, build):
    root = make_site({"content/pages/a.md": "---\ntitle: A\n---\n## Inhalt\n\nText.\n\n[Inhalt](#inhalt)\n"})
    assert build(root)[0] == 0
    page = read_page(root / "build", "/a/")
    assert len(page.ids) == len(set(page.ids))
    skip = page.hrefs()[0]  # the skip link comes first
    assert skip.startswith("#")
    targets = [tag for tag, attrs in page.tags if attrs.get("id") == skip[1:]]
    assert targets == ["main"]


@pytest.mark.parametrize(("given_url", "base_url", "base_path"), [
    ("https://praeventionsrat.landkreis-rostock.de", "https://praeventionsrat.landkreis-rostock.de/", "/"),
    ("https://x.github.io/kpr", "https://x.github.io/kpr/", "/kpr/"),
    ("https://x.gitlab.io/a/b/", "https://x.gitlab.io/a/b/", "/a/b/"),
])
def test_base_url_is_normalised_and_gives_the_base_path(given_url, base_url, base_path):
    assert normalise_base_url(given_url) == base_url
    config = SiteConfig("T", "D", base_url, "de", Contact("N"), ())
    assert config.base_path == base_path


@pytest.mark.parametrize("bad", ["example.org", "ftp://example.org/", "https://", "/kpr/"])
def test_base_url_must_be_a_web_address(bad):
    with pytest.raises(Invalid, match="keine vollständige Webadresse"):
        normalise_base_url(bad)


@given(st.lists(st.text(min_size=1, max_size=20).map(lambda t: "/" + t), min_size=1, max_size=8),
       st.sampled_from(["https://example.org/", "https://example.org/a&b/"]))
def test_sitemap_text_is_what_elementtree_writes(paths: list[str], base: str) -> None:
    """The sitemap is written as text for speed: byte for byte what the XML library makes of
    the same URLs (escaping included). A site always has its home page: never an empty list."""
    import xml.etree.ElementTree as ET

    from kpr_site import feeds

    site = type("S", (), {"config": type("C", (), {"base_url": base})()})()
    safe = sorted({p for p in paths if all(c.isprintable() and ord(c) < 0xD800 for c in p)} | {"/"})
    ET.register_namespace("", feeds.SITEMAP)
    root = ET.Element(f"{{{feeds.SITEMAP}}}urlset")
    for path in safe:
        entry = ET.SubElement(root, f"{{{feeds.SITEMAP}}}url")
        ET.SubElement(entry, f"{{{feeds.SITEMAP}}}loc").text = feeds._abs(site, path)  # type: ignore[arg-type]
    expected = bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True)) + b"\n"
    assert feeds.sitemap(site, safe) == expected  # type: ignore[arg-type]
