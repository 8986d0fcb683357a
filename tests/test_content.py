"""Each content type an editor writes becomes the pages it should, with the right facts on them."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from conftest import HtmlFacts, output_path, press, projects_linked, read_page, releases_linked

from kpr_site.load import load_site

ATOM = "{http://www.w3.org/2005/Atom}"
NBSP = "\u00a0"


def built(make_site, build, files: dict[str, str], *args: str) -> Path:  # type: ignore[no-untyped-def]
    root = make_site(files)
    code, _, err = build(root, *args)
    assert code == 0, err
    return root / "build"


# --- press releases -----------------------------------------------------------------------


def test_press_release_page_shows_title_german_date_source_author_and_tags(make_site, build):
    out = built(make_site, build, {"content/press/2017-02-10-neustart.md": press(
        title="Präventionsrat startet neu", body="Der **Rat** tagt.",
        source="Pressemitteilung des Landkreises Rostock vom 10.02.2017",
        author="Pressestelle", tags="[Suchtprävention, Jugend]",
        summary="Der Rat beginnt seine Arbeit.")})
    page = read_page(out, "/presse/2017/neustart/")
    assert page.text("h1") == ["Präventionsrat startet neu"]
    assert page.attrs("time")[0]["datetime"] == "2017-02-10"
    assert "10. Februar 2017" in page.text("time")
    text = " ".join(page.text("main"))
    assert "Pressemitteilung des Landkreises Rostock vom 10.02.2017" in text
    assert "Pressestelle" in text
    assert "/themen/suchtpraevention/" in page.hrefs()
    assert "/themen/jugend/" in page.hrefs()
    assert page.text("strong") == ["Rat"]
    assert page.meta("description") == "Der Rat beginnt seine Arbeit."
    assert page.meta("og:type") == "article"


def test_press_list_shows_releases_newest_first(make_site, build):
    out = built(make_site, build, {
        "content/press/2017-02-10-alt.md": press("2017-02-10", "Alte Mitteilung"),
        "content/press/2018-05-01-neu.md": press("2018-05-01", "Neue Mitteilung"),
    })
    assert releases_linked(read_page(out, "/presse/")) == ["/presse/2018/neu/", "/presse/2017/alt/"]


def test_press_detail_links_older_and_newer_release(make_site, build):
    out = built(make_site, build, {
        f"content/press/2017-0{m}-01-m{m}.md": press(f"2017-0{m}-01", f"Mitteilung {m}")
        for m in (1, 2, 3)
    })
    middle = read_page(out, "/presse/2017/m2/")
    links = {a.get("rel"): a["href"] for a in middle.attrs("a") if a.get("rel")}
    assert links == {"prev": "/presse/2017/m1/", "next": "/presse/2017/m3/"}


def test_draft_press_release_is_left_out_unless_drafts_is_given(make_site, build):
    root = make_site({
        "content/press/2017-02-10-fertig.md": press(title="Fertig"),
        "content/press/2017-03-01-entwurf.md": press("2017-03-01", "Entwurf", draft="true"),
    })
    assert build(root)[0] == 0
    assert not output_path(root / "build", "/presse/2017/entwurf/").exists()
    assert b"Entwurf" not in (root / "build/presse/feed.xml").read_bytes()
    assert b"entwurf" not in (root / "build/sitemap.xml").read_bytes()
    assert build(root, "--drafts")[0] == 0
    assert read_page(root / "build", "/presse/2017/entwurf/").text("h1") == ["Entwurf"]


def test_home_shows_intro_latest_five_releases_and_the_contact_once(make_site, build):
    out = built(make_site, build, {
        f"content/press/2017-01-{d:02d}-p{d}.md": press(f"2017-01-{d:02d}", f"Mitteilung {d}")
        for d in range(1, 8)
    })
    home = read_page(out, "/")
    assert home.text("strong") == ["Testrat"]  # intro is Markdown
    assert releases_linked(home) == [f"/presse/2017/p{d}/" for d in (7, 6, 5, 4, 3)]
    # The footer carries the contact on every page; the home page does not repeat it.
    assert "Erika Muster" not in " ".join(home.text("main"))
    assert "Erika Muster" in " ".join(home.text("footer"))


def test_atom_feed_lists_press_releases_with_absolute_links(make_site, build):
    out = built(make_site, build, {"content/press/2017-02-10-neustart.md": press(
        title="Neustart", tags="[Jugend]", summary="Kurz.")})
    feed = ET.parse(out / "presse/feed.xml").getroot()
    assert feed.tag == f"{ATOM}feed"
    (entry,) = feed.findall(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}title") == "Neustart"
    assert entry.find(f"{ATOM}link").get("href") == "https://example.org/presse/2017/neustart/"
    assert entry.findtext(f"{ATOM}updated") == "2017-02-10T00:00:00Z"
    assert entry.findtext(f"{ATOM}summary") == "Kurz."
    assert entry.find(f"{ATOM}category").get("term") == "Jugend"
    assert "<p>Text.</p>" in entry.findtext(f"{ATOM}content")


# --- topics -------------------------------------------------------------------------------


def test_topic_page_collects_releases_and_projects_of_one_topic(make_site, build):
    out = built(make_site, build, {
        "content/press/2017-02-10-sucht.md": press(title="Suchtwoche", tags="[Suchtprävention]"),
        "content/projects/klar.md": "---\ntitle: Klarer Kopf\nstatus: laufend\n"
                                    "topics: [Suchtprävention]\n---\n",
    })
    topic = read_page(out, "/themen/suchtpraevention/")
    assert topic.text("h1") == ["Thema: Suchtprävention"]
    assert "/presse/2017/sucht/" in topic.hrefs()
    assert "/projekte/klar/" in topic.hrefs()
    index = read_page(out, "/themen/")
    assert "/themen/suchtpraevention/" in index.hrefs()


def test_spellings_of_one_topic_share_one_page(make_site, build):
    out = built(make_site, build, {
        "content/press/2017-02-10-a.md": press(title="A", tags="[Suchtprävention]"),
        "content/press/2017-02-11-b.md": press("2017-02-11", "B", tags="[suchtprävention]"),
    })
    topic = read_page(out, "/themen/suchtpraevention/")
    assert {"/presse/2017/a/", "/presse/2017/b/"} <= set(topic.hrefs())


# --- projects -----------------------------------------------------------------------------

PROJECT = """\
---
title: Sicher zur Schule
status: laufend
summary: Schulwegtraining für Erstklässler.
topics: [Verkehrssicherheit]
funding:
  program: Landesrat für Kriminalitätsvorbeugung MV
  amount_eur: 15000
