"""Links between content files: rewritten to the target's URL, or a located error."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SITE_YAML, HtmlFacts, press, read_page

PAGE = "---\ntitle: {title}\n---\n{body}\n"


def page(title: str = "Seite", body: str = "") -> str:
    return PAGE.format(title=title, body=body)


def hrefs(out: Path, url: str, *texts: str) -> list[str]:
    """hrefs of the links with these texts on the page at `url`, in document order (the
    texts are chosen so that the page frame has no link of the same name)."""
    return [href for text, href in read_page(out, url).links() if text in texts]


def test_relative_links_to_content_files_become_their_urls(make_site, build):
    root = make_site({
        "content/press/2017-02-10-neu.md": press(body=(
            "[Förderung](../pages/foerderung.md), [Projekt](../projects/klar.md), "
            "[Rat](../members.yaml)")),
        "content/pages/foerderung.md": page("Förderung", (
            "[Kontakt](kontakt.md) [Neu](../press/2017-02-10-neu.md) [Auch Kontakt](./kontakt.md)")),
        "content/pages/kontakt.md": page("Kontakt"),
        "content/projects/klar.md": "---\ntitle: Klar\nstatus: laufend\n---\n",
    })
    code, _, err = build(root)
    assert code == 0, err
    out = root / "build"
    assert hrefs(out, "/presse/2017/neu/", "Förderung", "Projekt", "Rat") == [
        "/foerderung/", "/projekte/klar/", "/praeventionsrat/"]
    assert hrefs(out, "/foerderung/", "Kontakt", "Neu", "Auch Kontakt") == [
        "/kontakt/", "/presse/2017/neu/", "/kontakt/"]


def test_fragment_of_a_rewritten_link_is_kept(make_site, build):
    root = make_site({
        "content/pages/a.md": page("A", "[Antrag](b.md#antrag-stellen)"),
        "content/pages/b.md": page("B", "## Antrag stellen"),
    })
    assert build(root)[0] == 0
    assert hrefs(root / "build", "/a/", "Antrag") == ["/b/#antrag-stellen"]


def test_links_in_site_intro_are_relative_to_content_folder(make_site, build):
    root = make_site({
        "content/site.yaml": SITE_YAML.replace("intro: Willkommen beim **Testrat**.",
                                               "intro: Siehe [Kontakt](pages/kontakt.md)."),
        "content/pages/kontakt.md": page("Kontakt"),
    })
    code, _, err = build(root)
    assert code == 0, err
    assert "/kontakt/" in read_page(root / "build", "/").hrefs()


def test_external_mail_and_anchor_links_are_left_alone(make_site, build):
    links = "[a](https://www.landkreis-rostock.de/) [b](mailto:kpr@example.org) [c](tel:+49381) [d](#oben)"
    root = make_site({"content/pages/a.md": page("A", links)})
    assert build(root)[0] == 0
    assert hrefs(root / "build", "/a/", "a", "b", "c", "d") == [
        "https://www.landkreis-rostock.de/", "mailto:kpr@example.org", "tel:+49381", "#oben"]


def test_link_to_missing_file_is_an_error_with_file_and_line(make_site, build):
    root = make_site({"content/pages/a.md": page("A", "Erste Zeile.\n\nSiehe [Förderung](foerdrung.md).")})
    code, _, err = build(root)
    assert code == 1
    assert "content/pages/a.md:6: Der Link „foerdrung.md“ zeigt auf eine Datei, die es nicht gibt " \
           "(content/pages/foerdrung.md)." in err
    assert "Prüfen Sie den Dateinamen" in err


def test_two_broken_links_are_reported_at_their_own_lines(make_site, build):
    root = make_site({"content/pages/a.md": page("A", "[x](nix.md)\n\n[y](nix.md)")})
    code, _, err = build(root)
    assert code == 1
    assert "content/pages/a.md:4: Der Link „nix.md“" in err
    assert "content/pages/a.md:6: Der Link „nix.md“" in err


def test_link_out_of_the_site_folder_is_an_error(make_site, build):
    root = make_site({"content/pages/a.md": page("A", "[geheim](../../../etc/passwd)")})
    code, _, err = build(root)
    assert code == 1
    assert "content/pages/a.md:4: Der Link „../../../etc/passwd“ zeigt aus dem Projektordner hinaus." in err


def test_link_to_a_draft_is_an_error_unless_drafts_are_built(make_site, build):
    root = make_site({
        "content/pages/a.md": page("A", "[Bald](entwurf.md)"),
        "content/pages/entwurf.md": "---\ntitle: Entwurf\ndraft: true\n---\n",
    })
    code, _, err = build(root)
    assert code == 1
    assert "content/pages/a.md:4: Der Link „entwurf.md“ zeigt auf einen Entwurf (draft: true)" in err
    code, _, err = build(root, "--drafts")
    assert code == 0, err
    assert hrefs(root / "build", "/a/", "Bald") == ["/entwurf/"]


def test_link_to_a_page_whose_file_has_errors_says_so_not_draft(make_site, build):
    root = make_site({
        "content/pages/a.md": page("A", "[Kaputt](kaputt.md)"),
        "content/pages/kaputt.md": "---\ntitle: Kaputt\nnav_order: zwei\n---\nText.\n",
    })
    code, _, err = build(root)
    assert code == 1
    assert "content/pages/kaputt.md:3:" in err  # its own error, with its line
    assert ("content/pages/a.md:4: Der Link „kaputt.md“ zeigt auf eine Seite, die wegen der "
            "Fehler in ihrer Datei nicht erzeugt wird.") in err
    assert "Entwurf" not in err


def test_link_with_umlaut_and_percent_escapes_finds_the_file(make_site, build):
    root = make_site({
        "content/pages/a.md": page("A", "[x](förderung.md) [y](f%C3%B6rderung.md) [z](<mein text.md>)"),
        "content/pages/förderung.md": page("Förderung"),
        "content/pages/mein text.md": page("Mein Text"),
    })
    code, _, err = build(root)
    assert code == 0, err
    assert hrefs(root / "build", "/a/", "x", "y", "z") == ["/foerderung/", "/foerderung/", "/mein-text/"]


BASE = "https://x.github.io/kpr/"


@pytest.mark.parametrize("how", ["site.yaml", "--base-url"])
def test_links_get_the_base_path_of_a_project_site(make_site, build, how):
    site_yaml = SITE_YAML.replace("https://example.org/", BASE) if how == "site.yaml" else SITE_YAML
    root = make_site({
        "content/site.yaml": site_yaml,
        "content/pages/a.md": page("A", "[K](/kontakt/#weg) [B](b.md#teil) [C](#oben)"),
        "content/pages/b.md": page("B"),
    })
    code, _, err = build(root, *(["--base-url", BASE] if how == "--base-url" else []))
    assert code == 0, err
    out = root / "build"
    assert hrefs(out, "/a/", "K", "B", "C") == ["/kpr/kontakt/#weg", "/kpr/b/#teil", "#oben"]
    a = read_page(out, "/a/")
    assert "/kpr/presse/" in a.hrefs()  # navigation from the templates
    assert all(link["href"].startswith("/kpr/static/") for link in a.attrs("link")
               if link.get("rel") == "stylesheet")
    assert a.meta("og:url") == "https://x.github.io/kpr/a/"
    assert b"https://x.github.io/kpr/sitemap.xml" in (out / "robots.txt").read_bytes()


def test_text_that_looks_like_an_internal_placeholder_is_left_alone(make_site, build):
    body = 'Das Kürzel kpr-ref-0 und `href="kpr-ref-0"` und <a href="kpr-ref-9">roh</a> [K](kontakt.md)'
    root = make_site({"content/pages/a.md": page("A", body),
                      "content/pages/kontakt.md": page("Kontakt")})
    code, _, err = build(root)
    assert code == 0, err
    html = (root / "build/a/index.html").read_text()
    assert "Das Kürzel kpr-ref-0 und" in html
    assert '<code>href="kpr-ref-0"</code>' in html
    assert hrefs(root / "build", "/a/", "roh", "K") == ["kpr-ref-9", "/kontakt/"]


def test_link_fragment_cannot_break_out_of_its_attribute(make_site, build):
    root = make_site({
        "content/pages/a.md": page(
            "A", '[x](<b.md#x" onmouseover="alert(1)>) [y](</b/#y" onclick="alert(2)>)'),
        "content/pages/b.md": page("B"),
    })
    build(root)
    html = (root / "build/a/index.html").read_text()
    attributes = {name for _, attrs in HtmlFacts(html).tags for name in attrs}
    assert not {"onmouseover", "onclick"} & attributes
