"""The browser CMS for real: Sveltia CMS from node_modules, configured from our schema, creates
and edits press releases in its local mode; the files it writes pass `kpr-site check --strict`.

Sveltia's local mode edits a folder through the browser's File System Access API after the
editor picks it in a native dialog, which a headless browser cannot answer. The test hands the
CMS a folder of the browser's own private file system (OPFS, the same kind of directory handle)
seeded with the site's content, drives the real UI, and copies what the CMS wrote back into
the site on disk before checking it.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, SITE_YAML, read_page, write_site
from gates import CHROMIUM, chromium, require_tool, serve

from kpr_site.cli import main

pytestmark = pytest.mark.browser

CMS_YAML = SITE_YAML + """\
cms:
  backend: gitlab
  repo: landkreis-rostock/kpr-site
  app_id: test-app
  base_url: https://gitlab.opencode.de
"""
EXISTING = "content/press/2017-02-10-neustart.md"
EXISTING_TEXT = """\
---
title: Neustart im Kreishaus
date: 2017-02-10
summary: Der Rat tagt neu.
tags: [Jugend, Sucht]
author: Erika Muster
---
Der Präventionsrat organisiert seine Arbeit neu.
"""
# The picker returns a folder of the origin-private file system instead of asking the user.
PICKER = """
window.showDirectoryPicker = async () =>
  (await navigator.storage.getDirectory()).getDirectoryHandle('repo');
"""
SEED = """
async (files) => {
  const root = await navigator.storage.getDirectory();
  for await (const name of root.keys()) await root.removeEntry(name, {recursive: true});
  const repo = await root.getDirectoryHandle('repo', {create: true});
  await repo.getDirectoryHandle('.git', {create: true});
  for (const [path, text] of Object.entries(files)) {
    let dir = repo;
    const parts = path.split('/');
    for (const part of parts.slice(0, -1)) dir = await dir.getDirectoryHandle(part, {create: true});
    const writable = await (await dir.getFileHandle(parts.at(-1), {create: true})).createWritable();
    await writable.write(text);
    await writable.close();
  }
}
"""
READ_BYTES = """
async (path) => {
  let dir = await (await navigator.storage.getDirectory()).getDirectoryHandle('repo');
  const parts = path.split('/');
  for (const part of parts.slice(0, -1)) dir = await dir.getDirectoryHandle(part);
  const file = await (await dir.getFileHandle(parts.at(-1))).getFile();
  return Array.from(new Uint8Array(await file.arrayBuffer()));
}
"""
READ_FOLDER = """
async (path) => {
  let dir = await (await navigator.storage.getDirectory()).getDirectoryHandle('repo');
  try {
    for (const part of path.split('/')) dir = await dir.getDirectoryHandle(part);
  } catch {
    return {};  // not written yet
  }
  const files = {};
  for await (const [name, handle] of dir.entries()) {
    if (handle.kind !== 'file' || name.endsWith('.crswap')) continue;  // (a write in progress)
    try {
      files[name] = await (await handle.getFile()).text();
    } catch {
      // replaced while we read it: the next poll sees the new file
    }
  }
  return files;
}
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    require_tool(CHROMIUM.is_file(), f"Chromium fehlt ({CHROMIUM}) – installieren: apt-get install chromium")
    require_tool((REPO / "node_modules" / "@sveltia" / "cms" / "dist").is_dir(),
                 "Sveltia CMS fehlt (node_modules/@sveltia/cms) – installieren: npm ci")
    root = write_site(tmp_path_factory.mktemp("cms") / "site",
                      {"content/site.yaml": CMS_YAML, EXISTING: EXISTING_TEXT})
    shutil.copy(REPO / "package-lock.json", root / "package-lock.json")
    os.symlink(REPO / "node_modules", root / "node_modules")
    assert main(["build", "--source", str(root), "--cache-dir", str(root.parent / "cache")]) == 0
    with serve(root / "build") as url:
        yield root, url


