"""Editing in the browser: /admin/ is built only with `cms:` in site.yaml, its configuration
follows the content schema field by field, and the public pages load nothing of it. The browser
half is in test_cms_browser.py."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, SITE_YAML, MakeSite, press, read_page

from kpr_site.cli import main
from kpr_site.cms import cms_config, field_config
from kpr_site.fields import Field, boolean, date, date_or_time, integer, text, text_list
from kpr_site.funding import amount
from kpr_site.gallery import ALBUM_SCHEMA, PHOTO_SCHEMA
from kpr_site.load import MEMBERS_SCHEMA, SCHEMAS
from kpr_site.model import CmsSettings, Contact, SiteConfig
from kpr_site.schema import email, web_address

GITLAB = """\
cms:
  backend: gitlab
  repo: landkreis-rostock/kpr-site
  app_id: 0123abcd
  base_url: https://gitlab.opencode.de/
"""
PACKAGE = REPO / "node_modules" / "@sveltia" / "cms"


def _config(cms: CmsSettings) -> dict[str, Any]:
    return cms_config(SiteConfig("Testrat", "Test", "https://example.org/", "de",
                                 Contact("Erika"), (), cms=cms))


def _collection(config: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in config["collections"] if c["name"] == name)


# --- the configuration is the schema ------------------------------------------------------

_TYPES = {text: "string", date: "datetime", date_or_time: "datetime", boolean: "boolean",
          integer: "number", text_list: "list", web_address: "string", email: "string",
          amount: "string"}


def _assert_matches(fields: list[dict[str, Any]], schema: dict[str, Field], where: str) -> None:
    """Field by field: name, order, type, required flag, allowed values, label and hint."""
    assert [f["name"] for f in fields] == list(schema), where
    for config, (name, field) in zip(fields, schema.items(), strict=True):
        at = f"{where}.{name}"
        assert config["required"] is field.required, at
        assert config["label"] == field.label and field.label, f"{at}: German label missing"
        assert config.get("hint", "") == field.hint, at
        convert = field.convert
        if field.kind == "image":
            assert config["widget"] == "image", at
        elif field.kind == "markdown":
            assert config["widget"] == "markdown", at
        elif hasattr(convert, "allowed"):
            assert (config["widget"], config["options"]) == ("select", list(convert.allowed)), at
        elif hasattr(convert, "schema"):
            assert config["widget"] == "object", at
            _assert_matches(config["fields"], convert.schema, at)
        elif hasattr(convert, "item_schema"):
            assert config["widget"] == "list", at
            _assert_matches(config["fields"], convert.item_schema, at)
        else:
            assert config["widget"] == _TYPES[convert], at
        if convert in (date, date_or_time):
            assert (config["format"], config["time_format"]) == ("YYYY-MM-DD", False), at
        if convert is integer:
            assert config["value_type"] == "int", at


def test_every_collection_and_field_follows_the_schema():
    config = _config(CmsSettings("gitlab", "a/b", app_id="x"))
    for kind in SCHEMAS:  # a new content type must come with German collection names
        assert _collection(config, kind)["label"] != kind, f"{kind}: Namen fehlen in cms._MARKDOWN"
        fields = _collection(config, kind)["fields"]
        assert fields[-1]["name"] == "body" and fields[-1]["widget"] == "markdown"
        _assert_matches(fields[:-1], SCHEMAS[kind], kind)
        assert _collection(config, kind)["folder"] == f"content/{kind}"
    members = _collection(config, "members")["files"][0]
    assert members["file"] == "content/members.yaml"
    _assert_matches(members["fields"], MEMBERS_SCHEMA, "members")
    albums = _collection(config, "albums")
    _assert_matches(albums["fields"], ALBUM_SCHEMA, "albums")
    assert (albums["folder"], albums["path"], albums["extension"]) == ("gallery", "{{slug}}/album", "yaml")


def test_photos_need_alt_text_and_are_uploaded_into_their_album():
    config = _config(CmsSettings("gitlab", "a/b", app_id="x"))
    albums = _collection(config, "albums")
    photos = next(f for f in albums["fields"] if f["name"] == "photos")["fields"]
    alt = next(f for f in photos if f["name"] == "alt")
    assert alt["required"] is True and "Blinde" in alt["hint"]
    assert PHOTO_SCHEMA["alt"].required
    assert (albums["media_folder"], albums["public_folder"]) == ("", "")  # beside album.yaml


def test_project_status_and_member_sector_offer_only_the_allowed_values():
    config = _config(CmsSettings("gitlab", "a/b", app_id="x"))
    status = next(f for f in _collection(config, "projects")["fields"] if f["name"] == "status")
    assert status["options"] == ["geplant", "laufend", "abgeschlossen"]
    members = _collection(config, "members")["files"][0]["fields"][1]["fields"]
    assert next(f for f in members if f["name"] == "sector")["options"] == [
        "Polizei", "Verwaltung", "Verbände"]


def test_a_new_schema_field_appears_in_the_cms_with_its_label():
    field = field_config("ort", Field(text, True, "Ort", "Wo es stattfindet."))
    assert field == {"name": "ort", "label": "Ort", "widget": "string", "required": True,
                     "hint": "Wo es stattfindet."}
    with pytest.raises(ValueError):
        field_config("roh", Field(lambda v: v))


def test_press_files_are_named_by_their_date_and_a_german_slug():
    press_collection = _collection(_config(CmsSettings("gitlab", "a/b", app_id="x")), "press")
    assert press_collection["slug"] == "{{fields.date | date('YYYY-MM-DD')}}-{{slug}}"


def test_gitlab_logs_in_with_pkce_on_the_configured_instance():
    backend = _config(CmsSettings("gitlab", "kreis/site", "redaktion", "abc",
                                  "https://gitlab.opencode.de/"))["backend"]
    assert backend == {"name": "gitlab", "repo": "kreis/site", "branch": "redaktion",
                       "auth_type": "pkce", "app_id": "abc", "base_url": "https://gitlab.opencode.de",
                       "api_root": "https://gitlab.opencode.de/api/v4"}


def test_github_needs_no_app_id():
    backend = _config(CmsSettings("github", "kreis/site"))["backend"]
    assert backend == {"name": "github", "repo": "kreis/site", "branch": "main"}


# --- the build ----------------------------------------------------------------------------


@pytest.fixture
def cms_site(make_site: MakeSite) -> Path:
    if not PACKAGE.is_dir():
        from gates import require_tool

        require_tool(False, "Sveltia CMS fehlt (node_modules/@sveltia/cms) – installieren: npm ci")
    root = make_site({"content/site.yaml": SITE_YAML + GITLAB,
                      "content/press/2017-02-10-neu.md": press()})
    shutil.copy(REPO / "package-lock.json", root / "package-lock.json")
    os.symlink(REPO / "node_modules", root / "node_modules")
    return root


def _build(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["build", "--source", str(root)])
    return code, capsys.readouterr().err


def test_without_cms_nothing_of_it_is_built(make_site: MakeSite, capsys):  # type: ignore[no-untyped-def]
    root = make_site({"content/press/2017-02-10-neu.md": press()})
    assert _build(root, capsys)[0] == 0
    out = root / "build"
    assert not (out / "admin").exists()
    assert not [p for p in out.rglob("*") if "sveltia" in p.name.lower()]


def test_admin_page_has_its_own_policy_noindex_and_the_pinned_script(cms_site: Path, capsys):  # type: ignore[no-untyped-def]
    assert _build(cms_site, capsys)[0] == 0
    admin = cms_site / "build" / "admin"
    page = read_page(cms_site / "build", "/admin/")
    assert page.meta("robots") == "noindex, nofollow"
    policy = next(m["content"] for m in page.attrs("meta")
                  if m.get("http-equiv") == "Content-Security-Policy")
    assert "script-src 'self';" in policy
    assert "connect-src 'self' blob: data: https://gitlab.opencode.de;" in policy
    assert "unpkg" not in policy and "jsdelivr" not in policy
    lock = json.loads((REPO / "package-lock.json").read_text(encoding="utf-8"))
    version = lock["packages"]["node_modules/@sveltia/cms"]["version"]
    assert [s["src"] for s in page.attrs("script")] == [f"sveltia-cms-{version}.js"]
    script = (admin / f"sveltia-cms-{version}.js").read_bytes()
    assert b"https://unpkg.com/@sveltia/cms`" not in script and b"cdn.jsdelivr.net/fontsource" not in script
    assert (admin / f"sveltia-cms@{version}" / "locales" / "de.json").is_file()
    assert (admin / "sveltia-cms-fonts" / "material-symbols-outlined-latin-wght-normal.woff2").is_file()
    config = json.loads((admin / "config.yml").read_text(encoding="utf-8"))  # JSON is YAML
    assert config["backend"]["repo"] == "landkreis-rostock/kpr-site"


def test_public_pages_load_nothing_of_the_cms(cms_site: Path, capsys):  # type: ignore[no-untyped-def]
    assert _build(cms_site, capsys)[0] == 0
    out = cms_site / "build"
    for page in out.rglob("*.html"):
        if "admin" not in page.relative_to(out).parts:
            assert "admin" not in page.read_text(encoding="utf-8"), page
    assert "/admin/" not in (out / "sitemap.xml").read_text(encoding="utf-8")
    assert not list((out / "pagefind").rglob("*admin*"))


def test_missing_cms_package_is_explained_in_german(make_site: MakeSite, capsys):  # type: ignore[no-untyped-def]
    root = make_site({"content/site.yaml": SITE_YAML + GITLAB})
    shutil.copy(REPO / "package-lock.json", root / "package-lock.json")
    code, err = _build(root, capsys)
    assert code == 1
    assert "package.json: Das Redaktionssystem (@sveltia/cms) ist nicht installiert." in err
    assert "→ Führen Sie im Ordner der Website „npm ci“ aus" in err
    assert not (root / "build").exists()


def test_gitlab_without_app_id_is_an_error_at_the_cms_line(make_site: MakeSite, capsys):  # type: ignore[no-untyped-def]
    root = make_site({"content/site.yaml": SITE_YAML + GITLAB.replace("  app_id: 0123abcd\n", "")})
    code, err = _build(root, capsys)
    line = (SITE_YAML + GITLAB).splitlines().index("cms:") + 1
    assert code == 1
    assert f"content/site.yaml:{line}: Für die Anmeldung über GitLab fehlt „app_id“." in err


def test_unknown_backend_is_refused_with_the_allowed_ones(make_site: MakeSite, capsys):  # type: ignore[no-untyped-def]
    root = make_site({"content/site.yaml": SITE_YAML + GITLAB.replace("backend: gitlab", "backend: gitlub")})
    code, err = _build(root, capsys)
    assert code == 1
    assert "„backend“: „gitlub“ ist nicht erlaubt; erlaubt sind: gitlab, github." in err
    assert "Meinten Sie „gitlab“?" in err
