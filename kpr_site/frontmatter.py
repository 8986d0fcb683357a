"""Read YAML safely, with the source line of every key: front matter blocks and data files.

This is the only module that imports yaml. Dates stay strings here (the loader's timestamp
constructor is replaced) so that validation can report "2017-02-31" with its line instead
of PyYAML failing with a bare ValueError.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import yaml

from kpr_site.errors import Location, SiteError

__all__ = [
    "Document", "KeyPath", "YamlData", "YamlMemo", "decode_text", "parse_yaml", "parse_yaml_memo",
    "split_body", "split_front_matter",
]

KeyPath = tuple[str | int, ...]

_BaseLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml is ~8x faster


class _Loader(_BaseLoader):  # type: ignore[misc]
    """Safe loader that keeps timestamps as plain strings."""


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_str)


@dataclass(frozen=True)
class YamlData:
    """Parsed YAML and the 1-based source line of every mapping key and list item."""

    value: Any
    lines: dict[KeyPath, int]

    def line(self, *key: str | int) -> int | None:
        """Line of `key`, or of its nearest parent that has one."""
        path: KeyPath = tuple(key)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), None)


@dataclass(frozen=True)
class Document:
    """A Markdown file split into front matter and body."""

    meta: YamlData
    body: str
    body_line: int
    """1-based line number in the file where the body starts."""


def decode_text(data: bytes, path: str) -> str:
    """Bytes of a text file → str, or a SiteError naming the line of the first bad byte."""
    if not data.removeprefix(b"\xef\xbb\xbf").strip():  # a byte order mark alone is empty too
        raise SiteError(
            "Die Datei ist leer.",
            Location(path, 1),
            "Füllen Sie die Datei aus oder löschen Sie sie.",
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SiteError(
            "Die Datei ist nicht in UTF-8 kodiert (ungültiges Zeichen).",
            Location(path, line),
            "Speichern Sie die Datei im Editor mit der Kodierung „UTF-8“.",
        ) from exc
    return text.replace("\r\n", "\n").replace("\r", "\n")


def parse_yaml(text: str, path: str, first_line: int = 1) -> YamlData:
    """Parse one YAML document safely; `first_line` is where `text` starts in the file."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        lines: dict[KeyPath, int] = {}
        if node is not None:
            _collect_lines(node, (), lines, path, first_line)
        value = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        raise _yaml_error(exc, path, first_line, text) from exc
    except yaml.reader.ReaderError as exc:
        raise _control_character(exc, path, first_line, text) from exc
    except yaml.YAMLError as exc:
        raise SiteError("Die YAML-Angaben sind fehlerhaft.", Location(path, first_line)) from exc
    finally:
        loader.dispose()
    return YamlData(value, lines)


def _collect_lines(
    node: yaml.Node, key: KeyPath, lines: dict[KeyPath, int], path: str, first: int
) -> None:
    lines[key] = node.start_mark.line + first
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            name = str(key_node.value)
            line = key_node.start_mark.line + first
            if name in seen:
                raise SiteError(
                    f"Der Schlüssel „{name}“ steht doppelt (zuerst in Zeile {seen[name]}).",
                    Location(path, line),
                    "Löschen Sie einen der beiden Einträge.",
                )
            seen[name] = line
            _collect_lines(value_node, (*key, name), lines, path, first)
            lines[(*key, name)] = line
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _collect_lines(item, (*key, index), lines, path, first)


def _yaml_error(exc: yaml.MarkedYAMLError, path: str, first_line: int, text: str) -> SiteError:
    mark = exc.problem_mark or exc.context_mark
    if exc.context_mark and mark and mark.index >= len(text.rstrip()):
        # An unclosed quote or bracket is only noticed at the end of the block (libyaml even
        # puts that past the last line); the line where it was opened is the one to fix.
        mark = exc.context_mark
    line = mark.line + first_line if mark else first_line
    return SiteError(
        f"Die YAML-Angaben sind fehlerhaft: {_explain(exc.problem or '')}.",
        Location(path, line),
        "Prüfen Sie Einrückung, Doppelpunkte und Anführungszeichen in dieser Zeile und der "
        "Zeile davor. Texte mit „:“ oder „#“ setzen Sie in Anführungszeichen.",
    )


def _control_character(
    exc: yaml.reader.ReaderError, path: str, first_line: int, text: str
) -> SiteError:
    """PyYAML refuses control characters (often pasted along with text) before parsing."""
    line = first_line + text.count("\n", 0, max(exc.position, 0))
    return SiteError(
        f"Die YAML-Angaben enthalten ein unsichtbares Steuerzeichen (U+{exc.character:04X}).",
        Location(path, line),
        "Es kommt oft mit kopiertem Text. Löschen Sie die Zeile und tippen Sie sie neu.")


