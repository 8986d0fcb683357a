"""iCalendar (RFC 5545) files for events: one per event (/termine/YYYY/slug/termin.ics) and one
for all (/termine/kalender.ics, to subscribe to). Pure: events in, bytes out.

Written with the standard library: lines end in CRLF and are folded at 75 octets (never inside
a UTF-8 character), TEXT values escape backslash, semicolon, comma and newlines. Times are
local times with TZID=Europe/Berlin and a VTIMEZONE that carries the EU daylight-saving rules,
so a calendar shows 18:00 on both sides of the change. UIDs come from the event's address and
the site's host, so they stay the same from build to build; DTSTAMP is the build date, so the
same sources and date give the same bytes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from urllib.parse import urlsplit

from kpr_site.german import BERLIN, date_short, time_of_day
from kpr_site.model import Event, Site, SiteConfig, day_of, is_current
from kpr_site.urls import CALENDAR_URL, join_url

__all__ = ["calendar", "calendar_files", "escape_text", "fold", "uid"]

PRODID = "-//Landkreis Rostock//kpr-site//DE"
TZID = "Europe/Berlin"
# The EU rules in force since 1996: summer time from the last Sunday in March, 02:00, to the
# last Sunday in October, 03:00.
_VTIMEZONE = (
    "BEGIN:VTIMEZONE", f"TZID:{TZID}", f"X-LIC-LOCATION:{TZID}",
    "BEGIN:DAYLIGHT", "TZOFFSETFROM:+0100", "TZOFFSETTO:+0200", "TZNAME:CEST",
    "DTSTART:19810329T020000", "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU", "END:DAYLIGHT",
    "BEGIN:STANDARD", "TZOFFSETFROM:+0200", "TZOFFSETTO:+0100", "TZNAME:CET",
    "DTSTART:19961027T030000", "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU", "END:STANDARD",
    "END:VTIMEZONE",
)


def calendar_files(site: Site) -> Iterator[tuple[str, bytes]]:
    """(URL, bytes) of each dated event's file and of the calendar of all events that have not
    expired; nothing for a site without dated events."""
    dated = [event for event in site.events if event.start is not None]
    for event in dated:
        yield event.calendar_url, calendar([event], site.config, site.today, event.title)
    if dated:
        current = [event for event in dated if is_current(event, site.today)]
        yield CALENDAR_URL, calendar(current, site.config, site.today,
                                     f"Termine – {site.config.title}", subscribable=True)


def calendar(events: Sequence[Event], config: SiteConfig, today: dt.date, name: str,
             subscribable: bool = False) -> bytes:
    """One VCALENDAR with a VEVENT per event."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN",
             "METHOD:PUBLISH", f"X-WR-CALNAME:{escape_text(name)}", f"X-WR-TIMEZONE:{TZID}"]
    if subscribable:  # RFC 7986 and its older spelling: ask subscribers to look daily
        lines += ["REFRESH-INTERVAL;VALUE=DURATION:P1D", "X-PUBLISHED-TTL:P1D"]
    if any(not event.all_day for event in events):
        lines += _VTIMEZONE
    for event in events:
        lines += _vevent(event, config, today)
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines).encode("utf-8")


def _vevent(event: Event, config: SiteConfig, today: dt.date) -> list[str]:
    assert event.start is not None
    page = join_url(config.base_url, event.url)
    lines = ["BEGIN:VEVENT", f"UID:{uid(event, config)}", f"DTSTAMP:{today:%Y%m%d}T000000Z",
             *_times(event), f"SUMMARY:{escape_text(event.title)}"]
    description = _description(event, page)
    if description:
        lines.append(f"DESCRIPTION:{escape_text(description)}")
    if event.place:
        where = ", ".join(part for part in (event.place.name, event.place.address) if part)
        lines.append(f"LOCATION:{escape_text(where)}")
    if event.topics:
        lines.append("CATEGORIES:" + ",".join(escape_text(topic) for topic in event.topics))
    lines += [f"URL:{page}", "END:VEVENT"]
    return lines


def uid(event: Event, config: SiteConfig) -> str:
    """Stable: the event's address on the site, at the site's host."""
    parts = urlsplit(config.base_url)
    path = (parts.path.rstrip("/") + event.url).strip("/").replace("/", "-")
    return f"{path}@{parts.hostname or 'localhost'}"


def _times(event: Event) -> list[str]:
    start, end = event.start, event.end
    assert start is not None
    if not isinstance(start, dt.datetime):
        after = (day_of(end) if end is not None else start) + dt.timedelta(days=1)
        return [f"DTSTART;VALUE=DATE:{start:%Y%m%d}", f"DTEND;VALUE=DATE:{after:%Y%m%d}"]
    lines = [f"DTSTART{_local(start)}"]
    if isinstance(end, dt.datetime):
        lines.append(f"DTEND{_local(end)}")
    return lines


def _local(moment: dt.datetime) -> str:
    """";TZID=Europe/Berlin:20241026T180000"; in the hour that occurs twice when summer time
    ends, a local time means its first occurrence (RFC 5545 3.3.5), so the second is written
    in UTC (":20241027T013000Z")."""
    local = moment.astimezone(BERLIN)
    first = local.replace(tzinfo=None).replace(tzinfo=BERLIN, fold=0)
    if first.utcoffset() != local.utcoffset():
        return moment.astimezone(dt.UTC).strftime(":%Y%m%dT%H%M%SZ")
    return local.strftime(f";TZID={TZID}:%Y%m%dT%H%M%S")


def _description(event: Event, page: str) -> str:
    parts = [event.summary] if event.summary else []
    if event.organiser:
        parts.append(f"Veranstalter: {event.organiser}")
    registration = event.registration
    if registration:
        how = ", ".join(p for p in (registration.url, registration.email, registration.note) if p)
        deadline = registration.deadline
        until = ""
        if deadline is not None:
            until = f" (bis {date_short(day_of(deadline))}"
            until += f", {time_of_day(deadline)} Uhr)" if isinstance(deadline, dt.datetime) else ")"
        parts.append(f"Anmeldung: {how}{until}")
    if event.accessibility:
        parts.append(f"Barrierefreiheit: {event.accessibility}")
    parts.append(f"Mehr: {page}")
    return "\n".join(parts)


def escape_text(value: str) -> str:
    """A TEXT value (RFC 5545 3.3.11): \\ ; , escaped, newlines as \\n."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")


def fold(line: str) -> str:
    """Fold a content line into lines of at most 75 octets (RFC 5545 3.1); each continuation
    starts with a space, which counts. A UTF-8 character is never split."""
    if len(line.encode("utf-8")) <= 75:
        return line
    parts: list[str] = []
    current: list[str] = []
    size = 0
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > 75:
            parts.append("".join(current))
            current, size = [], 1  # the leading space of the continuation line
        current.append(char)
        size += width
    parts.append("".join(current))
    return "\r\n ".join(parts)
