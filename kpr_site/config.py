"""content/site.yaml → SiteConfig."""

from __future__ import annotations

from pathlib import Path

from kpr_site.errors import Location, SiteError
from kpr_site.fields import Field, Invalid, boolean, choice, mapping, text, validate, validate_list
from kpr_site.frontmatter import YamlData, decode_text, parse_yaml
from kpr_site.model import CMS_BACKENDS, CmsSettings, Contact, NavItem, SiteConfig

__all__ = ["CONFIG_PATH", "load_config", "normalise_base_url"]

CONFIG_PATH = "content/site.yaml"


def normalise_base_url(value: str) -> str:
    """'https://example.de' → 'https://example.de/'; anything but http(s) is refused."""
    value = text(value)
    if not value.startswith(("https://", "http://")) or value[-3:] == "://":
        raise Invalid(f"„{value}“ ist keine vollständige Webadresse",
                      "Schreiben Sie z. B. https://praeventionsrat.landkreis-rostock.de/")
    return value if value.endswith("/") else value + "/"


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
    config = SiteConfig(
        title=values["title"], description=values["description"], base_url=values["base_url"],
        custom_domain=values.get("custom_domain", False),
        language=values.get("language", "de"), intro=values.get("intro", ""),
        feedback_email=values.get("feedback_email", ""),
        contact=Contact(**values["contact"]),
        nav=tuple(NavItem(item["title"], item["url"]) for item, _ in nav),
        cms=CmsSettings(**cms) if cms else None,
    )
    return config, data, []
