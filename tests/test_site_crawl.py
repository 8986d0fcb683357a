"""Build the shipped site and crawl every file of it: links, assets, anchors, metadata, feeds.

The site is built at the root of a host and below a path (as on GitHub Pages), so a template that
forgets url() shows up as a broken link; and by the build commands of both CI pipelines, as written,
for a Pages address below a path, so a pipeline that forgets the address shows up too.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest
from conftest import REPO, HtmlFacts
from gates import meta_policy_for
from pipelines import PIPELINES, run_pipeline_build

from kpr_site.cli import main

ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
SHIPPED = urlsplit(
    re.search(r"^base_url:\s*\"?([^\"\s]+)", (REPO / "content/site.yaml").read_text(), re.M)[1])
PROJECT_SITE = "https://x.github.io/kpr/"
# What actions/configure-pages and GitLab's CI_PAGES_URL report for a project site (no final "/").
PAGES_URLS = {"github": "https://owner.github.io/kpr-site", "gitlab": "https://group.gitlab.io/kpr-site"}
# <link rel=…> values that make the browser fetch the href.
LOADING_RELS = {"stylesheet", "icon", "preload", "modulepreload", "prefetch", "manifest",
                "apple-touch-icon", "mask-icon", "preconnect", "dns-prefetch"}


@dataclass(frozen=True)
class Built:
    out: Path
    base_url: str
    pages: dict[Path, HtmlFacts]

    @property
    def base_path(self) -> str:
        return urlsplit(self.base_url).path

    def url_of(self, file: Path) -> str:
        """The absolute URL a file in the output is published at."""
        rel = file.relative_to(self.out).as_posix()
        rel = rel.removesuffix("index.html") if rel.endswith("index.html") else rel
        return urljoin(self.base_url, rel)

    def target(self, page: Path, ref: str) -> Path | None:
        """The output file a reference on `page` points to; None if it is on another host."""
        absolute = urlsplit(urljoin(self.url_of(page), ref))
        site = urlsplit(self.base_url)
        if (absolute.scheme, absolute.netloc) != (site.scheme, site.netloc):
            return None
        path = unquote(absolute.path)
        assert path.startswith(self.base_path), f"{ref} on {page} is outside the base path"
        file = self.out / path[len(self.base_path):]
        return file / "index.html" if path.endswith("/") else file


@pytest.fixture(scope="module")
def cache_dir(shipped_cache: Path) -> Path:
    """One cache for all builds (photo derivatives are the slow part), never the repo's."""
    return shipped_cache


@pytest.fixture(scope="module", params=[None, PROJECT_SITE, *PIPELINES],
                ids=["root", "project-site", *(f"{name}-pipeline" for name in PIPELINES)])
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> Built:
    if request.param in PIPELINES:
        pages_url = PAGES_URLS[request.param]
        out = run_pipeline_build(request.param, tmp_path_factory.mktemp(request.param), pages_url, cache_dir)
        return Built(out, pages_url + "/", _read_pages(out))
    if request.param is None:  # the shipped site as built for the other gates, read only
        shipped: Path = request.getfixturevalue("shipped_site")
        return Built(shipped, SHIPPED.geturl(), _read_pages(shipped))
    out = tmp_path_factory.mktemp("shipped") / "build"
    args = ["build", "--source", str(REPO), "--out", str(out), "--cache-dir", str(cache_dir)]
    if request.param:
        args += ["--base-url", request.param]
    assert main(args) == 0
    return Built(out, request.param or SHIPPED.geturl(), _read_pages(out))


def _read_pages(out: Path) -> dict[Path, HtmlFacts]:
    return {path: HtmlFacts(path.read_text(encoding="utf-8")) for path in sorted(out.rglob("*.html"))}


def references(facts: HtmlFacts) -> list[tuple[str, str, str, dict[str, str]]]:
    """(tag, attribute, URL, all attributes) of every reference on a page."""
    found = []
    for tag, attrs in facts.tags:
        for name in ("href", "src", "poster", "data", "action", "xlink:href"):
            if attrs.get(name):
                found.append((tag, name, attrs[name], attrs))
        for candidate in attrs.get("srcset", "").split(","):
            if candidate.strip():
                found.append((tag, "srcset", candidate.split()[0], attrs))
    return found


def loads(tag: str, attribute: str, attrs_rel: str) -> bool:
    """Whether the browser fetches this reference while showing the page."""
    if tag == "a" or tag == "area":
        return False
    if tag == "link":
        return bool(set(attrs_rel.lower().split()) & LOADING_RELS)
    return attribute not in ("href", "xlink:href") or tag in ("image", "use", "feimage")


def test_shipped_site_has_the_pages_of_issue_2(site):
    expected = ["/", "/presse/", "/presse/2017/", "/projekte/", "/themen/", "/praeventionsrat/",
                "/koordinierung/", "/foerderung/", "/kontakt/", "/impressum/",
                "/datenschutz/", "/barrierefreiheit/", "/leichte-sprache/", "/404.html",
                "/presse/feed.xml", "/sitemap.xml", "/robots.txt"]
    expected += ["/termine/", "/termine/praeventionsforum/", "/arbeitsgruppen/",  # issue 11
                 "/foerderung/foerderprogramm-land/", "/foerderung/foerderprogramm-bund/",
                 "/foerderung/mikroprojekte/", "/dokumente/", "/gebaerdensprache/"]
    home = site.out / "index.html"
    assert [url for url in expected if not site.target(home, site.base_path + url[1:]).is_file()] == []
    assert list(site.out.glob("presse/2017/*/index.html"))


