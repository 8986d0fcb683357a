"""The gallery's lightbox in a real browser (system Chromium via Playwright, never downloaded).

What only a browser can show: the dialog opens from the keyboard, ←/→ and swipes change the
photo, Tab stays inside, Esc closes and gives focus back to the thumbnail, and without
JavaScript every thumbnail still leads to its large photo. The site is served with the same
strict Content-Security-Policy as the quality gates.
"""

from __future__ import annotations

import importlib.util
import io
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import REPO, SITE_YAML
from gates import AXE_JS, CHROMIUM, chromium, require_tool, serve, wait_until_true
from PIL import Image

from kpr_site.cli import main

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PHOTOS = [("rot.jpg", "red", "Ein rotes Quadrat", "Die Sitzung beginnt", "Foto: Erika Muster"),
          ("gruen.jpg", "green", "Ein grünes Quadrat", "Die Diskussion", "Foto: Max Muster"),
          ("blau.jpg", "blue", "Ein blaues Quadrat", "Das Gruppenbild", "")]
DIALOG_HAS_FOCUS = "document.querySelector('dialog.lightbox').contains(document.activeElement)"


def _require_browser() -> None:
    require_tool(CHROMIUM.is_file(), f"Chromium fehlt ({CHROMIUM}) – installieren: apt-get install chromium")
    require_tool(importlib.util.find_spec("playwright") is not None,
                 "Python-Paket playwright fehlt – installieren: pip install -e '.[test]' "
                 "(kein 'playwright install' nötig, der Test nutzt /usr/bin/chromium)")


@pytest.fixture(scope="module")
def album_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A site with one three-photo album, built and served; yields the album page's URL."""
    _require_browser()
    root = tmp_path_factory.mktemp("lightbox") / "site"
    shutil.copytree(REPO / "templates", root / "templates")
    (root / "content").mkdir()
    (root / "content" / "site.yaml").write_text(SITE_YAML, encoding="utf-8")
    folder = root / "gallery" / "sitzung"
    folder.mkdir(parents=True)
    lines = ["title: Sitzung", "date: 2017-02-10", "photos:"]
    for name, colour, alt, caption, credit in PHOTOS:
        buffer = io.BytesIO()
        Image.new("RGB", (1200, 800), colour).save(buffer, "JPEG")
        (folder / name).write_bytes(buffer.getvalue())
        lines += [f"  - file: {name}", f"    alt: {alt}", f"    caption: {caption}"]
        lines += [f"    credit: '{credit}'"] if credit else []
    (folder / "album.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = root / "build"
    assert main(["build", "--source", str(root), "--out", str(out)]) == 0
    with serve(out) as url:
        yield url + "galerie/sitzung/"


@pytest.fixture(scope="module")
def browser(album_url: str) -> Iterator[Any]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser: Any, album_url: str) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    errors: list[str] = []
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(album_url)
    yield page
    context.close()
    assert errors == [], f"Fehler in der Browser-Konsole: {errors}"


def open_first_with_keyboard(page: Any) -> None:
    page.focus("a.gallery__link >> nth=0")
    page.keyboard.press("Enter")
    page.wait_for_selector("dialog.lightbox[open]")


def shown(page: Any) -> dict[str, str]:
    return page.evaluate("""() => {
        const d = document.querySelector('dialog.lightbox');
        const img = d.querySelector('img');
        return {alt: img.getAttribute('alt'), src: img.getAttribute('src'),
                caption: d.querySelector('.lightbox__text').textContent,
                credit: d.querySelector('.lightbox__credit').textContent,
                count: d.querySelector('.lightbox__count').textContent};
    }""")