start: 2017-03-01
end: 2017-12-31
place: Güstrow
target_group: Grundschulkinder
contact: Büro für Chancengleichheit
---
Kinder üben den Schulweg.
"""


def test_project_page_shows_status_funding_in_euro_and_period(make_site, build):
    out = built(make_site, build, {"content/projects/sicher-zur-schule.md": PROJECT})
    page = read_page(out, "/projekte/sicher-zur-schule/")
    assert page.text("h1") == ["Sicher zur Schule"]
    facts = dict(zip(page.text("dt"), page.text("dd"), strict=True))
    assert facts["Status"] == "Laufend"
    assert facts["Förderung"] == f"Landesrat für Kriminalitätsvorbeugung MV: 15.000{NBSP}€"
    assert facts["Zeitraum"].startswith("1. März 2017 ")
    assert facts["Zeitraum"].endswith(" 31. Dezember 2017")
    assert facts["Ort"] == "Güstrow"
    assert facts["Zielgruppe"] == "Grundschulkinder"
    assert facts["Kontakt"] == "Büro für Chancengleichheit"
    assert "/themen/verkehrssicherheit/" in page.hrefs()
    assert "Kinder üben den Schulweg." in page.text("p")


def project(title: str, status: str) -> str:
    """Front matter of a project with nothing but a title and a status."""
    return f"---\ntitle: {title}\nstatus: {status}\n---\n"


def test_project_list_groups_running_then_planned_then_finished(make_site, build):
    out = built(make_site, build, {
        "content/projects/a.md": project("Altes Projekt", "abgeschlossen"),
        "content/projects/b.md": project("Bald", "geplant"),
        "content/projects/c.md": project("Copy", "laufend"),
    })
    page = read_page(out, "/projekte/")
    statuses = ["laufend", "geplant", "abgeschlossen"]
    headings = page.text("h2")[:3]
    assert all(s in h.lower() for s, h in zip(statuses, headings, strict=True)), headings
    assert projects_linked(page) == ["/projekte/c/", "/projekte/b/", "/projekte/a/"]


def test_project_list_leaves_out_empty_status_groups(make_site, build):
    out = built(make_site, build, {
        "content/projects/a.md": "---\ntitle: A\nstatus: geplant\n---\n"})
    headings = " ".join(read_page(out, "/projekte/").text("h2")).lower()
    assert "geplant" in headings
    assert "laufend" not in headings


# --- pages --------------------------------------------------------------------------------


def test_standalone_page_is_published_under_its_slug(make_site, build):
    out = built(make_site, build, {
        "content/pages/foerderung.md": "---\ntitle: Förderung\n---\nBis zu 1.000 € je Projekt.\n"})
    page = read_page(out, "/foerderung/")
    assert page.text("h1") == ["Förderung"]
    assert "Bis zu 1.000 € je Projekt." in page.text("p")
    assert page.meta("og:type") == "website"


def test_legal_pages_are_linked_in_every_footer(make_site, build):
    out = built(make_site, build, {
        "content/pages/impressum.md": "---\ntitle: Impressum\n---\n",
        "content/pages/datenschutz.md": "---\ntitle: Datenschutzerklärung\n---\n",
        "content/pages/barrierefreiheit.md": "---\ntitle: Erklärung zur Barrierefreiheit\n---\n"
                                             "## Feedback {: #feedback }\n",
    })
    for url in ("/", "/presse/", "/impressum/", "/404.html"):
        footer = read_page(out, url)
        assert {"/impressum/", "/datenschutz/", "/barrierefreiheit/",
                "/barrierefreiheit/#feedback"} <= set(footer.hrefs()), url


def test_feedback_link_uses_feedback_email_when_site_yaml_has_one(make_site, build):
    from conftest import SITE_YAML

    out = built(make_site, build, {
        "content/site.yaml": SITE_YAML + "feedback_email: barrieren@example.org\n"})
    assert "mailto:barrieren@example.org" in read_page(out, "/").hrefs()


def test_pages_are_ordered_by_nav_order_then_title(make_site):
    root = make_site({
        "content/pages/b.md": "---\ntitle: Beta\n---\n",
        "content/pages/a.md": "---\ntitle: Alpha\nnav_order: 2\n---\n",
        "content/pages/z.md": "---\ntitle: Zulu\nnav_order: 1\n---\n",
    })
    loaded = load_site(root)
    assert loaded.errors == []
    assert [p.title for p in loaded.site.pages] == ["Beta", "Zulu", "Alpha"]


# --- members ------------------------------------------------------------------------------

MEMBERS = """\
intro: Der Rat hat **20** Mitglieder.
members:
  - name: Paul Polizist
    sector: Polizei
  - name: Vera Verwaltung
    role: Stellvertretung
    sector: Verwaltung
  - name: Anja Kerl
    role: Vorsitzende
    function: Dezernentin für Finanzen und Soziales
    organisation: Landkreis Rostock
    sector: Verwaltung
  - name: Bernd Bund
    sector: Verbände
