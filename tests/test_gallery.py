"""The photo gallery end to end: albums from gallery/, pictures in pages, every bad input as a
clear error that leaves the previous site untouched, and the image cache.

Photos are generated with Pillow in each test; no photo is committed.
"""

from __future__ import annotations

import io
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import HtmlFacts, press, read_page, tree_digest, write_site
from PIL import Image

from kpr_site import images
from kpr_site.build import build_site
from kpr_site.images import ImageSettings
from kpr_site.options import BuildOptions

Build = Callable[..., tuple[int, str, str]]


def photo(colour: str = "teal", size: tuple[int, int] = (900, 600), **options: object) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "JPEG", quality=85, **options)
    return buffer.getvalue()


def album(*files: str, title: str = "Sitzung", date: str = "2017-02-10", extra: str = "") -> str:
    lines = [f"title: {title}", f"date: {date}", *extra.splitlines(), "photos:"]
    for name in files:
        lines += [f"  - file: {name}", f"    alt: Foto {name}"]
    return "\n".join(lines) + "\n"


def gallery_files() -> dict[str, str | bytes]:
    """One album "sitzung" with three photos."""
    return {
        "gallery/sitzung/album.yaml": album("a.jpg", "b.jpg", "c.jpg"),
        "gallery/sitzung/a.jpg": photo("red"),
        "gallery/sitzung/b.jpg": photo("green", (600, 900)),
        "gallery/sitzung/c.jpg": photo("blue", (2400, 1600)),
    }


def gallery_site(make_site, more: dict[str, str | bytes] | None = None,
                 cache: Path | None = None) -> Path:
    """One album "sitzung" with three photos, plus `more` files; with a copy of `cache` as its
    .cache/ if given."""
    root = make_site({**gallery_files(), **(more or {})})
    if cache is not None:
        shutil.copytree(cache, root / ".cache")
    return root


