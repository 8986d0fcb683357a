"""Search in a real browser: type a query, get the right pages, open one — under the site's
strict Content-Security-Policy, axe-clean at phone and desktop width, and without JavaScript."""

from __future__ import annotations

import re
from collections.abc import Iterator
from importlib.util import find_spec
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from conftest import press, write_site
from gates import AXE_JS, AXE_TAGS, VIEWPORTS, chromium, require_browser_tools, require_tool, serve

from kpr_site.cli import main

pytestmark = pytest.mark.browser

FILES = {
    "content/press/2017-02-10-neustart.md": press(
        title="Neustart im Kreishaus", tags="[Jugend]",
        body="Der Präventionsrat des Landkreises organisiert seine Arbeit neu."),
    "content/press/2017-03-01-radwege.md": press(
        "2017-03-01", "Sichere Radwege", tags="[Verkehr]", body="Es ging um Radwege und Schulen."),
    "content/projects/jugendrat.md": (
        "---\ntitle: Jugend im Präventionsrat\nstatus: laufend\ntopics: [Jugend]\n---\n"
        "Junge Menschen beraten die Präventionsräte der Gemeinden.\n"),
    "content/pages/kontakt.md": "---\ntitle: Kontakt\n---\nSchreiben Sie uns.\n",
}
JUGEND = {"/presse/2017/neustart/", "/projekte/jugendrat/"}
# …and the members page, "Der Präventionsrat"; not the release on cycle paths.
FOUND = {*JUGEND, "/praeventionsrat/"}
# The CSP listener of the quality gates: records what the policy blocked.
_CSP_LISTENER = """
window.__blocked = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__blocked.push(`${e.effectiveDirective} ${e.blockedURI}`));
"""


@pytest.fixture(scope="module")
def site_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_browser_tools()
    require_tool(find_spec("pagefind_bin") is not None,
                 "Pagefind fehlt – installieren: pip install -e . (Paket pagefind-bin)")
    root = write_site(tmp_path_factory.mktemp("suche") / "site", FILES)
    assert main(["build", "--source", str(root), "--cache-dir", str(root.parent / "cache")]) == 0
    with serve(root / "build") as url:
        yield url


@pytest.fixture(scope="module")
def browser(site_url: str) -> Iterator[Any]:
    with chromium() as browser:
        yield browser


def _results(page: Any) -> set[str]:
    page.wait_for_selector(".search-result a")
    return {urlsplit(a.get_attribute("href")).path for a in page.query_selector_all(".search-result a")}


def test_visitor_types_a_query_gets_the_right_pages_and_opens_one(browser: Any, site_url: str):
    from playwright.sync_api import expect

    context = browser.new_context(service_workers="block")
    context.add_init_script(_CSP_LISTENER)
    loaded: dict[str, int] = {}
    failed: list[str] = []

    def record(response: Any) -> None:
        if response.status >= 400:
            failed.append(f"{response.url}: {response.status}")
        elif response.status == 200:
            loaded[response.url] = loaded.get(response.url, 0) + len(response.body())

    context.on("response", record)
    page = context.new_page()
    page.goto(site_url)
    page.fill("#site-search-q", "Präventionsräte")  # plural: found through German stemming
    page.press("#site-search-q", "Enter")
    page.wait_for_url(re.compile(r"/suche/\?q="))
    assert _results(page) == FOUND
    status = page.locator("[role=status]")
    assert status.inner_text() == "3 Treffer für „Präventionsräte“."
    marks = page.locator(".search-result__excerpt mark").all_inner_texts()
    assert marks and all(m.rstrip(".,;:?!").startswith("Präventionsr") for m in marks)
    assert page.evaluate("window.__blocked") == []

    search_bytes = sum(size for url, size in loaded.items()
                       if "/pagefind/" in url or "/static/search." in url)
    assert failed == []
    assert {urlsplit(url).netloc for url in loaded} == {urlsplit(site_url).netloc}
    assert 0 < search_bytes < 300_000, f"{search_bytes} Bytes für eine Suche"

    assert not any("/pagefind/filter/" in url for url in loaded)  # loaded only when asked for
    toggle = page.get_by_role("button", name="Suche eingrenzen")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    page.select_option("#suche-typ", "Projekt")
    expect(page.locator(".search-result")).to_have_count(1)  # (wait_for_function: CSP forbids eval)
    assert _results(page) == {"/projekte/jugendrat/"}
    assert status.inner_text() == "1 Treffer für „Präventionsräte“ in „Projekt“."
    assert "typ=Projekt" in page.url

    page.fill("#suche-begriff", "Radwegen")
    page.select_option("#suche-typ", "")
    expect(status).to_contain_text("Radwegen")
    assert _results(page) == {"/presse/2017/radwege/"}
    page.click(".search-result a")
    page.wait_for_url("**/presse/2017/radwege/")
    assert page.inner_text("h1") == "Sichere Radwege"
    context.close()


def test_topic_filter_without_a_query_lists_the_topic(browser: Any, site_url: str):
    page = browser.new_page()
    page.goto(site_url + "suche/?thema=Jugend")
    assert _results(page) == JUGEND
    assert page.locator("[role=status]").inner_text() == "2 Einträge in „Jugend“."
    assert page.get_by_role("button", name="Suche eingrenzen").get_attribute("aria-expanded") == "true"
    assert page.locator("#suche-thema").input_value() == "Jugend"
    page.close()


def test_search_page_with_results_passes_axe_at_every_viewport(browser: Any, site_url: str):
    page = browser.new_page()
    page.goto(site_url + "suche/?q=Pr%C3%A4ventionsrat")
    _results(page)
    page.get_by_role("button", name="Suche eingrenzen").click()  # the filters are checked too
    page.locator("#suche-thema").wait_for()
    page.evaluate(AXE_JS.read_text(encoding="utf-8"))
    for name, settings in VIEWPORTS.items():  # the same results, re-laid out and re-coloured
        page.set_viewport_size(settings["viewport"])
        page.emulate_media(color_scheme=settings["color_scheme"])
        found = page.evaluate(
            "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}}))"
            ".violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target).join(', ')})`)",
            list(AXE_TAGS))
        assert found == [], name
        width = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert width[0] <= width[1], f"{name}: Die Trefferliste lässt die Seite seitwärts scrollen"
    page.close()


def test_without_javascript_the_page_says_so_and_offers_topics_and_sitemap(browser: Any, site_url: str):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(site_url + "suche/?q=Radwege")
    assert "braucht JavaScript" in page.inner_text("main")
    links = {unquote(urlsplit(a.get_attribute("href")).path)
             for a in page.query_selector_all(".search-fallback a") if a.is_visible()}
    assert links == {"/themen/", "/sitemap.xml"}
    assert not page.locator(".search-filters").is_visible()
    context.close()
