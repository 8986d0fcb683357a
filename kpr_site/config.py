"""content/site.yaml → SiteConfig."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kpr_site.colours import BRAND_DEFAULTS, brand_colours, contrast_problems, parse_colour
from kpr_site.errors import Location, SiteError
from kpr_site.fields import Field, Invalid, boolean, choice, mapping, text, validate, validate_list
from kpr_site.frontmatter import YamlData, decode_text, parse_yaml
from kpr_site.german import number
from kpr_site.model import CMS_BACKENDS, Brand, CmsSettings, Contact, NavItem, SiteConfig

__all__ = ["CONFIG_PATH", "load_config", "normalise_base_url"]

CONFIG_PATH = "content/site.yaml"


def normalise_base_url(value: str) -> str:
    """'https://example.de' → 'https://example.de/'; anything but http(s) is refused."""
    value = text(value)
    if not value.startswith(("https://", "http://")) or value[-3:] == "://":
        raise Invalid(f"„{value}“ ist keine vollständige Webadresse",
                      "Schreiben Sie z. B. https://praeventionsrat.landkreis-rostock.de/")
    return value if value.endswith("/") else value + "/"


def colour(value: Any) -> str:
    """A colour as #rrggbb (or #rgb)."""
    try:
        return parse_colour(text(value))
    except ValueError:
        raise Invalid(f"„{text(value)}“ ist keine Farbe im Format #RRGGBB",
                      "Schreiben Sie z. B. \"#0b3d5c\" – mit Anführungszeichen, sonst liest "
                      "YAML das # als Beginn eines Kommentars.") from None


_BRAND = {
    "logo": Field(text), "name_line": Field(text), "share_image": Field(text),
    # Required once `colours:` is there: an unquoted #… is a YAML comment and would leave
    # the key silently empty.
    "colours": Field(mapping({key: Field(colour, required=True) for key in BRAND_DEFAULTS})),
}
_CONTACT = {
    "name": Field(text, required=True), "role": Field(text), "organisation": Field(text),
    "street": Field(text), "city": Field(text), "phone": Field(text), "email": Field(text),
}
_CMS = {
    "backend": Field(choice(*CMS_BACKENDS), True), "repo": Field(text, True),
    "branch": Field(text), "app_id": Field(text), "base_url": Field(normalise_base_url),
}
_SCHEMA = {
    "title": Field(text, required=True),
    "description": Field(text, required=True),
    "base_url": Field(normalise_base_url, required=True),
    "custom_domain": Field(boolean),
    "language": Field(text),
    "intro": Field(text),
    "feedback_email": Field(text),
    "short_title": Field(text),
    "brand": Field(mapping(_BRAND)),
    "contact": Field(mapping(_CONTACT), required=True),
    "nav": Field(lambda v: v, required=True),
    "cms": Field(mapping(_CMS)),
}
_NAV = {"title": Field(text, required=True), "url": Field(text, required=True)}


def load_config(root: Path) -> tuple[SiteConfig | None, YamlData | None, list[SiteError]]:
    """Read and check site.yaml; the YamlData is returned for the intro's line number."""
    path = root / CONFIG_PATH
    if not path.is_file():
        return None, None, [SiteError(
            "Die Einstellungsdatei content/site.yaml fehlt.", Location(CONFIG_PATH),
            "Legen Sie sie an (Vorlage im README, Abschnitt „Inhalte“).")]
    try:
        data = parse_yaml(decode_text(path.read_bytes(), CONFIG_PATH), CONFIG_PATH)
    except SiteError as exc:
        return None, None, [exc]
    if not isinstance(data.value, dict):
        return None, None, [SiteError("site.yaml muss Angaben wie „title: …“ enthalten.",
                                      Location(CONFIG_PATH, 1))]
    values, errors = validate(data, _SCHEMA, CONFIG_PATH)
    nav, nav_errors = validate_list(data, _NAV, CONFIG_PATH, ("nav",)) if "nav" in values else ([], [])
    errors += nav_errors
    cms = values.get("cms")
    if cms and cms.get("backend") == "gitlab" and not cms.get("app_id"):
        errors.append(SiteError(
            "Für die Anmeldung über GitLab fehlt „app_id“.", Location(CONFIG_PATH, data.line("cms")),
            "Tragen Sie unter „cms:“ die Application ID der OAuth-Anwendung ein (README, "
            "Abschnitt „Bearbeiten im Browser“)."))
    if errors:
        return None, data, errors
    brand = _brand(values.get("brand") or {})
    errors = _brand_errors(root, brand, data)
    if errors:
        return None, data, errors
    config = SiteConfig(
        title=values["title"], description=values["description"], base_url=values["base_url"],
        custom_domain=values.get("custom_domain", False),
        language=values.get("language", "de"), intro=values.get("intro", ""),
        feedback_email=values.get("feedback_email", ""),
        short_title=values.get("short_title", ""), brand=brand,
        contact=Contact(**values["contact"]),
        nav=tuple(NavItem(item["title"], item["url"]) for item, _ in nav),
        cms=CmsSettings(**cms) if cms else None,
    )
    return config, data, []


def _brand(values: dict[str, Any]) -> Brand:
    colours = values.get("colours") or {}
    return Brand(logo=values.get("logo") or "logo.svg", name_line=values.get("name_line", ""),
                 share_image=values.get("share_image", ""),
                 colours=tuple(sorted((k, colour(v)) for k, v in colours.items())))


_DIRECTION = {
    "primary": "Wählen Sie einen dunkleren Ton.",
    "accent": "Wählen Sie einen Ton, der sich deutlicher von „primary“ abhebt (bei dunklem "
              "„primary“ einen helleren).",
    "link": "Wählen Sie einen dunkleren Ton.",
}


def _brand_errors(root: Path, brand: Brand, data: YamlData) -> list[SiteError]:
    """The logo must exist; no brand colour may break a contrast of the theme (WCAG)."""
    errors = []
    for key, name, what, kind in (("logo", brand.logo, "Das Logo", "am besten als SVG"),
                                  ("share_image", brand.share_image, "Das Vorschaubild",
                                   "als PNG oder JPEG, 1200 × 630 Pixel")):
        if name and not (root / "templates" / "static" / name).is_file():
            errors.append(SiteError(
                f"{what} „{name}“ gibt es nicht in templates/static/.",
                Location(CONFIG_PATH, data.line("brand", key)),
                f"Legen Sie die Datei dort ab ({kind}) oder korrigieren Sie den Namen."))
    given = dict(brand.colours)
    failing: dict[str, list[str]] = {}
    for pair in contrast_problems(brand_colours(brand.colours)):
        failing.setdefault(pair.key, []).append(
            f"{pair.what} ({number(pair.ratio, 2)} : 1 statt mindestens "
            f"{number(pair.minimum, 1)} : 1)")
    for key, pairs in failing.items():
        errors.append(SiteError(
            f"Die Farbe „brand.colours.{key}“ ({given.get(key, BRAND_DEFAULTS[key])}) ist zu "
            f"kontrastarm (WCAG) für: {'; '.join(pairs)}.",
            Location(CONFIG_PATH, data.line("brand", "colours", key)), _DIRECTION[key]))
    return errors
