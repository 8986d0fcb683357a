"""Publication dates and the build date: `publish`, `expires`, `--today`, SOURCE_DATE_EPOCH;
the same sources and date give the same bytes, another date changes only what must change."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from conftest import MakeSite, output_path, press, read_page, tree_digest

from kpr_site.check import check_site
from kpr_site.cli import main
from kpr_site.options import BuildOptions, build_date

FILES = {
    "content/press/2024-05-01-bald.md": press("2024-05-01", "Bald", publish="2024-06-01", tags="[Jugend]"),
    "content/press/2024-04-01-alt.md": press("2024-04-01", "Alt", expires="2024-06-01", tags="[Jugend]"),
    "content/press/2024-03-01-bleibt.md": press("2024-03-01", "Bleibt"),
    "content/pages/verweis.md": "---\ntitle: Verweis\n---\n[Alt](../press/2024-04-01-alt.md)\n",
    "content/events/2024-06-10-forum.md": "---\ntitle: Forum\nstart: 2024-06-10T18:00\n---\n",
}


def _sitemap(out: Path) -> str:
    return (out / "sitemap.xml").read_text(encoding="utf-8")


def test_page_appears_on_its_publish_day(make_site: MakeSite, build) -> None:  # type: ignore[no-untyped-def]
    root = make_site(FILES)
    assert build(root, "--today", "2024-05-31")[0] == 0
    assert not output_path(root / "build", "/presse/2024/bald/").exists()
    assert "Bald" not in read_page(root / "build", "/presse/").text("h2")
    assert build(root, "--today", "2024-06-01")[0] == 0
    assert read_page(root / "build", "/presse/2024/bald/").text("h1") == ["Bald"]
    assert "https://example.org/presse/2024/bald/" in _sitemap(root / "build")


def test_scheduled_page_is_previewed_with_drafts(make_site: MakeSite, build) -> None:  # type: ignore[no-untyped-def]
    root = make_site(FILES)
    assert build(root, "--today", "2024-05-31", "--drafts")[0] == 0
    assert output_path(root / "build", "/presse/2024/bald/").exists()


def test_link_to_a_page_not_yet_published_names_its_day(make_site: MakeSite, build) -> None:  # type: ignore[no-untyped-def]
    link = "---\ntitle: V\n---\n\n[Bald](../press/2024-05-01-bald.md)\n"
    root = make_site({**FILES, "content/pages/vorschau.md": link})
    code, _, err = build(root, "--today", "2024-05-31")
    assert code == 1
    assert ("content/pages/vorschau.md:5: Der Link „../press/2024-05-01-bald.md“ zeigt auf eine "
            "Seite, die erst am 1. Juni 2024 erscheint (publish).") in err


def test_expired_page_leaves_lists_feed_and_sitemap_but_stays_reachable(make_site: MakeSite, build) -> None:  # type: ignore[no-untyped-def]
    root = make_site(FILES)
    out = root / "build"
    assert build(root, "--today", "2024-05-31")[0] == 0
    assert "Alt" in read_page(out, "/presse/").text("h2")
    assert "/presse/2024/alt/" in _sitemap(out)
    assert build(root, "--today", "2024-06-01")[0] == 0
    assert "Alt" not in read_page(out, "/presse/").text("h2")
    assert "Alt" not in read_page(out, "/themen/jugend/").text("h3")
    assert b"/presse/2024/alt/" not in (out / "presse/feed.xml").read_bytes()
    assert "/presse/2024/alt/" not in _sitemap(out)
    page = read_page(out, "/presse/2024/alt/")
    assert page.meta("robots") == "noindex"
    assert page.text("p", class_="notice") == [
        "Dieser Eintrag ist nicht mehr aktuell (seit 1. Juni 2024). Er bleibt hier abrufbar, "
        "erscheint aber nicht mehr in Übersichten."]
    assert ("Alt", "/presse/2024/alt/") in read_page(out, "/verweis/").links()  # links still work


def test_events_move_from_upcoming_to_past_with_the_build_date(make_site: MakeSite, build) -> None:  # type: ignore[no-untyped-def]
    root = make_site(FILES)
    assert build(root, "--today", "2024-06-10")[0] == 0
    assert read_page(root / "build", "/").text("h2").count("Nächste Termine") == 1
    assert build(root, "--today", "2024-06-11")[0] == 0
    assert "Nächste Termine" not in read_page(root / "build", "/").text("h2")
    assert "Vergangene Termine" in read_page(root / "build", "/termine/").text("h2")


def test_source_date_epoch_is_the_build_date_unless_today_is_given(
    make_site: MakeSite, build, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    root = make_site(FILES)
    # 2024-05-31 22:30 UTC is already 1 June in Berlin.
    epoch = dt.datetime(2024, 5, 31, 22, 30, tzinfo=dt.UTC).timestamp()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(epoch)))
    assert build(root)[0] == 0
    assert output_path(root / "build", "/presse/2024/bald/").exists()
    assert build(root, "--today", "2024-05-01")[0] == 0
    assert not output_path(root / "build", "/presse/2024/bald/").exists()


def test_build_date_comes_from_one_function() -> None:
    assert build_date(dt.date(2020, 1, 2), {"SOURCE_DATE_EPOCH": "0"}) == dt.date(2020, 1, 2)
    assert build_date(None, {"SOURCE_DATE_EPOCH": "1700000000"}) == dt.date(2023, 11, 14)
    berlin_today = dt.datetime.now(dt.timezone(dt.timedelta(hours=1))).date()
    assert abs((build_date(None, {}) - berlin_today).days) <= 1
    with pytest.raises(ValueError, match="SOURCE_DATE_EPOCH muss eine ganze Zahl"):
        build_date(None, {"SOURCE_DATE_EPOCH": "gestern"})


def test_bad_source_date_epoch_is_a_usage_error(
    make_site: MakeSite, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_site({})
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "morgen")
    assert main(["build", "--source", str(root)]) == 2
    err = capsys.readouterr().err
    assert "SOURCE_DATE_EPOCH muss eine ganze Zahl von Sekunden sein, nicht „morgen“." in err
    assert main(["check", "--source", str(root), "--today", "1.6.2024"]) == 2
    assert "„1.6.2024“ ist kein Datum im Format JJJJ-MM-TT" in capsys.readouterr().err


def test_same_sources_and_date_give_the_same_bytes(make_site: MakeSite, tmp_path: Path) -> None:
    root = make_site(FILES)
    for name in ("a", "b"):
        assert main(["build", "--source", str(root), "--out", str(tmp_path / name), "--no-cache",
                     "--today", "2024-05-31"]) == 0
    assert tree_digest(tmp_path / "a") == tree_digest(tmp_path / "b")


def test_another_date_changes_only_what_depends_on_it(make_site: MakeSite, tmp_path: Path) -> None:
    root = make_site({"content/events/2024-06-10-forum.md": FILES["content/events/2024-06-10-forum.md"],
                      "content/press/2024-03-01-bleibt.md": FILES["content/press/2024-03-01-bleibt.md"]})
    digests = []
    for day in ("2024-06-01", "2024-06-02"):
        out = tmp_path / day
        assert main(["build", "--source", str(root), "--out", str(out), "--no-cache", "--today", day]) == 0
        digests.append(tree_digest(out))
    changed = sorted(name.removesuffix(".gz") for name in digests[0]
                     if digests[0][name] != digests[1][name])
    # Only the DTSTAMP of the calendars (the event is still upcoming on both days), and so
    # their precompressed copies.
    assert changed == ["termine/2024/forum/termin.ics"] * 2 + ["termine/kalender.ics"] * 2


def test_incremental_build_equals_a_clean_build_when_only_the_date_changes(
    make_site: MakeSite, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    root = make_site(FILES)
    out = root / "build"
    for day in ("2024-05-31", "2024-06-01", "2024-06-11", "2024-06-11"):
        assert main(["build", "--source", str(root), "--out", str(out), "--today", day]) == 0
        clean = tmp_path / f"clean-{day}"
        assert main(["build", "--source", str(root), "--out", str(clean), "--no-cache", "--today", day]) == 0
        assert tree_digest(out) == tree_digest(clean), day
    assert "Nichts zu tun" in capsys.readouterr().out  # the repeated date: nothing changed


def test_check_warns_about_future_press_dates_relative_to_the_build_date(make_site: MakeSite) -> None:
    root = make_site({"content/press/2024-07-01-zukunft.md": press("2024-07-01", "Zukunft")})
    options = BuildOptions(today=dt.date(2024, 6, 30))
    assert [f.message[:44] for f in check_site(root, options).warnings] == [
        "Das Datum 2024-07-01 liegt in der Zukunft; d"]
    assert check_site(root, BuildOptions(today=dt.date(2024, 7, 1))).warnings == []