@pytest.fixture(scope="module")
def photo_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The cache of a build of gallery_site, made once: tests of pages and of bad input start
    from a copy, so they do not make the same derivatives again (~0.3 s each). The tests of
    the image cache and of the derivatives themselves start without one."""
    root = write_site(tmp_path_factory.mktemp("photos") / "site", gallery_files())
    build_site(root, root / "build", BuildOptions(search=False))
    return root / ".cache"


def bilder(out: Path) -> dict[str, bytes]:
    return {f.name: f.read_bytes() for f in sorted((out / "bilder").iterdir())}


# ---------- the pages ----------


def test_album_page_shows_photos_in_list_order_as_pictures(make_site, build: Build, photo_cache):
    root = gallery_site(make_site, cache=photo_cache)
    code, _out, err = build(root)
    assert code == 0, err
    page = read_page(root / "build", "/galerie/sitzung/")
    assert [img["alt"] for img in page.attrs("img") if "Foto" in img.get("alt", "")] == [
        "Foto a.jpg", "Foto b.jpg", "Foto c.jpg"]
    first, second, third = [i for i in page.attrs("img") if i.get("alt", "").startswith("Foto")]
    assert (first["width"], first["height"]) == ("900", "600")
    assert (second["width"], second["height"]) == ("600", "900")
    assert (third["width"], third["height"]) == ("1600", "1067")  # never wider than 1600
    assert "loading" not in first  # the first row loads at once
    assert all(" 320w" in i["srcset"] and i["sizes"] for i in (first, second, third))
    formats = ImageSettings().formats  # AVIF first where this Pillow writes it
    assert [s["type"] for s in page.attrs("source")] == [
        f"image/{f}" for f in formats if f != "jpeg"] * 3


def test_every_thumbnail_links_to_its_large_jpeg_without_javascript(make_site, build: Build, photo_cache):
    root = gallery_site(make_site, cache=photo_cache)
    assert build(root)[0] == 0
    page = read_page(root / "build", "/galerie/sitzung/")
    links = [a for a in page.attrs("a") if a.get("class") == "gallery__link"]
    assert len(links) == 3
    for link in links:
        assert re.fullmatch(r"/bilder/[0-9a-f]{16}-\d+\.jpg", link["href"])
        assert (root / "build" / link["href"].lstrip("/")).is_file()
        assert link["data-srcset"].count(".webp") >= 1
    assert any(a.get("src", "").endswith(".js") and "lightbox" in a["src"]
               for a in page.attrs("script"))


def test_gallery_lists_albums_newest_first_with_cover_date_and_count(make_site, build: Build, photo_cache):
    root = gallery_site(make_site, {
        "gallery/aelter/album.yaml": album("x.jpg", title="Älteres Album", date="2016-05-01"),
        "gallery/aelter/x.jpg": photo("gray"),
    }, cache=photo_cache)
    assert build(root)[0] == 0
    page = read_page(root / "build", "/galerie/")
    assert page.text("a", class_="album-card__link") == ["Sitzung", "Älteres Album"]
    assert page.text("p", class_="album-card__meta") == [
        "10. Februar 2017 · 3 Fotos", "1. Mai 2016 · 1 Foto"]
    covers = [i for i in page.attrs("img")][1:]  # after the logo
    assert len(covers) == 2 and all(c["alt"] == "" for c in covers)


def test_site_without_albums_has_no_gallery_pages(make_site, build: Build):
    root = make_site({})
    assert build(root)[0] == 0
    assert not (root / "build" / "galerie").exists() and not (root / "build" / "bilder").exists()


def test_every_derivative_exists_is_upright_and_has_no_metadata(make_site, build: Build):
    exif = Image.Exif()
    exif[0x0112] = 6
    exif.get_ifd(0x8825).update({1: "N", 2: (54.0, 5.0, 31.5)})
    exif.get_ifd(0x8769)[0xA431] = "KPR-SERIAL-0815"
    root = gallery_site(make_site, {"gallery/sitzung/b.jpg": photo("green", (900, 600), exif=exif)})
    assert build(root)[0] == 0
    out = root / "build"
    referenced = set()
    for html in out.rglob("*.html"):
        referenced |= set(re.findall(r"/bilder/[0-9a-f]{16}-\d+\.(?:jpg|webp|avif)", html.read_text()))
    assert referenced and {f"/bilder/{name}" for name in bilder(out)} == referenced
    page = read_page(out, "/galerie/sitzung/")
    rotated = next(i for i in page.attrs("img") if i.get("alt") == "Foto b.jpg")
    assert (rotated["width"], rotated["height"]) == ("600", "900")  # upright: portrait
    for name, data in bilder(out).items():
        image = Image.open(io.BytesIO(data))
        assert not image.getexif() and b"Exif" not in data and b"KPR-SERIAL" not in data, name
        if name.startswith(rotated["src"].split("/")[-1].split("-")[0]):
            assert image.height > image.width, name


def test_markdown_image_of_a_photo_becomes_a_responsive_picture(make_site, build: Build, photo_cache):
    root = gallery_site(make_site, {"content/press/2017-02-10-neustart.md": press(
        body="Vorher.\n\n![Die Runde am Tisch](../../gallery/sitzung/c.jpg)\n\n"
             "[Großes Foto](../../gallery/sitzung/a.jpg)\n\n"
             "![Noch ein Foto](../../gallery/sitzung/b.jpg)\n")}, cache=photo_cache)
    code, _out, err = build(root)
    assert code == 0, err
    page = read_page(root / "build", "/presse/2017/neustart/")
    first = next(i for i in page.attrs("img") if i.get("alt") == "Die Runde am Tisch")
    later = next(i for i in page.attrs("img") if i.get("alt") == "Noch ein Foto")
    # The first photo of the page loads at once and early; the ones further down are lazy.
    assert first["fetchpriority"] == "high" and "loading" not in first
    assert later["loading"] == "lazy" and later["decoding"] == "async"
    assert "fetchpriority" not in later
    assert first["width"] == "1600" and "1024w" in first["srcset"]
    big = dict(page.links())["Großes Foto"]
    assert re.fullmatch(r"/bilder/[0-9a-f]{16}-900\.jpg", big)


def test_front_matter_image_is_shown_with_the_album_alt_text(make_site, build: Build, photo_cache):
    root = gallery_site(make_site, cache=photo_cache)
    make_site({"content/press/2017-02-10-neustart.md":
               press(image="../../gallery/sitzung/a.jpg")}, root)
    make_site({"content/projects/pilot.md": "---\ntitle: Pilot\nstatus: laufend\n"
               "image: /gallery/sitzung/b.jpg\nimage_alt: Das Projektteam\n---\nText.\n"}, root)
    code, _out, err = build(root)
    assert code == 0, err
    release = read_page(root / "build", "/presse/2017/neustart/")
    hero = next(i for i in release.attrs("img") if i.get("alt") == "Foto a.jpg")
    assert "loading" not in hero  # at the top of the page: loaded at once
    project = read_page(root / "build", "/projekte/pilot/")
    assert [i["alt"] for i in project.attrs("img")][-1] == "Das Projektteam"


def test_front_matter_image_without_alt_text_is_an_error(make_site, build: Build):
    root = make_site({
        "content/press/2017-02-10-neustart.md": press(image="bild.png"),
        "content/press/bild.png": photo(),
    })
    code, _out, err = build(root)
    assert code == 1
    assert "content/press/2017-02-10-neustart.md:4: Zum Bild „bild.png“ fehlt der Alternativtext" in err
    assert "image_alt" in err


# ---------- bad input: message, location, and the previous site untouched ----------


@pytest.fixture
def built_gallery(make_site, build: Build, photo_cache: Path) -> tuple[Path, dict[str, str]]:
    """A gallery site built once; returns its root and the digest of its output."""
    root = gallery_site(make_site, cache=photo_cache)
    assert build(root)[0] == 0
    return root, tree_digest(root / "build")


def fails_with(root: Path, build: Build, before: dict[str, str], *expected: str) -> str:
    code, _out, err = build(root)
    assert code == 1, err
    for text in expected:
        assert text in err, f"{text!r} fehlt in:\n{err}"
    assert "Die bisherige Ausgabe bleibt unverändert" in err
    assert tree_digest(root / "build") == before
    return err


def test_listed_photo_that_does_not_exist(built_gallery, build: Build):
    root, before = built_gallery
    (root / "gallery/sitzung/b.jpg").rename(root / "gallery/sitzung/B.JPG")
    fails_with(root, build, before,
               "gallery/sitzung/album.yaml:6: Das Foto „b.jpg“ steht in album.yaml, aber die "
               "Datei gibt es im Ordner nicht.", "Meinten Sie „B.JPG“?")


def test_unlisted_photo_prints_the_yaml_lines_to_add(built_gallery, build: Build):
    root, before = built_gallery
    (root / "gallery/sitzung/neu 1.jpg").write_bytes(photo("white"))
    (root / "gallery/sitzung/d.jpg").write_bytes(photo("black"))
    err = fails_with(root, build, before,
                     "gallery/sitzung/album.yaml:3: 2 Fotos im Ordner stehen nicht in album.yaml: "
                     "„d.jpg“, „neu 1.jpg“.")
    assert '\n  - file: d.jpg\n    alt: ""\n  - file: neu 1.jpg\n    alt: ""\n' in err


def test_missing_and_empty_alt_text(built_gallery, build: Build):
    root, before = built_gallery
    (root / "gallery/sitzung/album.yaml").write_text(
        "title: Sitzung\ndate: 2017-02-10\nphotos:\n  - file: a.jpg\n  - file: b.jpg\n"
        '    alt: ""\n  - file: c.jpg\n    alt: Foto c\n', encoding="utf-8")
    fails_with(root, build, before,
               "gallery/sitzung/album.yaml:4: Der Alternativtext („alt“) zum Foto „a.jpg“ fehlt.",
               "gallery/sitzung/album.yaml:6: Der Alternativtext („alt“) zum Foto „b.jpg“ ist leer.",
               "BITV")


def test_truncated_jpeg(built_gallery, build: Build):
    root, before = built_gallery
    data = photo("navy", (1200, 800))
    (root / "gallery/sitzung/a.jpg").write_bytes(data[: len(data) // 2])
    fails_with(root, build, before,
               "gallery/sitzung/a.jpg: Die Bilddatei ist beschädigt oder unvollständig.")


def test_non_image_with_an_image_extension(built_gallery, build: Build):
    root, before = built_gallery
    (root / "gallery/sitzung/a.jpg").write_text("<html>kein Foto</html>\n", encoding="utf-8")
    fails_with(root, build, before,
               "gallery/sitzung/a.jpg: Die Datei ist kein Bild, obwohl ihr Name auf eine "
               "Bildendung endet.")


def test_zero_byte_photo(built_gallery, build: Build):
    root, before = built_gallery
    (root / "gallery/sitzung/b.jpg").write_bytes(b"")
    fails_with(root, build, before, "gallery/sitzung/b.jpg: Die Bilddatei ist leer (0 Byte).")


def test_decompression_bomb(built_gallery, build: Build):
    from test_images import png_chunks

    root, before = built_gallery
    (root / "gallery/sitzung/c.jpg").write_bytes(png_chunks(30000, 30000, 8, 2, b""))
    fails_with(root, build, before,
               "gallery/sitzung/c.jpg: Das Bild ist laut Dateikopf zu groß",
               "erlaubt sind höchstens 50 Megapixel")


def test_malformed_album_yaml(built_gallery, build: Build):
    root, before = built_gallery
    (root / "gallery/sitzung/album.yaml").write_text(
        'title: Sitzung\ndate: 2017-02-10\nphotos:\n  - file: a.jpg\n    alt: "offen\n',
        encoding="utf-8")
    fails_with(root, build, before, "gallery/sitzung/album.yaml:5: Die YAML-Angaben sind fehlerhaft")


def test_photo_symlinked_from_outside_the_site_is_refused(built_gallery, build: Build, tmp_path):
    root, before = built_gallery
    outside = tmp_path / "privat.jpg"
    outside.write_bytes(photo("purple"))
    (root / "gallery/sitzung/a.jpg").unlink()
    os.symlink(outside, root / "gallery/sitzung/a.jpg")
    fails_with(root, build, before,
               "gallery/sitzung/a.jpg: Die Datei ist ein Verweis (Symlink) auf eine Stelle "
               "außerhalb des Website-Ordners.")


def test_symlink_inside_the_site_is_fine(make_site, build: Build, photo_cache):
    root = gallery_site(make_site, cache=photo_cache)
    (root / "gallery/sitzung/c.jpg").unlink()
    os.symlink(root / "gallery/sitzung/a.jpg", root / "gallery/sitzung/c.jpg")
    assert build(root)[0] == 0


def test_every_problem_of_every_album_is_reported_at_once(built_gallery, build: Build):
    root, before = built_gallery
    (root / "gallery/sitzung/a.jpg").write_bytes(b"")
    (root / "gallery/zweites").mkdir()
    (root / "gallery/zweites/album.yaml").write_text(
        "title: Zwei\ndate: 2017-13-01\ncover: fehlt.jpg\nphotos:\n  - file: x.jpg\n    alt: X\n",
        encoding="utf-8")
    (root / "gallery/zweites/x.jpg").write_bytes(photo())
    (root / "gallery/zweites/y.heic").write_bytes(b"ftypheic")
    err = fails_with(root, build, before,
                     "gallery/sitzung/a.jpg: Die Bilddatei ist leer",
                     "gallery/zweites/album.yaml:2: „date“",
                     "gallery/zweites/album.yaml:3: Das Titelbild „fehlt.jpg“",
                     "gallery/zweites/y.heic: Das Bildformat .heic")
    assert "4 Fehler" in err


@pytest.mark.parametrize(("folder", "command"), [
    ("neu", "kpr-site new album neu"), ("Sitzung 2024", 'kpr-site new album "Sitzung 2024"')])
def test_album_folder_without_album_yaml_suggests_new_album(make_site, build: Build, folder, command):
    root = make_site({f"gallery/{folder}/foto.jpg": photo()})
    code, _out, err = build(root)
    assert code == 1
    assert f"gallery/{folder}/: Im Album-Ordner fehlt die Datei album.yaml.\n" \
           f"  → Legen Sie sie mit „{command}“ an: Das trägt alle Fotos des Ordners ein." in err
    assert "  - file: foto.jpg" in err


def test_slug_in_album_yaml_explains_the_folder_name(make_site, build: Build):
    root = make_site({"gallery/sitzung/foto.jpg": photo(),
                      "gallery/sitzung/album.yaml": "title: Sitzung\ndate: 2017-02-10\nslug: x\n"
                                                    "photos:\n  - file: foto.jpg\n    alt: Foto\n"})
    code, _out, err = build(root)
    assert code == 1
    assert "gallery/sitzung/album.yaml:3: Unbekannte Angabe „slug“.\n  → Die Adresse eines Albums " \
           "entsteht aus dem Ordnernamen („sitzung“ → /galerie/sitzung/)." in err


# ---------- the cache ----------


def test_second_build_does_no_image_work(make_site, tmp_path):
    root = gallery_site(make_site)
    first = build_site(root, tmp_path / "out1", BuildOptions())
    assert (first.images_made, first.images_cached) == (3, 0)
    second = build_site(root, tmp_path / "out2", BuildOptions())
    assert (second.images_made, second.images_cached) == (0, 3)
    assert bilder(tmp_path / "out1") == bilder(tmp_path / "out2")


def test_cli_prints_one_summary_line_in_ci(make_site, build: Build, monkeypatch):
    monkeypatch.setenv("CI", "true")
    root = gallery_site(make_site)
    code, out, err = build(root)
    assert code == 0
    assert re.search(r"^Bilder: 3 neu erzeugt, 0 aus dem Zwischenspeicher, \d+,\d s$", out, re.M)
    assert "█" not in err
    code, out, _err = build(root, out=root / "anderswo")
    assert "Bilder: 0 neu erzeugt, 3 aus dem Zwischenspeicher" in out


def test_changed_photo_regenerates_only_its_own_derivatives(make_site, tmp_path):
    root = gallery_site(make_site)
    build_site(root, tmp_path / "out", BuildOptions())
    old = bilder(tmp_path / "out")
    (root / "gallery/sitzung/b.jpg").write_bytes(photo("yellow", (600, 900)))
    report = build_site(root, tmp_path / "out", BuildOptions())
    assert (report.images_made, report.images_cached) == (1, 2)
    new = bilder(tmp_path / "out")
    # b: 320 and 600 pixels wide, in each format
    assert len(set(old) - set(new)) == len(set(new) - set(old)) == 2 * len(ImageSettings().formats)
    assert all(old[name] == new[name] for name in set(old) & set(new))


def test_changed_processing_parameters_regenerate_everything(make_site, tmp_path, monkeypatch):
    root = gallery_site(make_site)
    build_site(root, tmp_path / "out", BuildOptions())
    monkeypatch.setattr(images, "PROCESSING_VERSION", "test-2")
    report = build_site(root, tmp_path / "out", BuildOptions())
    assert (report.images_made, report.images_cached) == (3, 0)


def test_cache_dir_option_is_used_and_no_cache_still_builds(make_site, build: Build, tmp_path):
    root = gallery_site(make_site)
    assert build(root, "--cache-dir", str(tmp_path / "ci-cache"))[0] == 0
    assert any((tmp_path / "ci-cache" / "images").rglob("*-320.webp"))
    assert not (root / ".cache" / "images").exists()
    code, out, _err = build(root, "--no-cache", out=tmp_path / "frisch")
    assert code == 0 and "Bilder: 3 neu erzeugt" in out
    assert len(bilder(tmp_path / "frisch")) == len(bilder(root / "build"))


def test_derivatives_in_the_output_are_hard_links_to_the_cache(make_site, tmp_path):
    root = gallery_site(make_site)
    build_site(root, tmp_path / "out", BuildOptions(cache_dir=tmp_path / "cache"))
    for file in (tmp_path / "out" / "bilder").iterdir():
        cached = tmp_path / "cache" / "images" / file.name[:2] / file.name
        assert file.stat().st_ino == cached.stat().st_ino


def test_progress_is_reported_per_photo(make_site, tmp_path):
    root = gallery_site(make_site)
    seen: list[tuple[int, int]] = []
    build_site(root, tmp_path / "out", BuildOptions(progress=lambda d, t: seen.append((d, t))))
    assert seen[0] == (0, 3) and seen[-1] == (3, 3) and len(seen) == 4


def test_two_builds_of_a_gallery_are_byte_identical(make_site, tmp_path):
    root = gallery_site(make_site)
    build_site(root, tmp_path / "one", BuildOptions(use_cache=False))
    build_site(root, tmp_path / "two", BuildOptions(use_cache=False))
    assert tree_digest(tmp_path / "one") == tree_digest(tmp_path / "two")


def test_shipped_album_is_labelled_as_placeholders():
    from conftest import REPO

    from kpr_site.gallery import load_albums

    albums, errors = load_albums(REPO)
    assert errors == []
    shipped = [a for a in albums if a.slug == "praeventionsrat-bei-der-sitzung"]
    assert shipped and 3 <= len(shipped[0].photos) <= 4
    for item in shipped[0].photos:
        assert "Platzhalterbild" in item.alt and "Platzhalterbild" in item.caption
        assert (REPO / item.path).stat().st_size <= 150_000


def test_album_page_html_has_one_h1_and_figcaptions(make_site, build: Build):
    root = make_site({
        "gallery/sitzung/album.yaml": "title: Sitzung\ndate: 2017-02-10\n"
                                      "description: Die erste Sitzung.\nphotos:\n"
                                      "  - file: a.jpg\n    alt: A\n    caption: Der Saal\n"
                                      "    credit: 'Foto: Landkreis'\n",
        "gallery/sitzung/a.jpg": photo(),
    })
    assert build(root)[0] == 0
    page: HtmlFacts = read_page(root / "build", "/galerie/sitzung/")
    assert page.text("h1") == ["Sitzung"]
    assert page.text("figcaption") == ["Der Saal Foto: Landkreis"]
    assert page.meta("description") == "Die erste Sitzung."


def test_cache_on_another_file_system_is_copied_not_linked(make_site, tmp_path, monkeypatch):
    import errno

    from kpr_site import output

    real_link = os.link

    def link(source: object, target: object) -> None:
        if "/images/" in str(source):
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        real_link(source, target)  # type: ignore[arg-type]

    monkeypatch.setattr(output.os, "link", link)
    root = gallery_site(make_site)
    build_site(root, tmp_path / "out", BuildOptions(cache_dir=tmp_path / "cache"))
    for file in (tmp_path / "out" / "bilder").iterdir():
        cached = tmp_path / "cache" / "images" / file.name[:2] / file.name
        assert file.read_bytes() == cached.read_bytes()
        assert file.stat().st_ino != cached.stat().st_ino
