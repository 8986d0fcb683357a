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

# Budgets against resource bombs, far above any real file (the largest, an album of 2,000
# photos, is ~300 KB and nests 4 levels). A value counts its characters plus one; without
# aliases (`*name`) a file of MAX_BYTES cannot weigh more than about MAX_BYTES, so the
# weight budget only stops alias expansion ("billion laughs": 9 levels of 9 aliases expand
# to 387 million values from 400 bytes).
MAX_BYTES = 1024 * 1024
"""Largest text file (Markdown or YAML) in bytes."""
MAX_DEPTH = 50
"""Deepest nesting of lists and mappings in YAML."""
MAX_WEIGHT = 2_000_000
"""Largest YAML document after resolving aliases: values plus their characters."""


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
    if len(data) > MAX_BYTES:
        raise SiteError(
            f"Die Datei ist zu groß ({_megabytes(len(data))}; erlaubt ist höchstens "
            f"{_megabytes(MAX_BYTES)}). Ab dieser Zeile liegt sie über der Grenze.",
            Location(path, data.count(b"\n", 0, MAX_BYTES) + 1),
            "Teilen Sie den Text auf mehrere Dateien auf. Fotos und Dokumente gehören nicht in "
            "Text- oder YAML-Dateien.")
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
            if _may_explode(text):
                _check_budget(node, path, first_line)
            _collect_lines(node, (), lines, path, first_line)
        value = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        raise _yaml_error(exc, path, first_line, text) from exc
    except yaml.reader.ReaderError as exc:
        raise _control_character(exc, path, first_line, text) from exc
    except yaml.YAMLError as exc:
        raise SiteError("Die YAML-Angaben sind fehlerhaft.", Location(path, first_line)) from exc
    except RecursionError as exc:  # only PyYAML without libyaml composes recursively
        raise _too_deep(path, first_line) from exc
    finally:
        loader.dispose()
    return YamlData(value, lines)


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB".replace(".", ",")


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _may_explode(text: str) -> bool:
    """Whether `text` could break a budget. Without aliases it cannot outweigh its own size,
    and every level of nesting needs an indicator of its own ("-", ":", "?", "[", "{"), so
    few of them bound the depth. Typical front matter passes: the full check would cost
    ~35 µs on top of ~50 µs for parsing it."""
    if "*" in text:
        return True
    return sum(text.count(c) for c in "-:?[{") >= MAX_DEPTH


def _check_budget(root: yaml.Node, path: str, first_line: int) -> None:
    """Refuse a document that is too deep, or too big once its aliases are resolved, before
    anything walks it as a tree. An alias is the node it names, so the graph stays as small
    as the text; weights and heights are summed over it once per node (linear time)."""
    done: dict[int, tuple[int, int]] = {}  # id(node) → (weight, height) of its expansion
    open_: set[int] = set()  # begun, not done: the path from the root (depth first)
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if not expanded:
            if id(node) in open_:  # `&a [*a]`: an alias inside what it names, endless
                raise SiteError(
                    "Ein Verweis („*name“) steht innerhalb der Angabe, auf die er verweist; "
                    "aufgelöst wäre sie endlos.", Location(path, node.start_mark.line + first_line),
                    "Entfernen Sie den Verweis oder schreiben Sie die Angaben aus.")
            if id(node) not in done:
                open_.add(id(node))
                stack.append((node, True))
                stack.extend((child, False) for child in _children(node))
            continue
        open_.discard(id(node))
        kids = [done[id(child)] for child in _children(node)]
        weight = 1 + (len(node.value) if isinstance(node, yaml.ScalarNode) else 0)
        weight += sum(w for w, _ in kids)
        height = 1 + max((h for _, h in kids), default=0)
        if weight > MAX_WEIGHT:
            raise SiteError(
                f"Die YAML-Angaben sind zu umfangreich: Mit ihren Verweisen („*name“) aufgelöst "
                f"ergäben sie über {MAX_WEIGHT:,} Zeichen.".replace(",", "."),
                Location(path, node.start_mark.line + first_line),
                "Verwenden Sie Verweise („&name“, „*name“) sparsam oder schreiben Sie die "
                "Angaben aus.")
        done[id(node)] = (weight, height)
    if done[id(root)][1] > MAX_DEPTH:
        node = root
        for _ in range(MAX_DEPTH):  # down the deepest branch to the first level too many
            node = max(_children(node), key=lambda child: done[id(child)][1])
        raise _too_deep(path, node.start_mark.line + first_line)


def _too_deep(path: str, line: int) -> SiteError:
    return SiteError(f"Die YAML-Angaben sind zu tief verschachtelt (mehr als {MAX_DEPTH} Ebenen).",
                     Location(path, line),
                     "Prüfen Sie die Einrückung und die Klammern „[“ und „{“ in dieser Zeile.")


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
    ("exceeded maximum nesting depth", "die Angaben sind zu tief verschachtelt"),
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