def test_lightbox_opens_from_the_keyboard_and_pages_with_arrow_keys(page: Any) -> None:
    open_first_with_keyboard(page)
    assert page.evaluate(DIALOG_HAS_FOCUS)
    first = shown(page)
    assert first == {"alt": "Ein rotes Quadrat", "src": first["src"], "caption": "Die Sitzung beginnt",
                     "credit": "Foto: Erika Muster", "count": "Foto 1 von 3"}
    assert first["src"].endswith(".jpg") and "/bilder/" in first["src"]
    wait_until_true(page, "document.querySelector('dialog.lightbox img').naturalWidth > 0")
    page.keyboard.press("ArrowRight")
    assert shown(page)["caption"] == "Die Diskussion" and shown(page)["count"] == "Foto 2 von 3"
    page.keyboard.press("ArrowRight")
    assert shown(page)["alt"] == "Ein blaues Quadrat" and shown(page)["credit"] == ""
    page.keyboard.press("ArrowRight")  # wraps around
    assert shown(page)["count"] == "Foto 1 von 3"
    page.keyboard.press("ArrowLeft")
    assert shown(page)["count"] == "Foto 3 von 3"


def test_focus_stays_in_the_lightbox_and_returns_to_the_thumbnail(page: Any) -> None:
    page.focus("a.gallery__link >> nth=1")
    page.keyboard.press("Enter")
    page.wait_for_selector("dialog.lightbox[open]")
    for key in ["Tab"] * 7 + ["Shift+Tab"] * 7:
        page.keyboard.press(key)
        assert page.evaluate(DIALOG_HAS_FOCUS), f"Fokus hat den Dialog nach {key} verlassen"
    page.keyboard.press("Escape")
    page.wait_for_selector("dialog.lightbox:not([open])", state="attached")
    assert page.evaluate("document.activeElement === document.querySelectorAll('a.gallery__link')[1]")


def test_buttons_page_and_close(page: Any) -> None:
    page.click("a.gallery__link >> nth=2")
    page.wait_for_selector("dialog.lightbox[open]")
    page.click("text=Nächstes Foto")
    assert shown(page)["count"] == "Foto 1 von 3"
    page.click("text=Vorheriges Foto")
    assert shown(page)["count"] == "Foto 3 von 3"
    page.click("button.lightbox__close")
    assert not page.evaluate("document.querySelector('dialog.lightbox').open")
    assert page.evaluate("document.activeElement === document.querySelectorAll('a.gallery__link')[2]")


def test_swipe_on_a_touch_screen_changes_the_photo(page: Any) -> None:
    open_first_with_keyboard(page)
    swipe = """([fromX, toX]) => {
        const area = document.querySelector('.lightbox__figure');
        const event = (type, x) => new PointerEvent(type, {pointerType: 'touch', clientX: x,
                                                           clientY: 300, bubbles: true});
        area.dispatchEvent(event('pointerdown', fromX));
        area.dispatchEvent(event('pointerup', toX));
    }"""
    page.evaluate(swipe, [600, 350])  # to the left: next photo
    assert shown(page)["count"] == "Foto 2 von 3"
    page.evaluate(swipe, [300, 650])  # to the right: previous photo
    assert shown(page)["count"] == "Foto 1 von 3"
    page.evaluate(swipe, [300, 320])  # too short: a tap, not a swipe
    assert shown(page)["count"] == "Foto 1 von 3"


def test_open_lightbox_passes_axe(page: Any) -> None:
    require_tool(AXE_JS.is_file(), f"axe-core fehlt ({AXE_JS}) – installieren: npm ci")
    open_first_with_keyboard(page)
    page.evaluate(AXE_JS.read_text(encoding="utf-8"))  # evaluate: the CSP blocks injected tags
    violations = page.evaluate("""async () => {
        const result = await axe.run(document.querySelector('dialog.lightbox'),
            {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}});
        return result.violations.map((v) => v.id + ': ' + v.help);
    }""")
    assert violations == []


def test_without_javascript_a_thumbnail_leads_to_the_large_photo(browser: Any, album_url: str) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(album_url)
        with page.expect_navigation():
            page.click("a.gallery__link >> nth=0")
        assert page.url.endswith(".jpg")
        assert page.evaluate("document.contentType") == "image/jpeg"
        assert page.evaluate("document.images[0].naturalWidth") == 1200
    finally:
        context.close()
