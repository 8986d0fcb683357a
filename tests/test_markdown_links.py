"""Valid Markdown links build correctly: e-mail autolinks, backslash escapes and character
references in destinations, autolink text.

The cases are written from the text of the CommonMark spec's sections Autolinks, Backslash
escapes, Entity and numeric character references, Links and Images. The reference for an
external link is what Python-Markdown alone emits; for an internal one, the site URL.
"""

from __future__ import annotations

import re
import shutil
import unicodedata
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import markdown
import pytest
from conftest import REPO, SITE_YAML, output_path, press
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpr_site.build import build_site
from kpr_site.errors import BuildFailed
from kpr_site.options import BuildOptions

PAGE = "---\ntitle: {title}\n---\n{body}\n"
START, END = "ANFANGSMARKE", "ENDMARKE"


def page(title: str = "Seite", body: str = "") -> str:
    return PAGE.format(title=title, body=body)


class _Anchors(HTMLParser):
    """(href as a browser reads it, link text) of every <a>, and every <img src>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []
        self.images: list[str] = []
        self._open: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "a" and "href" in values:
            self.links.append((values["href"], ""))
            self._open = []
        if tag == "img":
            self.images.append(values.get("src", ""))

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._open is not None:
            self.links[-1] = (self.links[-1][0], "".join(self._open))
            self._open = None


def parse(html: str) -> _Anchors:
    parser = _Anchors()
    parser.feed(html)
    parser.close()
    return parser


def page_text(out: Path, url: str) -> str:
    return output_path(out, url).read_text(encoding="utf-8")


def body_html(out: Path, url: str) -> str:
    """The HTML between the two markers of a page's body: the page frame's links left out."""
    html = page_text(out, url)
    return html[html.index(START):html.index(END)]


def reference_hrefs(markdown_text: str) -> list[str]:
    """hrefs of plain Python-Markdown (no kpr-site extension), decoded as a browser does."""
    md = markdown.Markdown(extensions=["abbr", "attr_list", "def_list", "fenced_code",
                                       "footnotes", "tables", "toc", "sane_lists"])
    return [href for href, _ in parse(md.convert(markdown_text)).links]


def built_hrefs(make_site, build, body: str, extra: dict[str, str] | None = None) -> list[str]:
    root = make_site({"content/pages/t.md": page("T", f"{START}\n\n{body}\n\n{END}"),
                      "content/pages/ziel.md": page("Ziel", "## Abschnitt 1"), **(extra or {})})
    code, _, err = build(root)
    assert code == 0, err
    return [href for href, _ in parse(body_html(root / "build", "/t/")).links]


# --- Autolinks (e-mail, with and without mailto:, non-ASCII domain) ---------------------------

@pytest.mark.parametrize("written, address", [
    ("<presse@landkreis-rostock.de>", "presse@landkreis-rostock.de"),
    ("<mailto:info@example.com>", "info@example.com"),
    ("<info@exämple.de>", "info@exämple.de"),
    ("<foo+special@Bar.baz-bar0.com>", "foo+special@Bar.baz-bar0.com"),
])
def test_email_autolinks_build_as_python_markdown_writes_them(make_site, build, written, address):
    body = f"E-Mail: {written}"
    assert built_hrefs(make_site, build, body) == reference_hrefs(body) == [f"mailto:{address}"]


def test_email_autolink_in_a_press_release_builds(make_site, build):
    root = make_site({"content/press/2017-02-10-neu.md": press(
        body="Kontakt:\n\nE-Mail: <presse@landkreis-rostock.de>")})
    code, _, err = build(root)
    assert code == 0, err
    assert ("mailto:presse@landkreis-rostock.de", "presse@landkreis-rostock.de") in \
        parse(page_text(root / "build", "/presse/2017/neu/")).links


@pytest.mark.parametrize("url", [
    "https://example.com/a--b...c", "http://foo.bar.baz/test?q=hello&id=22&boolean",
    "https://example.com/'quoted'", 'https://example.com/"x"',
])
def test_autolink_text_keeps_the_url_as_written(make_site, build, url):
    root = make_site({"content/pages/t.md": page("T", f"{START}\n\n<{url}>\n\n{END}")})
    code, _, err = build(root)
    assert code == 0, err
    assert parse(body_html(root / "build", "/t/")).links == [(url, url)]


# --- Backslash escapes in destinations ---------------------------------------------------------

@pytest.mark.parametrize("body, expected", [
    (r"[x](/url\*)", "/url*"),
    (r"[F](ziel\.md)", "/ziel/"),
    (r"[F](./ziel\.md#abschnitt\-1)", "/ziel/#abschnitt-1"),
    (r"[A](#abschnitt\_1)", "#abschnitt_1"),
    (r"[x](https://example.com/a\_b\*c)", "https://example.com/a_b*c"),
])
def test_backslash_escapes_in_destinations_are_resolved(make_site, build, body, expected):
    hrefs = built_hrefs(make_site, build, body)
    assert hrefs == [expected]
    if expected.startswith(("https:", "#", "/url")):
        assert hrefs == reference_hrefs(body)


def test_no_control_character_reaches_output_or_message(make_site, build):
    root = make_site({"content/pages/t.md": page("T", r"[a](#x\_y) [b](fehlt\.md) \*")})
    code, _, err = build(root)
    assert code == 1
    assert "content/pages/t.md:4: Der Link „fehlt.md“ zeigt auf eine Datei, die es nicht gibt" in err
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", err)


# --- Entity and numeric character references --------------------------------------------------

@pytest.mark.parametrize("body, expected", [
    ("[a](/f&ouml;&ouml;)", "/föö"),
    ("[a](https://example.com/?a=1&amp;b=2)", "https://example.com/?a=1&b=2"),
    ("[a](https://example.com/?a=1&b=2&copy=3)", "https://example.com/?a=1&b=2&copy=3"),
    ("[a](https://example.com/&#35;x)", "https://example.com/#x"),
    ("[a](https://example.com/&#X22;)", 'https://example.com/"'),
])
def test_character_references_in_destinations_are_decoded_once(make_site, build, body, expected):
    hrefs = built_hrefs(make_site, build, body)
    assert hrefs == reference_hrefs(body) == [expected]


def test_external_ampersand_is_escaped_once_in_the_html(make_site, build):
    root = make_site({"content/pages/t.md": page("T", "[a](https://example.com/?a=1&amp;b=2)")})
    assert build(root)[0] == 0
    html = page_text(root / "build", "/t/")
    assert 'href="https://example.com/?a=1&amp;b=2"' in html
    assert "&amp;amp;" not in html


def test_internal_target_is_looked_up_after_references_are_decoded(make_site, build):
    extra = {"content/pages/förderung.md": page("Förderung")}
    assert built_hrefs(make_site, build, "[F](f&ouml;rderung.md) [G](f%C3%B6rderung.md)",
                       extra) == ["/foerderung/", "/foerderung/"]


# --- Links and images: titles, references, <…> destinations, refused schemes ------------------

@pytest.mark.parametrize("body, expected", [
    ('[t](ziel.md "Titel")', ["/ziel/"]),
    ("[t](<ziel.md>)", ["/ziel/"]),
    ("[t][r]\n\n[r]: ziel.md", ["/ziel/"]),
    ("[t][]\n\n[t]: https://example.com/x 'T'", ["https://example.com/x"]),
    ("[a](ziel.md) und [b](ziel.md#abschnitt-1) und [c](ziel.md)",
     ["/ziel/", "/ziel/#abschnitt-1", "/ziel/"]),
])
def test_link_forms_resolve(make_site, build, body, expected):
    assert built_hrefs(make_site, build, body) == expected


@pytest.mark.parametrize("url, scheme", [
    ("ftp://example.com/datei.pdf", "ftp:"), ("file:///etc/passwd", "file:"),
    ("data:text/html;base64,PHNjcmlwdD4=", "data:"), ("irc://example.com", "irc:"),
])
def test_refused_scheme_is_named_in_the_error(make_site, build, url, scheme):
    root = make_site({"content/pages/t.md": page("T", f"Zeile.\n\n[x]({url})")})
    code, _, err = build(root)
    assert code == 1
    assert f"content/pages/t.md:6: Der Link „{url}“ verwendet das nicht erlaubte Schema „{scheme}“." \
        in err


def test_broken_link_is_reported_at_its_own_line_with_escapes(make_site, build):
    body = "Erste Zeile.\n\nZweite [a](ziel\\.md).\n\nDritte [b](fehlt\\.md) und [c](f&auml;hlt.md)."
    root = make_site({"content/pages/t.md": page("T", body),
                      "content/pages/ziel.md": page("Ziel")})
    code, _, err = build(root)
    assert code == 1
    assert "content/pages/t.md:8: Der Link „fehlt.md“" in err
    assert "content/pages/t.md:8: Der Link „fählt.md“" in err


def test_front_matter_error_does_not_hide_the_body_errors(make_site, build):
    root = make_site({"content/pages/t.md": "---\ntitle: T\nfarbe: rot\n---\nText [x](fehlt.md)\n"})
    code, _, err = build(root)
    assert code == 1
    assert "content/pages/t.md:3: Unbekannte Angabe „farbe“" in err
    assert "content/pages/t.md:5: Der Link „fehlt.md“ zeigt auf eine Datei, die es nicht gibt" in err


def test_yaml_syntax_error_does_not_hide_the_body_errors(make_site, build):
    root = make_site({"content/pages/t.md": "---\ntitle: [T\n---\nText [x](fehlt.md)\n"})
    code, _, err = build(root)
    assert code == 1
    assert "content/pages/t.md:2: Die YAML-Angaben sind fehlerhaft" in err
    assert "content/pages/t.md:4: Der Link „fehlt.md“" in err


# --- Property: any mix of these builds with the reference hrefs, or fails cleanly -------------

_EXTERNAL = st.builds(
    lambda parts: "https://example.com/" + "".join(parts),
    st.lists(st.sampled_from(["a", "b-c", "%C3%B6", "&amp;", "&ouml;", "\\*", "\\_", "--", "...",
                              "?x=1&y=2", "&copy=3", "ä", "&#35;z", "'", "\\)"]), max_size=4))
_EMAIL = st.sampled_from(["info@example.com", "presse@landkreis-rostock.de", "a.b@exämple.de"])
_INTERNAL = st.tuples(
    st.sampled_from(["ziel.md", "ziel\\.md", "./ziel.md", "../pages/ziel.md", "%7Aiel.md",
                     "&#122;iel.md", "", "/presse/", "/f&ouml;rderung/"]),
    st.sampled_from(["", "#abschnitt-1", "#abschnitt\\-1", "#oben", "#f&ouml;", "#a%20b"]),
).map(lambda pair: pair[0] + pair[1] if pair[0] or pair[1] else "#oben")
_BAD = st.sampled_from(["fehlt.md", "fehlt\\.md#x", "ftp://example.com/", "../../../etc.md"])
_LINK = st.one_of(
    _EXTERNAL.map(lambda url: f"[e]({url})"),
    _EXTERNAL.map(lambda url: f"<{url}>"),
    _EMAIL.map(lambda mail: f"<{mail}>"), _EMAIL.map(lambda mail: f"<mailto:{mail}>"),
    _EMAIL.map(lambda mail: f"[m](mailto:{mail})"),
    _INTERNAL.map(lambda url: f"[i]({url})"),
    _BAD.map(lambda url: f"[b]({url})"),
)


def _expected(reference: str) -> str:
    """The site URL of a reference href (decoded): relative .md targets become page URLs."""
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", reference) or reference.startswith(("#", "/")):
        return reference
    path, _, fragment = reference.partition("#")
    name = unicodedata.normalize("NFC", unquote(path)).rsplit("/", 1)[-1]
    assert name == "ziel.md", reference
    return "/ziel/" + (f"#{fragment}" if fragment else "")


@pytest.fixture(scope="module")
def prop_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("prop")
    shutil.copytree(REPO / "templates", root / "templates")
    (root / "content" / "pages").mkdir(parents=True)
    (root / "content" / "site.yaml").write_text(SITE_YAML, encoding="utf-8")
    (root / "content" / "pages" / "ziel.md").write_text(page("Ziel", "## Abschnitt 1"))
    return root


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_LINK, min_size=1, max_size=5))
def test_any_mix_of_links_builds_with_reference_hrefs_or_fails_cleanly(prop_root, links):
    body = " Text ".join(links)
    (prop_root / "content" / "pages" / "t.md").write_text(
        page("T", f"{START}\n\n{body}\n\n{END}"), encoding="utf-8")
    out = prop_root / "build"
    try:
        # Only the page's links are looked at: no search index, no .gz siblings.
        build_site(prop_root, out, BuildOptions(jobs=1, use_cache=False, search=False, precompress=False))
    except BuildFailed as failed:
        for error in failed.errors:
            assert not re.search(r"[\x00-\x1f\x7f]", str(error).replace("\n", "")), str(error)
            assert "\\x02" not in str(error) and "amp\x03" not in str(error)
        return
    html = page_text(out, "/t/")
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", html)
    found = parse(body_html(out, "/t/"))
    built = [href for href, _ in found.links]
    assert built == [_expected(href) for href in reference_hrefs(body)]


def test_check_finds_a_missing_anchor_written_with_escapes_at_its_line(make_site) -> None:  # type: ignore[no-untyped-def]
    from kpr_site.check import check_site

    root = make_site({
        "content/pages/t.md": page("T", "Erste Zeile.\n\n[Ziel](ziel.md#kein\\_anker)"),
        "content/pages/ziel.md": page("Ziel", "## Abschnitt 1"),
    })
    found = [(str(f.location), f.message) for f in check_site(root).errors]
    assert ("content/pages/t.md:6", "Den Anker „#kein_anker“ gibt es nicht auf der Seite /ziel/.") \
        in found, found
