"""Quality gates for the shipped site: WCAG 2.1 AA (axe-core), valid HTML/CSS (vnu), privacy.

The repository's own site is built once per session and served on 127.0.0.1; every HTML
page is then checked in the system Chromium at a phone and a desktop width (and dark). Missing tools
skip these tests with a note on what to install — unless KPR_REQUIRE_GATES=1 (CI), where
they fail. Set KPR_GATES_SITE=<dir> to check an already built site instead of building.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from gates import (
    CONTENT_SECURITY_POLICY,
    VIEWPORTS,
    SweepResult,
    base_path_of,
    html_paths,
    require_browser_tools,
    require_validator_tools,
    run_vnu,
    serve,
    sweep,
)


@pytest.fixture(scope="session")
def browser_tools() -> None:
    """Chromium, Playwright and axe-core; checked before anything is built."""
    require_browser_tools()


@pytest.fixture(scope="session")
def validator_tools() -> None:
    """Java and vnu.jar; checked before anything is built."""
    require_validator_tools()


@pytest.fixture(scope="session")
def built_site(request: pytest.FixtureRequest) -> Path:
    """The repository's site (content/, templates/, gallery/), built once per session
    (conftest's shipped_site: a private cache dir, never the repository's .cache/)."""
    prebuilt = os.environ.get("KPR_GATES_SITE")
    if prebuilt:
        return Path(prebuilt)
    site: Path = request.getfixturevalue("shipped_site")
    return site


@pytest.fixture(scope="module")
def site_url(built_site: Path) -> Iterator[str]:
    """The built site served over HTTP, as the root URL (e.g. http://127.0.0.1:41234/).

    For this module only: a server thread left running would keep every later test's build
    from forking its render workers (kpr_site.parallel.can_fork)."""
    with serve(built_site, base_path_of(built_site)) as url:
        yield url


@pytest.fixture(scope="module")
def browser_run(browser_tools: None, built_site: Path, site_url: str) -> SweepResult:
    """One Chromium run over every page at every viewport, shared by the browser gates."""
    paths = html_paths(built_site)
    assert "" in paths, "Die gebaute Website hat keine Startseite (index.html)"
    return sweep(site_url, paths)


def _report(title: str, findings: list[str], limit: int = 60) -> str:
    shown = "\n".join(f"  - {f}" for f in findings[:limit])
    more = f"\n  … und {len(findings) - limit} weitere" if len(findings) > limit else ""
    return f"{title}: {len(findings)}\n{shown}{more}"


@pytest.mark.browser
def test_every_page_passes_axe_at_phone_and_desktop_width_and_in_dark_mode(
    built_site: Path, browser_run: SweepResult
) -> None:
    assert browser_run.pages == len(html_paths(built_site)) * len(VIEWPORTS)
    if browser_run.violations:
        pytest.fail(
            _report("axe-core (WCAG 2.1 A/AA) meldet Verstöße", browser_run.violations), pytrace=False
        )


@pytest.mark.browser
def test_every_page_has_one_h1_no_skipped_heading_a_skip_link_and_no_sideways_scrolling(
    browser_run: SweepResult,
) -> None:
    problems = sorted(set(browser_run.structure))
    if problems:
        pytest.fail(_report("Probleme in der Seitenstruktur", problems), pytrace=False)


@pytest.mark.browser
def test_pages_load_nothing_from_other_hosts(site_url: str, browser_run: SweepResult) -> None:
    own_host = urlsplit(site_url).netloc
    foreign = sorted(
        {
            url
            for url in browser_run.requests
            if not url.startswith("data:") and urlsplit(url).netloc != own_host
        }
    )
    assert browser_run.requests, "Der Browser hat keine einzige Anfrage gestellt"
    if foreign:
        pytest.fail(_report(f"Anfragen an andere Hosts als {own_host}", foreign), pytrace=False)


@pytest.mark.browser
def test_every_requested_file_exists(browser_run: SweepResult) -> None:
    failed = sorted(set(browser_run.failed_requests))
    if failed:
        pytest.fail(_report("Fehlgeschlagene Anfragen (fehlende Dateien?)", failed), pytrace=False)


@pytest.mark.browser
def test_pages_need_no_inline_styles_or_scripts(browser_run: SweepResult) -> None:
    """The test server sends a strict Content-Security-Policy; nothing may be blocked."""
    blocked = sorted(set(browser_run.csp_violations))
    if blocked:
        pytest.fail(_report(f"Von der CSP blockiert ({CONTENT_SECURITY_POLICY})", blocked), pytrace=False)


@pytest.mark.browser
def test_pages_set_no_cookies(browser_run: SweepResult) -> None:
    assert browser_run.cookies == [], f"Cookies gesetzt: {browser_run.cookies}"


@pytest.mark.validator
def test_every_page_stylesheet_and_svg_is_valid(validator_tools: None, built_site: Path) -> None:
    assert html_paths(built_site), "Die gebaute Website enthält keine HTML-Seiten"
    errors = run_vnu(built_site)
    if errors:
        pytest.fail(_report("Nu HTML Checker meldet Fehler", errors), pytrace=False)
