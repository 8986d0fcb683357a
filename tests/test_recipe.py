"""One recipe for build and check: the stages run in order, and errors stop a build before
anything expensive or visible happens, while check collects every one."""

from __future__ import annotations

from pathlib import Path

from conftest import press
from test_gallery import album, photo

from kpr_site.build import CheckSink, StagingSink, run
from kpr_site.check import check_site
from kpr_site.errors import BuildFailed
from kpr_site.options import BuildOptions

BROKEN_TEMPLATE = "{% extends 'base.html' %}{% block content %}{{ release.title }{% endblock %}\n"


def _site_with_photo(make_site, **files: str | bytes):  # type: ignore[no-untyped-def]
    return make_site({"gallery/sitzung/album.yaml": album("a.jpg"),
                      "gallery/sitzung/a.jpg": photo(), **files})


def test_template_typo_stops_the_build_before_any_photo_is_made(make_site, build) -> None:  # type: ignore[no-untyped-def]
    root = _site_with_photo(make_site, **{"templates/press_detail.html": BROKEN_TEMPLATE,
                                          "content/press/2017-02-10-neu.md": press()})
    code, _, err = build(root)
    assert code == 1
    assert "templates/press_detail.html:1" in err
    images = root / ".cache" / "images"
    assert not any(images.glob("??/*.jpg")), "a photo was made although the build had failed"
    assert not (root / "build").exists() and not (root / ".build.next").exists()


def test_check_collects_content_template_and_photo_errors_in_one_run(make_site) -> None:  # type: ignore[no-untyped-def]
    root = _site_with_photo(make_site, **{
        "templates/press_detail.html": BROKEN_TEMPLATE,
        "content/press/2017-02-10-neu.md": press(body="[x](fehlt.md)"),
        "gallery/sitzung/a.jpg": b"kein jpeg",
    })
    places = {str(f.location) for f in check_site(root).errors}
    assert "content/press/2017-02-10-neu.md:5" in places  # the broken link
    assert "templates/press_detail.html:1" in places  # the template
    assert "gallery/sitzung/a.jpg" in places  # the photo, found only by decoding it


def test_build_and_check_find_the_same_errors_through_the_same_stages(make_site, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = make_site({"content/press/2017-02-10-neu.md": press(body="[x](fehlt.md)"),
                      "content/pages/a.md": "---\ntitle: A\nfarbe: rot\n---\n[y](nix.md)\n"})
    options = BuildOptions(jobs=1)
    try:
        run(root, options, StagingSink(root, tmp_path / "out", options))
    except BuildFailed as failed:
        built = {(str(e.location), e.message) for e in failed.errors}
    else:
        raise AssertionError("the build should have failed")
    checked = run(root, options, CheckSink(lambda _path, _data: None))
    assert {(str(e.location), e.message) for e in checked.errors} == built
    assert len(built) == 3


def test_report_is_computed_from_the_stages(make_site, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = _site_with_photo(make_site, **{"content/press/2017-02-10-neu.md": press()})
    options = BuildOptions(jobs=1)
    first = run(root, options, StagingSink(root, tmp_path / "out", options)).report
    again = run(root, options, StagingSink(root, tmp_path / "out", options)).report
    assert (first.images_made, first.images_cached, first.converted) == (1, 0, 2)
    assert (again.images_made, again.images_cached, again.converted) == (0, 1, 0)
    assert first.files == again.files == again.unchanged and again.rendered == 0


# --- The page key: an explicit fingerprint of what a page is made from ------------------------

def test_fingerprint_is_deterministic_and_sees_every_field() -> None:
    import dataclasses
    import datetime as dt

    from kpr_site.cache import Fingerprint

    @dataclasses.dataclass(frozen=True)
    class Item:
        title: str
        day: dt.date
        tags: tuple[str, ...] = ()

    one = {"items": (Item("A", dt.date(2017, 2, 10), ("x",)),), "n": 1, "none": None}
    same = {"none": None, "n": 1, "items": (Item("A", dt.date(2017, 2, 10), ("x",)),)}
    assert Fingerprint()(one) == Fingerprint()(same)  # dict order does not matter
    for changed in ({**one, "n": 2}, {**one, "n": 1.0}, {**one, "n": "1"},
                    {**one, "items": (Item("A", dt.date(2017, 2, 11), ("x",)),)},
                    {**one, "items": (Item("A", dt.date(2017, 2, 10), ("y",)),)}):
        assert Fingerprint()(changed) != Fingerprint()(one), changed


def test_fingerprint_refuses_what_it_cannot_key_stably() -> None:
    import pytest

    from kpr_site.cache import Fingerprint

    with pytest.raises(TypeError):
        Fingerprint()({"callback": lambda: None})


def test_a_lazy_body_is_keyed_by_its_cache_key_and_links_not_its_loader() -> None:
    from kpr_site.cache import Fingerprint
    from kpr_site.markup import LazyBody

    def loader() -> str:
        raise AssertionError("keying a page must not load its body")

    a = LazyBody("k1", (("href", "/a/"),), False, loader)
    assert Fingerprint()(a) == Fingerprint()(LazyBody("k1", (("href", "/a/"),), False, loader))
    assert Fingerprint()(a) != Fingerprint()(LazyBody("k1", (("href", "/b/"),), False, loader))
    assert Fingerprint()(a) != Fingerprint()(LazyBody("k2", (("href", "/a/"),), False, loader))
