"""The county's colours: WCAG contrast, the theme derived from the brand colours, its CSS.

Pure functions. The brand colours of content/site.yaml (`brand: colours:`) become CSS custom
properties in a generated stylesheet (CSP forbids inline styles); `contrast_problems` lists
every text/background pair the theme derives from them, in light and dark mode, that would
fall below WCAG 2.x: 4.5:1 for text, 3:1 for focus outlines and other markers (1.4.11).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "BRAND_DEFAULTS", "Pair", "brand_colours", "contrast", "contrast_problems", "dark_link", "parse_colour",
    "theme_css", "theme_pairs",
]

BRAND_DEFAULTS = {"primary": "#0b3d5c", "accent": "#4fc3b0", "link": "#0a5d82"}
"""The colours of site.css, used for any key site.yaml leaves out."""

# The fixed colours of site.css the brand colours meet (light and dark mode).
WHITE = "#ffffff"
LIGHT_SURFACE = "#eef4f7"
DARK_BG = "#14191c"
DARK_SURFACE = "#1e262b"
FOCUS = "#ffdd00"
TEXT_MINIMUM = 4.5
MARKER_MINIMUM = 3.0

_HEX = re.compile(r"#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})")


def parse_colour(value: str) -> str:
    """'#0B3D5C', '0b3d5c' or '#0bd' → '#0b3d5c'; ValueError for anything else."""
    match = _HEX.fullmatch(value.strip())
    if match is None:
        raise ValueError(value)
    digits = match.group(1).lower()
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    return "#" + digits


def brand_colours(given: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """The brand colours of site.yaml over the defaults."""
    return {**BRAND_DEFAULTS, **dict(given)}


def _channels(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _luminance(colour: str) -> float:
    """WCAG 2.x relative luminance of an sRGB colour."""

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in _channels(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio, 1.0 to 21.0 (#767676 on white: 4.54)."""
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _mix(colour: str, other: str, share: float) -> str:
    mixed = (round(c + (o - c) * share) for c, o in zip(_channels(colour), _channels(other), strict=True))
    return "#" + "".join(f"{c:02x}" for c in mixed)


def dark_link(link: str) -> str:
    """The link colour for dark mode: the light one mixed with white until it reads at 7:1 on
    the dark background (the margin the hand-made dark palette of site.css has)."""
    for step in range(21):
        lighter = _mix(link, WHITE, step / 20)
        if contrast(lighter, DARK_BG) >= 7 and contrast(lighter, DARK_SURFACE) >= 7:
            return lighter
    return WHITE


@dataclass(frozen=True)
class Pair:
    """A foreground the theme puts on a background, and the key of site.yaml that decides it."""

    key: str
    what: str
    """In German, for the message: where the pair appears."""
    foreground: str
    background: str
    minimum: float

    @property
    def ratio(self) -> float:
        return contrast(self.foreground, self.background)


def theme_pairs(colours: dict[str, str]) -> list[Pair]:
    """Every pair of the theme that involves a brand colour, in light and dark mode."""
    primary, accent, link = colours["primary"], colours["accent"], colours["link"]
    darklink = dark_link(link)
    return [
        Pair("primary", "weiße Schrift in Kopf- und Fußzeile", WHITE, primary, TEXT_MINIMUM),
        Pair("primary", "Überschriften auf weißem Grund", primary, WHITE, TEXT_MINIMUM),
        Pair("primary", "Überschriften in hellen Kästen", primary, LIGHT_SURFACE, TEXT_MINIMUM),
        Pair("primary", "gelbe Fokusmarkierung in der Kopfzeile", FOCUS, primary, MARKER_MINIMUM),
        Pair("accent", "Markierung des aktuellen Menüpunkts in der Kopfzeile", accent, primary,
             MARKER_MINIMUM),
        Pair("link", "Links auf weißem Grund", link, WHITE, TEXT_MINIMUM),
        Pair("link", "Links in hellen Kästen", link, LIGHT_SURFACE, TEXT_MINIMUM),
        Pair("link", "Links im dunklen Modus", darklink, DARK_BG, TEXT_MINIMUM),
        Pair("link", "Links in Kästen im dunklen Modus", darklink, DARK_SURFACE, TEXT_MINIMUM),
    ]


def contrast_problems(colours: dict[str, str]) -> list[Pair]:
    """The pairs below their minimum."""
    return [p for p in theme_pairs(colours) if p.ratio < p.minimum]


def theme_css(colours: dict[str, str]) -> str:
    """The stylesheet that gives site.css the brand colours (loaded after it). Screen only:
    print keeps its black."""
    primary, accent, link = colours["primary"], colours["accent"], colours["link"]
    return (
        "/* Erzeugt aus content/site.yaml (brand: colours:); nicht von Hand ändern. */\n"
        "@media screen {\n"
        f"  :root {{\n    --brand: {primary};\n    --heading: {primary};\n"
        f"    --accent: {accent};\n    --link: {link};\n  }}\n}}\n\n"
        "@media screen and (prefers-color-scheme: dark) {\n"
        f"  :root {{\n    --heading: #e6edf1;\n    --link: {dark_link(link)};\n  }}\n}}\n")
