"""`date` of a press release: a day, or a day with time and zone as editors paste it."""

from __future__ import annotations

import pytest
from conftest import output_path, press


def test_iso_timestamp_is_accepted_and_its_time_shown(make_site, build):
    root = make_site({"content/press/2012-01-03-neu.md": press(date="2012-01-03T15:19:00+01:00")})
    code, _, err = build(root)
    assert code == 0, err
    html = output_path(root / "build", "/presse/2012/neu/").read_text(encoding="utf-8")
    assert '<time datetime="2012-01-03T15:19:00+01:00">3. Januar 2012, 15:19&nbsp;Uhr</time>' in html
    feed = (root / "build" / "presse" / "feed.xml").read_text(encoding="utf-8")
    assert "<updated>2012-01-03T14:19:00Z</updated>" in feed


def test_time_without_zone_is_berlin_time_across_daylight_saving(make_site, build):
    root = make_site({"content/press/2017-07-01-sommer.md": press(date="2017-07-01 09:30"),
                      "content/press/2017-01-01-winter.md": press(date="2017-01-01T09:30",
                                                                 title="Winter")})
    assert build(root)[0] == 0
    feed = (root / "build" / "presse" / "feed.xml").read_text(encoding="utf-8")
    assert "<updated>2017-07-01T07:30:00Z</updated>" in feed
    assert "<updated>2017-01-01T08:30:00Z</updated>" in feed


@pytest.mark.parametrize("value, message", [
    ("2017-02-10T25:00", "„2017-02-10T25:00“ enthält keine gültige Uhrzeit"),
    ("2017-02-10T10", "„2017-02-10T10“ ist kein Datum mit Uhrzeit im Format JJJJ-MM-TTTHH:MM"),
    ("2017-02-30T10:00", "2017-02-30 ist kein gültiges Kalenderdatum"),
])
def test_bad_timestamp_is_reported_at_its_line(make_site, build, value, message):
    root = make_site({"content/press/2017-02-10-neu.md": press(date=value)})
    code, _, err = build(root)
    assert code == 1
    assert f"content/press/2017-02-10-neu.md:3: „date“: {message}" in err


def test_file_name_date_must_match_the_day_of_the_timestamp(make_site, build):
    root = make_site({"content/press/2017-02-10-neu.md": press(date="2017-02-11T00:30:00+01:00")})
    code, _, err = build(root)
    assert code == 1
    assert "Das Datum im Dateinamen (2017-02-10) passt nicht zum Datum in den Kopfdaten (2017-02-11)" in err