@pytest.fixture(scope="module")
def browser(site: tuple[Path, str]) -> Iterator[Any]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def cms(site: tuple[Path, str], browser: Any) -> Iterator[Any]:
    """The CMS page, signed in to the local repository (a copy of the site's content/), in a
    browser context of its own (its own private file system)."""
    root, url = site
    files = {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
             for p in sorted((root / "content").rglob("*")) if p.is_file()}
    context = browser.new_context(locale="de-DE", viewport={"width": 1280, "height": 900})
    try:
        context.add_init_script(PICKER)
        foreign: list[str] = []
        context.on("request", lambda r: foreign.append(r.url)
                   if not r.url.startswith((url, "data:", "blob:")) else None)
        page = context.new_page()
        page.goto(url + "suche/")  # same origin: the CMS will find the seeded folder
        page.evaluate(SEED, files)
        page.goto(url + "admin/", wait_until="commit")
        page.get_by_role("button", name="Mit lokalem Repository arbeiten").click(timeout=30_000)
        page.get_by_role("button", name="Neu").wait_for(timeout=30_000)
        yield page
        assert foreign == [], "Das Redaktionssystem hat fremde Server angefragt"
    finally:
        context.close()


def _fill(field: Any, value: str) -> None:
    """Fill an input once the editor has settled (it re-renders right after opening)."""
    for _ in range(20):
        field.fill(value)
        field.page.wait_for_timeout(150)
        if field.input_value() == value:
            return
    raise AssertionError(f"Das Feld behält den Wert nicht: {value}")


def _saved(page: Any, folder: str, done: Callable[[dict[str, str]], bool]) -> dict[str, str]:
    """The files in `folder` of the CMS's repository once `done` says the save arrived."""
    for _ in range(300):
        files: dict[str, str] = page.evaluate(READ_FOLDER, folder)
        if done(files):
            return files
        page.wait_for_timeout(100)
    alerts = page.get_by_role("alert").all_inner_texts()
    raise AssertionError(f"Das Redaktionssystem hat nicht gespeichert: {sorted(files)} {alerts}")


def _front_matter(text: str) -> list[tuple[str, str]]:
    head = text.split("---\n")[1]
    return [(line.split(":", 1)[0], line.split(":", 1)[1].strip())
            for line in head.splitlines() if re.match(r"\w+:", line)]