def test_every_internal_link_and_asset_resolves(site):
    broken = []
    for page, facts in site.pages.items():
        for tag, attribute, ref, _ in references(facts):
            if urlsplit(ref).scheme in ("mailto", "tel"):
                continue
            target = site.target(page, ref)
            if target is not None and not target.is_file():
                broken.append(f"{page.relative_to(site.out)}: <{tag} {attribute}={ref}>")
    assert broken == []


def test_every_fragment_exists_in_its_target_page(site):
    missing = []
    for page, facts in site.pages.items():
        for tag, _, ref, _ in references(facts):
            fragment = urlsplit(ref).fragment
            target = site.target(page, ref)
            if not fragment or target is None or target.suffix != ".html" or not target.is_file():
                continue
            if unquote(fragment) not in site.pages[target].ids:
                missing.append(f"{page.relative_to(site.out)}: <{tag}> {ref}")
    assert missing == []


def test_ids_are_unique_on_every_page(site):
    duplicated = {}
    for page, facts in site.pages.items():
        ids = facts.ids
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            duplicated[page.relative_to(site.out).as_posix()] = twice
    assert duplicated == {}


def test_nothing_is_loaded_from_another_host(site):
    foreign = []
    for page, facts in site.pages.items():
        for tag, name, ref, attrs in references(facts):
            if loads(tag, name, attrs.get("rel", "")) and site.target(page, ref) is None:
                foreign.append(f"{page.relative_to(site.out)}: <{tag} {name}={ref}>")
        for tag, attrs in facts.tags:
            if "url(" in attrs.get("style", ""):
                foreign.append(f"{page.relative_to(site.out)}: <{tag} style=…url(…)>")
    for css in site.out.rglob("*.css"):
        text = css.read_text()
        foreign += [f"{css.name}: {m}" for m in re.findall(r"url\(\s*['\"]?((?:https?:)?//[^)'\"]+)", text)]
        foreign += [f"{css.name}: {m}" for m in re.findall(r"@import[^;]*", text)]
    assert foreign == []


def test_every_page_has_exactly_one_h1(site):
    counts = {page.relative_to(site.out).as_posix(): len(facts.attrs("h1"))
              for page, facts in site.pages.items()}
    assert {page: n for page, n in counts.items() if n != 1} == {}


def test_every_page_is_german(site):
    for page, facts in site.pages.items():
        assert facts.attrs("html")[0].get("lang") == "de", page


def test_every_page_has_title_description_canonical_and_open_graph(site):
    problems = []
    for page, facts in site.pages.items():
        name = page.relative_to(site.out).as_posix()
        titles = facts.text("title")
        if len(titles) != 1 or not titles[0]:
            problems.append(f"{name}: title {titles}")
        for key in ("description", "og:title", "og:description", "og:url", "og:type", "og:locale",
                    "og:site_name"):
            if not facts.meta(key):
                problems.append(f"{name}: no {key}")
        canonical = [a["href"] for a in facts.attrs("link") if a.get("rel") == "canonical"]
        if name != "404.html" and canonical != [site.url_of(page)]:
            problems.append(f"{name}: canonical {canonical}, expected {site.url_of(page)}")
        if canonical and facts.meta("og:url") != canonical[0]:
            problems.append(f"{name}: og:url {facts.meta('og:url')} differs from canonical")
    assert problems == []


def test_titles_are_distinct_so_tabs_and_results_can_be_told_apart(site):
    titles = [facts.text("title")[0] for facts in site.pages.values()]
    assert len(set(titles)) == len(titles)


def test_every_footer_links_legal_pages_and_feedback(site):
    legal = {site.base_path + slug for slug in ("impressum/", "datenschutz/", "barrierefreiheit/")}
    problems = []
    for page, facts in site.pages.items():
        footer_links = set(facts.hrefs())
        if not legal <= footer_links:
            problems.append(f"{page.relative_to(site.out)}: missing {sorted(legal - footer_links)}")
        feedback = [h for h in footer_links if h.startswith("mailto:") or "#feedback" in h
                    or h == site.base_path + "kontakt/"]
        if not feedback:
            problems.append(f"{page.relative_to(site.out)}: no feedback link")
    assert problems == []


def test_atom_feed_is_well_formed_and_its_links_resolve(site):
    feed = ET.parse(site.out / "presse/feed.xml").getroot()
    assert feed.tag == f"{ATOM}feed"
    assert feed.findtext(f"{ATOM}title")
    assert feed.findtext(f"{ATOM}updated")
    entries = feed.findall(f"{ATOM}entry")
    assert entries
    for entry in entries:
        assert entry.findtext(f"{ATOM}id") and entry.findtext(f"{ATOM}title")
        href = entry.find(f"{ATOM}link").get("href")
        assert site.target(site.out / "index.html", href).is_file(), href
    self_link = [link.get("href") for link in feed.findall(f"{ATOM}link") if link.get("rel") == "self"]
    assert self_link == [urljoin(site.base_url, "presse/feed.xml")]


