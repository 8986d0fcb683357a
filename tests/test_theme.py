"""The county's look: brand colours from site.yaml, checked for WCAG contrast, as a stylesheet."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import SITE_YAML, read_page

from kpr_site.colours import BRAND_DEFAULTS, contrast, contrast_problems, dark_link, parse_colour

# --- contrast as WCAG 2.x defines it ------------------------------------------------------------


@pytest.mark.parametrize(("foreground", "background", "ratio"), [
    ("#000000", "#ffffff", 21.0),
    ("#ffffff", "#ffffff", 1.0),
    ("#767676", "#ffffff", 4.54),  # the lightest grey that passes on white
    ("#777777", "#ffffff", 4.48),
    ("#0000ff", "#ffffff", 8.59),
    ("#ff0000", "#ffffff", 4.0),
])
def test_contrast_follows_the_wcag_definition(foreground, background, ratio):
    assert round(contrast(foreground, background), 2) == ratio
    assert contrast(background, foreground) == contrast(foreground, background)


def test_colours_are_read_in_the_usual_spellings():
    assert parse_colour("#0B3D5C") == parse_colour("0b3d5c") == "#0b3d5c"
    assert parse_colour("#0bd") == "#00bbdd"
    for bad in ("blau", "#12345", "#1234567", "rgb(0,0,0)"):
        with pytest.raises(ValueError):
            parse_colour(bad)


def test_default_theme_has_no_contrast_problem():
    assert contrast_problems(BRAND_DEFAULTS) == []


def test_dark_mode_link_is_derived_readable_from_any_link_colour():
    for link in ("#0a5d82", "#000000", "#8b0000", "#004400"):
        assert contrast(dark_link(link), "#14191c") >= 7


# --- site.yaml ----------------------------------------------------------------------------------


def _brand(colours: str, extra: str = "") -> str:
    return SITE_YAML + "brand:\n  name_line: Landkreis Rostock\n" + extra + "  colours:\n" + colours


def _error_text(build, root: Path) -> str:  # type: ignore[no-untyped-def]
    code, _, err = build(root)
    assert code == 1
    return err


def test_brand_colours_reach_the_pages_through_a_fingerprinted_stylesheet(make_site, build):
    root = make_site({"content/site.yaml": _brand(
        '    primary: "#1a4480"\n    accent: "#ffbe2e"\n    link: "#005ea2"\n')})
    code, _, err = build(root)
    assert code == 0, err
    page = read_page(root / "build", "/")
    sheets = [link["href"] for link in page.attrs("link") if link.get("rel") == "stylesheet"]
    theme = next(h for h in sheets if re.fullmatch(r"/static/theme\.[0-9a-f]{10}\.css", h))
    css = (root / "build" / theme.lstrip("/")).read_text()
    assert "--brand: #1a4480;" in css and "--accent: #ffbe2e;" in css and "--link: #005ea2;" in css
    assert sheets.index(theme) > 0  # after site.css, whose defaults it overrides
    assert "Landkreis Rostock" in page.text("span", class_="brand__name")
    assert not [tag for tag, attrs in page.tags if "style" in attrs]  # CSP: no inline styles


def test_light_primary_colour_is_refused_with_key_and_line(make_site, build):
    root = make_site({"content/site.yaml": _brand('    primary: "#7fb2d9"\n    accent: "#ffbe2e"\n'
                                                  '    link: "#005ea2"\n')})
    err = _error_text(build, root)
    line = SITE_YAML.count("\n") + 4
    assert f"content/site.yaml:{line}:" in err
    assert "„brand.colours.primary“ (#7fb2d9) ist zu kontrastarm (WCAG) für:" in err
    assert "weiße Schrift in Kopf- und Fußzeile (2,26 : 1 statt mindestens 4,5 : 1)" in err
    assert "→ Wählen Sie einen dunkleren Ton." in err


def test_light_link_colour_is_refused(make_site, build):
    root = make_site({"content/site.yaml": _brand('    primary: "#0b3d5c"\n    accent: "#4fc3b0"\n'
                                                  '    link: "#4a9fd8"\n')})
    err = _error_text(build, root)
    assert f"content/site.yaml:{SITE_YAML.count(chr(10)) + 6}:" in err
    assert "„brand.colours.link“ (#4a9fd8) ist zu kontrastarm (WCAG) für: Links auf weißem Grund" in err


def test_accent_without_contrast_to_the_header_is_refused_at_3_to_1(make_site, build):
    root = make_site({"content/site.yaml": _brand('    primary: "#0b3d5c"\n    accent: "#1f5a7a"\n'
                                                  '    link: "#0a5d82"\n')})
    err = _error_text(build, root)
    assert "„brand.colours.accent“ (#1f5a7a) ist zu kontrastarm" in err
    assert "statt mindestens 3,0 : 1" in err


def test_unquoted_colour_is_a_comment_and_reported_as_empty(make_site, build):
    root = make_site({"content/site.yaml": _brand('    primary: #0b3d5c\n    accent: "#4fc3b0"\n'
                                                  '    link: "#0a5d82"\n')})
    err = _error_text(build, root)
    assert f"content/site.yaml:{SITE_YAML.count(chr(10)) + 4}: „primary“ ist leer." in err


def test_colour_in_a_wrong_format_is_refused_with_a_hint(make_site, build):
    root = make_site({"content/site.yaml": _brand('    primary: dunkelblau\n    accent: "#4fc3b0"\n'
                                                  '    link: "#0a5d82"\n')})
    err = _error_text(build, root)
    assert "„primary“: „dunkelblau“ ist keine Farbe im Format #RRGGBB." in err
    assert "mit Anführungszeichen" in err


def test_missing_logo_is_refused_with_its_line(make_site, build):
    root = make_site({"content/site.yaml": _brand(
        '    primary: "#0b3d5c"\n    accent: "#4fc3b0"\n    link: "#0a5d82"\n',
        "  logo: wappen.svg\n")})
    err = _error_text(build, root)
    assert f"content/site.yaml:{SITE_YAML.count(chr(10)) + 3}: Das Logo „wappen.svg“" in err