def _check_strict(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    code = main(["check", "--strict", "--source", str(root), "--cache-dir", str(root.parent / "cache")])
    assert code == 0, capsys.readouterr()


def test_editor_creates_a_press_release_that_passes_the_strict_check(
    cms: Any, site: tuple[Path, str], capsys: pytest.CaptureFixture[str]
):
    root, _ = site
    from playwright.sync_api import expect

    cms.get_by_role("button", name="Neu").click()
    cms.get_by_text(re.compile("Pressemitteilung.? anlegen")).wait_for()  # (names are isolated: U+2068…)
    title = cms.get_by_role("textbox", name="Titel", exact=True)
    _fill(title, "Präventionsrat lädt zum Forum ein")
    _fill(cms.locator("input[type=date]").first, "2024-05-14")
    _fill(cms.get_by_role("textbox", name="Zusammenfassung"), "Das Forum findet im Mai statt.")
    expect(title).to_have_value("Präventionsrat lädt zum Forum ein")
    cms.get_by_role("button", name="Speichern").click()

    written = _saved(cms, "content/press", lambda files: len(files) == 2)
    new = {name: text for name, text in written.items() if name != EXISTING.rsplit("/", 1)[1]}
    # Named like `kpr-site new press` names it: the date of the front matter, German slug.
    assert list(new) == ["2024-05-14-praeventionsrat-laedt-zum-forum-ein.md"]
    text = next(iter(new.values()))
    fields = dict(_front_matter(text))
    assert fields["title"] == "Präventionsrat lädt zum Forum ein"
    assert fields["date"].strip("'\"") == "2024-05-14"
    (root / "content/press" / next(iter(new))).write_text(text, encoding="utf-8")
    try:
        _check_strict(root, capsys)
    finally:
        (root / "content/press" / next(iter(new))).unlink()


def test_editing_a_release_keeps_its_keys_and_their_order(
    cms: Any, site: tuple[Path, str], capsys: pytest.CaptureFixture[str]
):
    root, _ = site
    cms.get_by_text("Neustart im Kreishaus").click()
    _fill(cms.get_by_role("textbox", name="Zusammenfassung"), "Der Rat tagt neu, jetzt monatlich.")
    cms.get_by_role("button", name="Speichern").click()

    name = EXISTING.rsplit("/", 1)[1]
    # .get: while the CMS writes, the file can be missing from the folder for a moment.
    text = _saved(cms, "content/press", lambda files: "monatlich" in files.get(name, ""))[name]
    before, after = _front_matter(EXISTING_TEXT), _front_matter(text)
    # Every key stays, in its place, with its value; the CMS only appends the one field it
    # always writes, a checkbox's false (which means what a missing `draft` means).
    assert [key for key, _ in after[:len(before)]] == [key for key, _ in before]
    assert after[len(before):] in ([], [("draft", "false")])
    assert dict(after)["summary"] == "Der Rat tagt neu, jetzt monatlich."
    assert {k: v for k, v in after if k not in ("summary", "tags", "draft")} == {
        k: v for k, v in before if k not in ("summary", "tags")}
    assert "Der Präventionsrat organisiert seine Arbeit neu." in text
    (root / EXISTING).write_text(text, encoding="utf-8")
    try:
        _check_strict(root, capsys)
    finally:
        (root / EXISTING).write_text(EXISTING_TEXT, encoding="utf-8")


def test_photo_uploaded_into_a_new_album_goes_through_the_image_pipeline(
    cms: Any, site: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    from io import BytesIO

    from PIL import Image

    root, _ = site
    photo = tmp_path / "sitzung.jpg"
    exif = Image.Exif()
    exif[0x010F] = "Kamerahersteller"  # Make: must not reach the published derivatives
    buffer = BytesIO()
    Image.new("RGB", (800, 600), (30, 90, 160)).save(buffer, "JPEG", exif=exif)
    photo.write_bytes(buffer.getvalue())

    cms.get_by_text("Fotoalben", exact=True).click()
    cms.get_by_role("button", name="Neu").first.click()
    _fill(cms.get_by_role("textbox", name="Titel", exact=True), "Sitzung im Mai")
    _fill(cms.locator("input[type=date]").first, "2024-05-14")
    cms.get_by_role("button", name=re.compile("Fotos.? hinzufügen")).click()
    cms.get_by_role("button", name="Durchsuchen").click()
    dialog = cms.get_by_role("dialog")
    dialog.locator("input[type=file]").set_input_files(photo)
    dialog.get_by_role("button", name="Einfügen").click()
    dialog.wait_for(state="hidden")
    _fill(cms.get_by_role("textbox", name="Alternativtext"), "Der Sitzungssaal mit blauen Wänden.")
    cms.get_by_role("button", name="Speichern").click()

    folder = "gallery/sitzung-im-mai"
    album = _saved(cms, folder, lambda files: "album.yaml" in files)["album.yaml"]
    assert "file: sitzung.jpg" in album and "alt: Der Sitzungssaal mit blauen Wänden." in album
    on_disk = root / folder
    on_disk.mkdir(parents=True)
    try:
        (on_disk / "album.yaml").write_text(album, encoding="utf-8")
        (on_disk / "sitzung.jpg").write_bytes(bytes(cms.evaluate(READ_BYTES, f"{folder}/sitzung.jpg")))
        out = tmp_path / "out"
        assert main(["build", "--source", str(root), "--out", str(out),
                     "--cache-dir", str(tmp_path / "cache")]) == 0, capsys.readouterr()
        page = read_page(out, "/galerie/sitzung-im-mai/")
        assert "Der Sitzungssaal mit blauen Wänden." in [i.get("alt") for i in page.attrs("img")]
        derivatives = [p for p in (out / "bilder").rglob("*") if p.is_file()]
        assert derivatives and not [p for p in derivatives if b"Kamerahersteller" in p.read_bytes()]
    finally:
        shutil.rmtree(on_disk)
