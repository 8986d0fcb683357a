"""German language helpers: slugs, dates and numbers, independent of the machine's locale."""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from zoneinfo import ZoneInfo

__all__ = [
    "BERLIN", "counted", "date_long", "date_short", "euro", "file_size", "language_name", "number",
    "slugify", "time_of_day",
]

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


def number(value: int | float, decimals: int | None = None) -> str:
    """German digits: 15000 → '15.000'; 1234.5 → '1.234,50'; number(0.5612, 2) → '0,56'.

    Without `decimals`, whole numbers have none and others two."""
    if decimals is None:
        decimals = 0 if isinstance(value, int) or float(value).is_integer() else 2
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


def counted(count: int, one: str, many: str) -> str:
    """counted(1, "Datei", "Dateien") → '1 Datei'; counted(1500, …) → '1.500 Dateien'."""
    return f"{number(count)} {one if count == 1 else many}"


def euro(value: int | float) -> str:
    """15000 → '15.000 €' (with a no-break space before the sign, as DIN 5008 wants)."""
    return f"{number(value)}\u00a0€"


def file_size(size: int) -> str:
    """245000 → '245 kB', 1234567 → '1,2 MB' (decimal units, rounded up below 1 MB so that a
    small file never reads "0 kB"; a no-break space before the unit)."""
    kilo = max(1, -(-size // 1000))
    if kilo < 1000:
        return f"{kilo}\u00a0kB"
    if size < 1_000_000_000:
        return f"{size / 1_000_000:.1f}".replace(".", ",") + "\u00a0MB"
    return f"{size / 1_000_000_000:.1f}".replace(".", ",") + "\u00a0GB"


_LANGUAGES = {"de": "Deutsch", "en": "Englisch", "fr": "Französisch", "pl": "Polnisch",
              "ru": "Russisch", "uk": "Ukrainisch", "ar": "Arabisch", "tr": "Türkisch",
              "fa": "Persisch", "es": "Spanisch", "it": "Italienisch", "vi": "Vietnamesisch"}


def language_name(code: str) -> str:
    """'en' → 'Englisch'; an unknown code as it is."""
    return _LANGUAGES.get(code.split("-")[0], code)
