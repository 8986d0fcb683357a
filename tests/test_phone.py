"""Phone first, as facts of the built HTML: short tab titles, a menu that needs no script,
og:image, descriptive navigation."""

from __future__ import annotations

import io

from conftest import REPO, SITE_YAML, press, read_page
from PIL import Image

from kpr_site.render import TAB_TITLE_LENGTH, tab_title


def test_tab_title_is_page_and_short_name_within_60_characters():
    assert tab_title("Termine", "KPR Landkreis Rostock") == "Termine – KPR Landkreis Rostock"
    long = ("Präventionsrat stellt das neue Handlungskonzept zur Suchtprävention an Schulen "
            "im Landkreis vor")
    shortened = tab_title(long, "KPR Landkreis Rostock")
    assert len(shortened) <= TAB_TITLE_LENGTH
    assert shortened.endswith("… – KPR Landkreis Rostock")
    assert long.startswith(shortened.split("…")[0])  # cut at a word, nothing reworded
    assert not shortened.split("…")[0].endswith(" ")


def test_home_title_is_the_site_title_and_pages_use_the_short_name(make_site, build):
    root = make_site({"content/site.yaml": SITE_YAML + "short_title: TR\n",
                      "content/press/2017-02-10-neu.md": press(title="Neu")})
    assert build(root)[0] == 0
    assert read_page(root / "build", "/").text("title") == ["Testrat"]
    assert read_page(root / "build", "/presse/2017/neu/").text("title") == ["Neu – TR"]


def test_main_menu_is_a_disclosure_that_needs_no_script(make_site, build):
    root = make_site({})
    assert build(root)[0] == 0
    page = read_page(root / "build", "/presse/")
    tags = [tag for tag, _ in page.tags]
    details = tags.index("details")
    assert tags[details + 1] == "summary" and page.text("summary") == ["Menü"]
    assert "nav" in tags[details:] and not page.attrs("script")


def _photo() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (1200, 800), "teal").save(buffer, "JPEG")
    return buffer.getvalue()


def test_og_image_is_the_release_photo_or_the_site_default(make_site, build):
    root = make_site({
        "content/site.yaml": SITE_YAML + "brand:\n  share_image: teilen.png\n",
        "templates/static/teilen.png": _photo(),
        "content/press/2017-02-10-mit-foto.md": press(title="Mit Foto", image="foto.jpg",
                                                      image_alt="Die Runde"),
        "content/press/foto.jpg": _photo(),
        "content/press/2017-02-11-ohne.md": press("2017-02-11", "Ohne"),
    })
    code, _, err = build(root)
    assert code == 0, err
    with_photo = read_page(root / "build", "/presse/2017/mit-foto/")
    assert with_photo.meta("og:image").startswith("https://example.org/bilder/")
    assert with_photo.meta("og:image").endswith(".jpg")
    assert with_photo.meta("og:image:alt") == "Die Runde"
    default = read_page(root / "build", "/presse/2017/ohne/").meta("og:image")
    assert default.startswith("https://example.org/static/teilen.") and default.endswith(".png")


def test_missing_share_image_is_refused_with_its_line(make_site, build):
    root = make_site({"content/site.yaml": SITE_YAML + "brand:\n  share_image: fehlt.png\n"})
    code, _, err = build(root)
    assert code == 1
    line = SITE_YAML.count("\n") + 2
    assert f"content/site.yaml:{line}: Das Vorschaubild „fehlt.png“ gibt es nicht" in err


def test_shipped_navigation_names_the_home_page_descriptively():
    text = (REPO / "content" / "site.yaml").read_text(encoding="utf-8")
    assert "- title: Startseite\n    url: /\n" in text
