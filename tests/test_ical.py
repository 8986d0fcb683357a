"""iCalendar output, read by two independent parsers (icalendar and vobject) and by a strict
line-level check of RFC 5545 of our own: folding, CRLF, escaping, time zone, stable UIDs."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
import vobject
from conftest import MakeSite

from kpr_site.cli import main
from kpr_site.ical import escape_text, fold

BERLIN = ZoneInfo("Europe/Berlin")
EVENTS = {
    # Summer time ends on 27 October 2024 at 03:00 (back to 02:00): the same 18:00 on both sides.
    "content/events/2024-10-26-vorher.md": (
        "---\ntitle: Vorher\nstart: 2024-10-26T18:00\nend: 2024-10-26T20:00\n---\n"),
    "content/events/2024-10-28-nachher.md": "---\ntitle: Nachher\nstart: 2024-10-28T18:00\n---\n",
    # A night across the change: 01:30 CEST to 02:30 CET is two hours.
    "content/events/2024-10-27-nacht.md": ("---\ntitle: Nachtwanderung\nstart: 2024-10-27T01:30+02:00\n"
                                           "end: 2024-10-27T02:30+01:00\n---\n"),
    "content/events/2024-03-31-fruehling.md": "---\ntitle: Frühling\nstart: 2024-03-30T23:00:00Z\n---\n",
    "content/events/2024-11-04-tagung.md": (
        "---\ntitle: \"Tagung; Prävention, Sucht\\\\Jugend\"\nstart: 2024-11-04\nend: 2024-11-05\n"
        "summary: Zwei Tage mit Vorträgen, Workshops und Gesprächen über Suchtprävention in "
        "Schulen – für Lehrkräfte, Sozialarbeiterinnen und alle, die mit Jugendlichen arbeiten.\n"
        "place:\n  name: Kreishaus\n  address: Am Wall 3–5, 18273 Güstrow\n"
        "topics: [Sucht, Jugend]\n---\n"),
    "content/events/forum.md": "---\ntitle: Präventionsforum\nschedule: einmal im Jahr\n---\n",
}


@pytest.fixture
def built(make_site: MakeSite) -> Path:
    root = make_site(EVENTS)
    assert main(["build", "--source", str(root), "--today", "2024-10-01"]) == 0
    return root / "build"


def _all(out: Path) -> bytes:
    return (out / "termine/kalender.ics").read_bytes()


def test_calendar_parses_with_icalendar_and_keeps_berlin_times_across_the_change(built: Path) -> None:
    calendar = icalendar.Calendar.from_ical(_all(built))
    events = {str(e["SUMMARY"]): e for e in calendar.walk("VEVENT")}
    assert set(events) == {"Vorher", "Nachher", "Nachtwanderung", "Frühling",
                           "Tagung; Prävention, Sucht\\Jugend"}
    before, after = events["Vorher"]["DTSTART"].dt, events["Nachher"]["DTSTART"].dt
    assert (before.hour, after.hour) == (18, 18)
    assert before.utcoffset() == dt.timedelta(hours=2) and after.utcoffset() == dt.timedelta(hours=1)
    assert events["Vorher"]["DTEND"].dt - before == dt.timedelta(hours=2)
    night = events["Nachtwanderung"]
    hours = night["DTEND"].dt.astimezone(dt.UTC) - night["DTSTART"].dt.astimezone(dt.UTC)
    assert hours == dt.timedelta(hours=2)
    spring = events["Frühling"]["DTSTART"].dt  # given in UTC: shown in Berlin time
    assert spring == dt.datetime(2024, 3, 31, 0, 0, tzinfo=BERLIN) and spring.hour == 0


def test_all_day_event_ends_the_day_after_its_last_day(built: Path) -> None:
    calendar = icalendar.Calendar.from_ical(_all(built))
    (tagung,) = [e for e in calendar.walk("VEVENT") if "Tagung" in str(e["SUMMARY"])]
    assert tagung["DTSTART"].dt == dt.date(2024, 11, 4)
    assert tagung["DTEND"].dt == dt.date(2024, 11, 6)
    assert str(tagung["LOCATION"]) == "Kreishaus, Am Wall 3–5, 18273 Güstrow"
    assert [str(c) for c in tagung["CATEGORIES"].cats] == ["Sucht", "Jugend"]
    assert "Suchtprävention in Schulen – für Lehrkräfte" in str(tagung["DESCRIPTION"])


def test_calendar_parses_with_vobject_the_same_way(built: Path) -> None:
    calendar = vobject.readOne(_all(built).decode("utf-8"))
    events = {e.summary.value: e for e in calendar.vevent_list}
    start = events["Vorher"].dtstart.value
    assert start.replace(tzinfo=None) == dt.datetime(2024, 10, 26, 18, 0)
    assert events["Vorher"].dtstart.value.utcoffset() == dt.timedelta(hours=2)
    assert events["Nachher"].dtstart.value.utcoffset() == dt.timedelta(hours=1)
    assert events["Tagung; Prävention, Sucht\\Jugend"].dtend.value == dt.date(2024, 11, 6)
    assert calendar.vtimezone.tzid.value == "Europe/Berlin"


def test_each_event_has_its_own_file_with_the_same_uid(built: Path) -> None:
    single = icalendar.Calendar.from_ical((built / "termine/2024/vorher/termin.ics").read_bytes())
    (event,) = single.walk("VEVENT")
    assert str(event["UID"]) == "termine-2024-vorher@example.org"
    assert str(event["URL"]) == "https://example.org/termine/2024/vorher/"
    uids = [str(e["UID"]) for e in icalendar.Calendar.from_ical(_all(built)).walk("VEVENT")]
    assert str(event["UID"]) in uids and len(set(uids)) == len(uids)
    assert not (built / "termine/forum/termin.ics").exists()  # no date, no calendar entry


def test_dtstamp_is_the_build_date(built: Path) -> None:
    stamps = set(re.findall(rb"DTSTAMP:(\S+)", _all(built)))
    assert stamps == {b"20241001T000000Z"}


def test_every_line_meets_rfc_5545(built: Path) -> None:
    """A strict line-level check: CRLF only, at most 75 octets a line, continuation lines begin
    with a space, every unfolded line is NAME[;PARAM=VALUE]:VALUE, components balance, and
    the required properties are there."""
    for file in [built / "termine/kalender.ics", *built.glob("termine/2024/*/termin.ics")]:
        data = file.read_bytes()
        assert data.endswith(b"\r\n") and b"\n" not in data.replace(b"\r\n", b"")
        physical = data[:-2].split(b"\r\n")
        assert all(len(line) <= 75 for line in physical), file
        lines: list[str] = []
        for line in physical:
            if line.startswith(b" "):
                lines[-1] += line[1:].decode("utf-8")  # each physical line is valid UTF-8
            else:
                lines.append(line.decode("utf-8"))
        stack = []
        for line in lines:
            assert re.fullmatch(r"[A-Z][A-Z0-9-]*(;[A-Z-]+=[^;:,]+)*:.*", line), line
            name, value = line.split(":", 1)[0], line.split(":", 1)[1]
            if name == "BEGIN":
                stack.append(value)
            elif name == "END":
                assert stack.pop() == value
            if name in ("SUMMARY", "DESCRIPTION", "LOCATION"):
                assert re.fullmatch(r"(?:[^\\;,]|\\[\\;,nN])*", value), line  # escaped TEXT
        assert stack == []
        text = "\n".join(lines)
        assert text.startswith("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:")
        for event in re.findall(r"BEGIN:VEVENT\n(.*?)END:VEVENT", text, re.S):
            assert re.search(r"^UID:", event, re.M) and re.search(r"^DTSTAMP:\d{8}T\d{6}Z$", event, re.M)
            assert re.search(r"^DTSTART[;:]", event, re.M)
        if "TZID=Europe/Berlin" in text:
            assert "BEGIN:VTIMEZONE\nTZID:Europe/Berlin" in text
            assert "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU" in text
            assert "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU" in text


@pytest.mark.parametrize("text", [
    "kurz", "x" * 200, "ä" * 100, "Präventionsrat 🚓 " * 12, "a" * 74 + "ü" + "b" * 80,
])
def test_folding_never_splits_a_character_and_unfolds_to_the_original(text: str) -> None:
    folded = fold("SUMMARY:" + text)
    raw = folded.encode("utf-8").split(b"\r\n")
    assert all(len(line) <= 75 for line in raw)
    assert all(line.startswith(b" ") for line in raw[1:])
    assert [line.decode("utf-8") for line in raw]  # no line ends inside a character
    assert folded.replace("\r\n ", "") == "SUMMARY:" + text


def test_text_values_are_escaped() -> None:
    assert escape_text("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne"


def test_calendar_without_events_is_not_made(make_site: MakeSite) -> None:
    root = make_site({})
    assert main(["build", "--source", str(root)]) == 0
    assert not (root / "build/termine").exists()
