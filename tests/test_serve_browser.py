"""Live reload in a real browser: an open page updates itself when its file is saved."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import MakeSite, press
from gates import CHROMIUM, chromium, require_tool, wait_until_true

from kpr_site.serve import Preview, ServeOptions

RELEASE = "content/press/2017-02-10-neustart.md"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture
def preview(make_site: MakeSite, tmp_path: Path) -> Iterator[Preview]:
    site = make_site({RELEASE: press(body="Vor dem Speichern.")})
    with Preview(site, ServeOptions(port=0, cache_dir=tmp_path / "cache")) as server:
        yield server


@pytest.mark.browser
def test_open_page_updates_itself_after_a_save(preview: Preview) -> None:
    require_tool(importlib.util.find_spec("playwright") is not None,
                 "Playwright fehlt – installieren: pip install -e '.[test]'")
    require_tool(CHROMIUM.is_file(), f"Chromium fehlt ({CHROMIUM}) – installieren: apt-get install chromium")
    with chromium() as browser:
        page = browser.new_page()
        page.goto(preview.url + "presse/2017/neustart/")
        assert "Vor dem Speichern." in page.inner_text("main")
        # Marks this document: a reload replaces it, so the mark proves the reload happened
        # by itself; the test never reloads or navigates.
        page.evaluate("window.kprMark = 'alt'")
        with page.expect_event("load", timeout=5000):
            (preview.source / RELEASE).write_text(press(body="Nach dem Speichern."),
                                                  encoding="utf-8")
        wait_until_true(page, "document.querySelector('main').innerText"
                              ".includes('Nach dem Speichern.')", seconds=5)
        assert page.evaluate("window.kprMark") is None
