"""The quality gates (axe at both widths and dark, Nu, CSP, no third-party request) on a site
with every state of the new content types that the shipped site cannot show yet: a dated
event with registration, calls open and expired, document files, an expired page, times
across the daylight-saving change, upcoming and past events."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import REPO, SITE_YAML, press
from gates import html_paths, require_browser_tools, require_validator_tools, run_vnu, serve, sweep
from test_ical import EVENTS
from test_types import DOCUMENTS, EVENT, FUNDING, GROUP, MEMBERS, PROJECT

from kpr_site.cli import main

TODAY = "2024-05-15"
"""Registration open; one call open, one expired; events past and upcoming; one page expired."""

FILES: dict[str, str | bytes] = {
    **EVENTS,
    "content/members.yaml": MEMBERS,
    "content/groups/jugend.md": GROUP,
    "content/projects/sicher-unterwegs.md": PROJECT,
    "content/events/2024-06-03-fachtag-jugend.md": EVENT,
    "content/funding/kleinprojekte.md": FUNDING,
    "content/documents.yaml": DOCUMENTS,
    "content/documents/richtlinie.pdf": b"%PDF-1.4\n" + b"x" * 244_990,
    "content/press/2024-05-02-ag.md": press("2024-05-02", "AG gegründet",
                                            "[Richtlinie](../documents/richtlinie.pdf)",
                                            groups="[jugend]", tags="[Jugend]"),
    "content/press/2024-01-02-alt.md": press("2024-01-02", "Alt", "Alt.", expires="2024-02-01"),
    "content/pages/leichte-sprache.md": "---\ntitle: Leichte Sprache\n---\nText.\n",
    "content/pages/gebaerdensprache.md": "---\ntitle: Gebärdensprache\n---\nText.\n",
}


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("types-site")
    for name, data in {**FILES, "content/site.yaml": SITE_YAML}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    shutil.copytree(REPO / "templates", root / "templates")
    out = root / "build"
    assert main(["build", "--source", str(root), "--out", str(out), "--today", TODAY]) == 0
    return out


@pytest.fixture(scope="module")
def site_url(sample: Path) -> Iterator[str]:
    with serve(sample) as url:
        yield url


@pytest.mark.browser
def test_new_pages_pass_axe_structure_csp_and_load_nothing_from_elsewhere(
    sample: Path, site_url: str,
) -> None:
    require_browser_tools()
    result = sweep(site_url, html_paths(sample))
    own = urlsplit(site_url).netloc
    foreign = sorted({u for u in result.requests
                      if not u.startswith("data:") and urlsplit(u).netloc != own})
    assert result.violations == []
    assert sorted(set(result.structure)) == []
    assert sorted(set(result.csp_violations)) == []
    assert sorted(set(result.failed_requests)) == []
    assert foreign == []


@pytest.mark.validator
def test_new_pages_are_valid_html(sample: Path) -> None:
    require_validator_tools()
    assert run_vnu(sample) == []