def test_sitemap_is_well_formed_and_lists_every_page(site):
    root = ET.parse(site.out / "sitemap.xml").getroot()
    assert root.tag == f"{SITEMAP}urlset"
    locs = [url.findtext(f"{SITEMAP}loc") for url in root.findall(f"{SITEMAP}url")]
    assert len(locs) == len(set(locs))
    files = {site.target(site.out / "index.html", loc) for loc in locs}
    assert all(f is not None and f.is_file() for f in files), locs
    pages = {page for page in site.pages if page.name != "404.html"}
    assert pages <= files


def test_robots_txt_names_the_sitemap(site):
    robots = (site.out / "robots.txt").read_text()
    assert f"Sitemap: {urljoin(site.base_url, 'sitemap.xml')}" in robots.splitlines()


def yaml_names(path: Path) -> list[str]:
    return re.findall(r"^\s*-?\s*name:\s*(.+?)\s*$", path.read_text(), re.M)


def test_the_members_page_names_only_the_people_of_the_council_text(site):
    facts = site.pages[site.out / "praeventionsrat/index.html"]
    text = " ".join(facts.text("main"))
    assert text.index("Anja Kerl") < text.index("Marion Starck")  # the chair first
    members = yaml_names(REPO / "content/members.yaml")
    assert members == ["Anja Kerl", "Marion Starck"]  # the people the council's text names
    assert all(name in text for name in members)
    assert "20" in text


def test_press_release_of_2017_shows_its_german_date(site):
    (page,) = site.out.glob("presse/2017/*/index.html")
    assert "10. Februar 2017" in site.pages[page].text("time")


def test_every_page_carries_the_content_security_policy_before_anything_it_governs(site):
    """Pages hosts send no headers: the meta tag is the policy there. It only governs what follows it."""
    wrong = {}
    for page, facts in site.pages.items():
        tags = facts.tags
        policies = [(i, a.get("content")) for i, (tag, a) in enumerate(tags)
                    if tag == "meta" and a.get("http-equiv", "").lower() == "content-security-policy"]
        first_load = next((i for i, (tag, _) in enumerate(tags) if tag in ("link", "script", "style", "img")),
                          len(tags))
        rel = page.relative_to(site.out).as_posix()
        expected = meta_policy_for("/" + rel)
        if rel.startswith("admin/"):
            continue  # /admin/ carries its own policy (kpr_site.cms), tested there
        if [p for _, p in policies] != [expected] or policies[0][0] > first_load:
            wrong[page.relative_to(site.out).as_posix()] = policies
    assert wrong == {}


def test_home_page_and_every_footer_link_leichte_sprache_and_gebaerdensprache(site):
    """BITV 2.0 § 4: explanations in Leichte Sprache and Deutsche Gebärdensprache, reachable
    from the home page; the footer of every page links them too."""
    easy = {site.base_path + "leichte-sprache/", site.base_path + "gebaerdensprache/"}
    home = site.pages[site.out / "index.html"]
    assert easy <= set(home.hrefs())
    assert [page for page, facts in site.pages.items() if not easy <= set(facts.hrefs())] == []
    dgs = site.pages[site.out / "gebaerdensprache/index.html"]
    assert "[Vom Landkreis zu bestätigen: Video in Deutscher Gebärdensprache" in " ".join(dgs.text("p"))
    assert dgs.attrs("video") == [] and dgs.attrs("iframe") == []  # nothing invented or embedded


def test_shipped_funding_uses_the_amounts_of_the_text_and_invents_none(site):
    intro = " ".join(site.pages[site.out / "foerderung/index.html"].text("td"))
    assert "1.000 €" in intro and "15.000 €" in intro
    for slug in ("foerderprogramm-land", "foerderprogramm-bund", "mikroprojekte"):
        facts = site.pages[site.out / f"foerderung/{slug}/index.html"]
        amount = dict(zip(facts.text("dt"), facts.text("dd"), strict=False))["Förderung bis zu"]
        assert amount.startswith("[Vom Landkreis zu bestätigen:"), (slug, amount)
    richtlinie = site.pages[site.out / "foerderung/mikroprojekte/index.html"]
    assert any(text.startswith("Richtlinie des Landesrates für Kriminalitätsvorbeugung: [Vom Landkreis")
               for text in richtlinie.text("li"))


def test_shipped_praeventionsforum_has_no_invented_date(site):
    assert not list(site.out.glob("termine/*/*/index.html"))  # no dated event in the shipped text
    forum = site.pages[site.out / "termine/praeventionsforum/index.html"]
    facts = dict(zip(forum.text("dt"), forum.text("dd"), strict=False))
    assert facts["Wann"].startswith("Einmal im Jahr. [Vom Landkreis zu bestätigen:")