"""


def test_members_page_groups_by_sector_with_chair_first(make_site, build):
    out = built(make_site, build, {"content/members.yaml": MEMBERS})
    page = read_page(out, "/praeventionsrat/")
    assert page.text("h1") == ["Der Präventionsrat"]
    assert page.text("h2")[:3] == ["Polizei", "Verwaltung", "Verbände"]
    text = " ".join(page.text("main"))
    names = ["Paul Polizist", "Anja Kerl", "Vera Verwaltung", "Bernd Bund"]
    assert sorted(names, key=text.index) == names
    assert "Dezernentin für Finanzen und Soziales" in text
    assert page.text("strong") == ["20"]
    assert any("4 Mitglieder" in text for text in page.text("p"))


def test_members_yaml_may_be_a_plain_list(make_site, build):
    out = built(make_site, build, {
        "content/members.yaml": "- name: Anja Kerl\n  role: Vorsitzende\n  sector: Verwaltung\n"})
    assert "Anja Kerl" in " ".join(read_page(out, "/praeventionsrat/").text("main"))


def test_members_page_exists_without_members_yaml(make_site, build):
    out = built(make_site, build, {})
    assert read_page(out, "/praeventionsrat/").text("h1") == ["Der Präventionsrat"]


# --- site.yaml ----------------------------------------------------------------------------


def test_site_yaml_sets_title_navigation_language_and_canonical_urls(make_site, build):
    out = built(make_site, build, {"content/pages/kontakt.md": "---\ntitle: Kontakt\n---\n"})
    page = read_page(out, "/kontakt/")
    assert page.text("title") == ["Kontakt – Testrat"]
    nav = [a["href"] for a in page.attrs("a")][:6]
    assert "/" in nav and "/presse/" in nav
    assert page.attrs("html")[0]["lang"] == "de"
    canonical = [link["href"] for link in page.attrs("link") if link.get("rel") == "canonical"]
    assert canonical == ["https://example.org/kontakt/"]
    assert page.meta("og:url") == "https://example.org/kontakt/"
    assert page.meta("og:site_name") == "Testrat"
    assert read_page(out, "/").meta("description") == "Eine Test-Website."


def test_navigation_marks_the_current_page(make_site, build):
    out = built(make_site, build, {"content/press/2017-02-10-neu.md": press()})
    current = {a["href"]: a.get("aria-current") for a in read_page(out, "/presse/").attrs("a")
               if a.get("aria-current")}
    assert current == {"/presse/": "page"}


def test_base_url_option_overrides_site_yaml(make_site, build):
    root = make_site({})
    assert build(root, "--base-url", "https://vorschau.example.net")[0] == 0
    home = read_page(root / "build", "/")
    assert home.meta("og:url") == "https://vorschau.example.net/"


def test_generated_files_are_all_there(make_site, build):
    out = built(make_site, build, {"content/press/2017-02-10-neu.md": press()})
    for url in ("/", "/presse/", "/presse/2017/", "/presse/2017/neu/", "/presse/feed.xml",
                "/projekte/", "/themen/", "/praeventionsrat/", "/404.html", "/sitemap.xml",
                "/robots.txt"):
        assert output_path(out, url).is_file(), url
    css = list((out / "static").glob("site.*.css"))
    assert len(css) == 1
    assert HtmlFacts((out / "404.html").read_text()).text("h1") == ["Seite nicht gefunden"]


def test_home_teases_three_projects_running_first(make_site, build):
    out = built(make_site, build, {
        "content/projects/a.md": project("Alpha", "abgeschlossen"),
        "content/projects/b.md": project("Beta", "geplant"),
        "content/projects/c.md": project("Gamma", "laufend"),
        "content/projects/d.md": project("Delta", "geplant"),
    })
    projects = projects_linked(read_page(out, "/"))
    assert len(projects) == 3
    assert projects[0] == "/projekte/c/"
    assert "/projekte/" in read_page(out, "/").hrefs()


def test_files_saved_on_windows_with_bom_and_crlf_build(make_site, build):
    text = "\ufeff---\r\ntitle: Grüße\r\ndate: 2017-02-10\r\n---\r\nZeile eins.\r\n\r\nZeile zwei.\r\n"
    out = built(make_site, build, {"content/press/2017-02-10-gruesse.md": text.encode("utf-8")})
    page = read_page(out, "/presse/2017/gruesse/")
    assert page.text("h1") == ["Grüße"]
    assert {"Zeile eins.", "Zeile zwei."} <= set(page.text("p"))