# PyYAML's most common complaints, in the words an editor understands.
_PROBLEMS = (
    ("mapping values are not allowed", "ein Doppelpunkt steht, wo keiner stehen darf"),
    ("could not find expected ':'", "nach einem Schlüssel fehlt der Doppelpunkt"),
    ("cannot start any token", "ein Tabulator oder Sonderzeichen steht am Zeilenanfang"),
    ("found unexpected end of stream", "ein Anführungszeichen oder eine Klammer wird nicht geschlossen"),
    ("did not find expected key", "die Einrückung passt nicht"),
    ("expected <block end>", "die Einrückung passt nicht"),
    ("did not find expected '-' indicator", "ein Listeneintrag ist falsch eingerückt"),
    ("found undefined alias", "ein „*“ am Wertanfang wird als Verweis gelesen"),
    ("',' or ']'", "eine eckige Klammer „[“ wird nicht geschlossen"),
    ("',' or '}'", "eine geschweifte Klammer „{“ wird nicht geschlossen"),
)


def _explain(problem: str) -> str:
    for english, german in _PROBLEMS:
        if english in problem:
            return german
    return f"YAML meldet „{problem}“" if problem else "unbekannter Fehler"


class YamlMemo(Protocol):
    """A store for parsed YAML by content hash (kpr_site.cache.PackCache); `get` returns
    only values that pass `valid`."""

    def get(self, key: str, valid: Callable[[Any], bool]) -> Any | None: ...
    def put(self, key: str, value: Any) -> None: ...


def _memo_entry(entry: Any) -> bool:
    """A memo entry as `parse_yaml_memo` stores it: [value, [[*key path, line], …]]."""
    return (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[1], list)
            and all(isinstance(item, list) and item and type(item[-1]) is int
                    and all(isinstance(part, str | int) for part in item[:-1])
                    for item in entry[1]))


def parse_yaml_memo(text: str, path: str, first_line: int, memo: YamlMemo | None) -> YamlData:
    """`parse_yaml`, answered from `memo` when the same text was parsed before.

    Only successful parses are stored (errors are always found afresh), and only values
    that survive JSON unchanged — YAML can make int keys or bytes, JSON cannot.
    """
    if memo is None:
        return parse_yaml(text, path, first_line)
    key = hashlib.sha256(text.encode()).hexdigest()
    cached = memo.get(key, _memo_entry)
    if cached is not None:
        value, lines = cached
        return YamlData(value, {tuple(entry[:-1]): entry[-1] + first_line for entry in lines})
    data = parse_yaml(text, path, first_line)
    entry = [data.value, [[*k, line - first_line] for k, line in data.lines.items()]]
    with contextlib.suppress(TypeError, ValueError):
        if json.loads(json.dumps(entry)) == entry:
            memo.put(key, entry)
    return data


def split_body(text: str) -> tuple[str, int] | None:
    """The Markdown body after the front matter and the line it starts on, or None if the
    front matter is missing or not closed. Apart from parsing, so that a file whose front
    matter is wrong still has its body checked: every problem of a file at once."""
    lines = text.split("\n")
    if lines[0].strip() != "---":
        return None
    for index in range(1, len(lines)):
        if lines[index].strip() in ("---", "..."):
            return "\n".join(lines[index + 1 :]), index + 2
    return None


def split_front_matter(text: str, path: str, memo: YamlMemo | None = None) -> Document:
    """Split `---` front matter from the Markdown body and parse it."""
    if text.split("\n", 1)[0].strip() != "---":
        raise SiteError(
            "Die Datei beginnt nicht mit Kopfdaten (Front Matter).",
            Location(path, 1),
            "Die erste Zeile muss „---“ sein, danach folgen die Angaben wie „title: …“ und "
            "eine weitere Zeile „---“.",
        )
    split = split_body(text)
    if split is None:
        raise SiteError(
            "Die Kopfdaten (Front Matter) werden nicht mit „---“ abgeschlossen.",
            Location(path, 1),
            "Fügen Sie nach der letzten Angabe eine Zeile „---“ ein.",
        )
    body, body_line = split
    meta_text = "\n".join(text.split("\n")[1 : body_line - 2])
    meta = parse_yaml_memo(meta_text, path, 2, memo)
    if meta.value is None:
        meta = YamlData({}, {(): 2})
    if not isinstance(meta.value, dict):
        raise SiteError(
            "Die Kopfdaten müssen aus Angaben der Form „schlüssel: wert“ bestehen.",
            Location(path, 2),
        )
    return Document(meta, body, body_line)
