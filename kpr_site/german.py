"""German language helpers: slugs, dates and numbers, independent of the machine's locale."""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from zoneinfo import ZoneInfo

__all__ = ["BERLIN", "date_long", "date_short", "euro", "number", "slugify", "time_of_day"]

_TRANSLIT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "ae", "Ö": "oe",
                           "Ü": "ue", "ẞ": "ss"})
_MONTHS = ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
           "Oktober", "November", "Dezember")


@functools.lru_cache(maxsize=8192)  # topics are slugified once per page that lists them
def slugify(text: str, separator: str = "-") -> str:
    """'Suchtprävention & Jugend' → 'suchtpraevention-jugend' (ASCII, lower case)."""
    text = unicodedata.normalize("NFC", text).translate(_TRANSLIT).lower()
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", separator, ascii_text).strip(separator)


def date_long(date: dt.date) -> str:
    """10. Februar 2017"""
    return f"{date.day}. {_MONTHS[date.month - 1]} {date.year}"


def date_short(date: dt.date) -> str:
    """10.02.2017"""
    return f"{date.day:02d}.{date.month:02d}.{date.year}"


BERLIN = ZoneInfo("Europe/Berlin")
"""The county's time zone: times without a zone are meant there."""


def time_of_day(moment: dt.datetime) -> str:
    """15:19 (in Berlin time)."""
    return moment.astimezone(BERLIN).strftime("%H:%M")


def number(value: int | float) -> str:
    """15000 → '15.000'; 1234.5 → '1.234,50'."""
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}".replace(",", ".")
    return f"{value:,.2f}".replace(",", "\0").replace(".", ",").replace("\0", ".")


def euro(value: int | float) -> str:
    """15000 → '15.000 €' (with a no-break space before the sign, as DIN 5008 wants)."""
    return f"{number(value)}\u00a0€"
