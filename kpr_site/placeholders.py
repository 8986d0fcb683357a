"""What is not finished yet: "[Vom Landkreis zu bestätigen: …]" markers, and the skeleton
text `kpr-site new` writes. Pure functions over text; no I/O.

A marker is an open item: the site shows it highlighted (`<mark class="offen">`), `kpr-site
check` lists it with its line, the build counts it, and `check --strict` (the gate before
publishing) fails while any is left.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = [
    "CSS_CLASS", "MARKER", "SKELETON_BODIES", "Found", "count_markers", "find_markers",
    "find_skeleton", "has_marker", "highlight", "shorten",
]

# "[Vom Landkreis zu bestätigen]" or "[Vom Landkreis zu bestätigen: what is missing]", the
# first letters of the words in either case. The explanation may hold one level of brackets
# (a link "[Seite](x.md)") and, in a wrapped paragraph, line breaks. A backslash before the
# "[" (Markdown) keeps it literal text.
MARKER = re.compile(
    r"(?<!\\)\[\s*[Vv]om\s+[Ll]andkreis\s+zu\s+[Bb]estätigen\s*(?::(?:[^\[\]]|\[[^\[\]]*\])*)?\]")
CSS_CLASS = "offen"
# In every marker. Looking for it first is ~20x faster than the pattern (10,000 bodies of
# 5 kB: 16 ms instead of 330 ms).
_QUICK = "estätigen"

# The body text of each `kpr-site new` skeleton, by content folder. Headings are the editor's
# to keep ("## Ziele" fits a real project); the other paragraphs are instructions to replace.
SKELETON_BODIES = {
    "press": """\
Der erste Absatz sagt das Wichtigste: Wer hat was wann und wo getan – und warum ist das
wichtig?

## Zwischenüberschrift

Weitere Einzelheiten, Hintergründe und Zitate.
""",
    "projects": """\
Worum geht es in dem Projekt, und wem soll es helfen?

## Ziele

Was soll das Projekt erreichen?

## Ansprechpartner

Wer gibt Auskunft?
""",
    "pages": """\
Der Text der Seite. Überschriften beginnen mit „## “.
""",
}


@dataclass(frozen=True)
class Found:
    """An open item in a text."""

    line: int
    """1-based line where it starts."""
    text: str
    """As written, white space collapsed."""


def find_markers(text: str, first_line: int = 1) -> list[Found]:
    """Every marker in `text`; `first_line` is the line `text` starts on in its file."""
    if _QUICK not in text:
        return []
    return [Found(first_line + text.count("\n", 0, m.start()), _collapse(m.group()))
            for m in MARKER.finditer(text)]


def has_marker(text: str) -> bool:
    """Whether `text` holds a marker (then it is no phone number or address to link to)."""
    return _QUICK in text and MARKER.search(text) is not None


def count_markers(*values: object, memo: MarkerMemo | None = None) -> int:
    """Markers in every string reachable from `values` through dataclass fields, tuples,
    lists and dicts (the content model as published; 10,000 press releases with bodies of
    5 kB: ≈40 ms). With a `memo` (kept by `serve`), a frozen record counted in the last run
    is not walked again."""
    seen: MarkerMemo = {}
    total = _count(values, memo or {}, seen)
    if memo is not None:
        memo.clear()
        memo.update(seen)  # what this run counted: records gone from the model are let go
    return total


MarkerMemo = dict[int, tuple[object, int]]
"""Markers of a frozen record, by its id (the record is kept, so the id is not reused)."""


def _count(value: object, before: MarkerMemo, seen: MarkerMemo) -> int:
    if isinstance(value, str):
        return len(MARKER.findall(value)) if _QUICK in value else 0
    if isinstance(value, tuple | list):
        return sum(_count(item, before, seen) for item in value)
    if isinstance(value, dict):
        return sum(_count(item, before, seen) for item in value.values())
    params = getattr(value, "__dataclass_params__", None)
    if params is None:
        return 0
    known = seen.get(id(value)) or before.get(id(value))
    if known is not None and known[0] is value:
        seen[id(value)] = known
        return known[1]
    count = sum(_count(item, before, seen) for item in vars(value).values())
    if params.frozen:
        seen[id(value)] = (value, count)
    return count


def highlight(html_text: str) -> str:
    """Wrap every marker in escaped HTML text (never an attribute value) in a
    `<mark class="offen">`."""
    if _QUICK not in html_text:
        return html_text
    return MARKER.sub(lambda m: f'<mark class="{CSS_CLASS}">{m.group()}</mark>', html_text)


def find_skeleton(text: str) -> list[Found]:
    """Paragraphs of `text` (a whole file) that still begin with a paragraph of a skeleton
    (text written after it in the same paragraph does not make it go away)."""
    found = []
    for line, paragraph in _paragraphs(text):
        if paragraph.startswith(_SKELETON_PARAGRAPHS):
            found.append(Found(line, paragraph))
    return found


def _paragraphs(text: str) -> Iterator[tuple[int, str]]:
    """(first line, text with white space collapsed) of each block between blank lines (or
    the "---" lines around front matter)."""
    start, block = 0, list[str]()
    for number, line in enumerate([*text.split("\n"), ""], 1):
        if line.strip() and line.rstrip() != "---":
            start = start if block else number
            block.append(line)
        elif block:
            yield start, _collapse(" ".join(block))
            block = []


def _collapse(text: str) -> str:
    return " ".join(text.split())


_SKELETON_PARAGRAPHS = tuple(
    paragraph for body in SKELETON_BODIES.values() for _, paragraph in _paragraphs(body)
    if not paragraph.startswith("#"))


def shorten(text: str, limit: int = 70) -> str:
    """`text` for a message: at most `limit` characters, cut at a word with "…"."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    closing = "]" if text.endswith("]") else ""
    return f"{cut} …{closing}"
