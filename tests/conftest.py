"""Shared fixtures: tiny site trees in tmp_path, built in-process."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import textwrap
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jinja2
import pytest

from kpr_site.cli import main

REPO = Path(__file__).resolve().parent.parent

SITE_YAML = """\
title: Testrat
description: Eine Test-Website.
base_url: https://example.org/
language: de
intro: Willkommen beim **Testrat**.
contact:
  name: Erika Muster
  role: Koordinatorin
  email: erika@example.org
nav:
  - title: Start
    url: /
  - title: Presse
    url: /presse/
"""

MakeSite = Callable[[dict[str, str | bytes]], Path]


@pytest.fixture
def make_site(tmp_path: Path) -> MakeSite:
    """Write a site: content/site.yaml and the repo's templates by default, plus `files`.

    Text values are dedented; bytes are written as they are. A value of None deletes a
    default file.
    """

    def make(files: dict[str, str | bytes | None], root: Path | None = None) -> Path:
        return write_site(root or tmp_path / "site", files)

    return make  # type: ignore[return-value]


@pytest.fixture(scope="session")
def shipped_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache folder for the builds of the shipped site in a session (making its photos'
    derivatives is the slow part); never the repository's own .cache/."""
    return tmp_path_factory.mktemp("shipped-cache")


@pytest.fixture(scope="session")
def shipped_site(tmp_path_factory: pytest.TempPathFactory, shipped_cache: Path) -> Path:
    """The repository's own site (content/, templates/, gallery/) built once per session, as
    `kpr-site build` builds it. Shared by the tests that only read it (quality gates, crawl);
    a test that adds files works on a copy."""
    out = tmp_path_factory.mktemp("shipped") / "build"
    code = main(["build", "--source", str(REPO), "--out", str(out), "--cache-dir", str(shipped_cache)])
    assert code == 0, f"kpr-site build endete mit Exit {code}"
    return out


def write_site(root: Path, files: dict[str, str | bytes | None]) -> Path:
    """What `make_site` does, for fixtures of a wider scope."""
    if not (root / "templates").exists():
        shutil.copytree(REPO / "templates", root / "templates")
        (root / "content").mkdir(parents=True, exist_ok=True)
        (root / "content" / "site.yaml").write_text(SITE_YAML, encoding="utf-8")
    for name, data in files.items():
        path = root / name
        if data is None:
            path.unlink(missing_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(textwrap.dedent(data).lstrip("\n"), encoding="utf-8")
    return root


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "search_index: the `build` fixture makes the search index (as `kpr-site build` does)")
    if os.environ.get("KPR_TESTS_PARSE_TEMPLATES") != "1":
        _share_template_parsing()


def _share_template_parsing() -> None:
    """Parse and generate each template source once per test session, not once per test site.

    Nearly every test builds a fresh site from the same templates, so Jinja parsed the same ten
    templates again for each (40–65 ms a build, half the CPU of a small build's test). Parsing
    and code generation are pure functions of the source, the template name and the
    environment's settings, which are all in the key; the generated module is still compiled
    with the site's own file name, so tracebacks, error lines and kpr_site's bytecode cache
    (with its damage checks) work as without. Failures are not remembered: a template error is
    raised afresh each time. Filters and tests can be folded into the code at compile time,
    so the key holds them: a plain function by its code (kpr_site makes its lambdas anew for
    each environment), one with a closure or defaults as the object itself (Jinja's own
    filters are the same objects in every environment). KPR_TESTS_PARSE_TEMPLATES=1 parses
    every template as kpr-site does outside the tests.
    """
    compile_template: Callable[..., Any] = jinja2.Environment.compile
    generated: dict[tuple[object, ...], str] = {}

    def function(f: Any) -> object:
        plain = not (getattr(f, "__closure__", None) or getattr(f, "__defaults__", None)
                     or getattr(f, "__kwdefaults__", None))
        return f.__code__ if plain and hasattr(f, "__code__") else f

    def settings(env: jinja2.Environment, name: str | None) -> tuple[object, ...] | None:
        if env.finalize is not None:
            return None
        autoescape = env.autoescape(name) if callable(env.autoescape) else env.autoescape
        return (env.block_start_string, env.block_end_string, env.variable_start_string,
                env.variable_end_string, env.comment_start_string, env.comment_end_string,
                env.line_statement_prefix, env.line_comment_prefix, env.trim_blocks,
                env.lstrip_blocks, env.newline_sequence, env.keep_trailing_newline,
                tuple(sorted(env.extensions)), env.optimized, env.is_async, autoescape,
                tuple((n, function(f)) for n, f in sorted(env.filters.items())),
                tuple((n, function(f)) for n, f in sorted(env.tests.items())))

    def compile(env: jinja2.Environment, source: Any, name: str | None = None,
                filename: str | None = None, raw: bool = False, defer_init: bool = False) -> Any:
        setup = settings(env, name) if isinstance(source, str) and not raw else None
        if setup is None:
            return compile_template(env, source, name, filename, raw, defer_init)
        key = (source, name, defer_init, setup)
        if key not in generated:  # Jinja's own path, errors and all; raw: the module's source
            generated[key] = compile_template(env, source, name, filename, True, defer_init)
        return env._compile(generated[key], filename or "<template>")

    jinja2.Environment.compile = compile  # type: ignore[method-assign,assignment]


@pytest.fixture
def build(request: pytest.FixtureRequest,
          capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """Run `kpr-site build` in-process: returns (exit code, stdout, stderr).

    With `--no-search` unless the test (or its module) is marked `search_index`: Pagefind is
    ~40 % of a small build (≈60 ms of ≈140 ms) and most tests look at other things. Tests of
    the whole output (reproducibility, caches, incremental builds) and of search keep it.
    """
    search = request.node.get_closest_marker("search_index") is not None

    def run(root: Path, *args: str, out: Path | None = None) -> tuple[int, str, str]:
        out = out or root / "build"
        options = [*args] if search else ["--no-search", *args]
        code = main(["build", "--source", str(root), "--out", str(out), *options])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def press(date: str = "2017-02-10", title: str = "Neustart", body: str = "Text.", **extra: str) -> str:
    """Front matter + body of a press release."""
    lines = [f"title: {title}", f"date: {date}", *(f"{k}: {v}" for k, v in extra.items())]
    return "---\n" + "\n".join(lines) + "\n---\n" + body + "\n"


# --- Helpers for reading built sites (tests/test_content.py, test_output.py, test_site_crawl.py …)

_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
         "track", "wbr"}


class HtmlFacts(HTMLParser):
    """The facts of one HTML page a test asserts on: start tags with attributes, the text of
    each element (whitespace collapsed) and the ids. Parsed with the standard library."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.texts: list[tuple[str, dict[str, str], list[str]]] = []
        self._open: list[tuple[str, dict[str, str], list[str]]] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        self.tags.append((tag, values))
        if tag not in _VOID:
            element: tuple[str, dict[str, str], list[str]] = (tag, values, [])
            self._open.append(element)
            self.texts.append(element)

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index][0] == tag:
                del self._open[index:]
                return

    def handle_data(self, data: str) -> None:
        for _, _, parts in self._open:
            parts.append(data)

    def text(self, tag: str, **attrs: str) -> list[str]:
        """Text of every `tag` element whose attributes include `attrs` (class_ for class).

        Runs of ASCII white space become one space; no-break spaces are kept."""
        wanted = {key.rstrip("_"): value for key, value in attrs.items()}
        return [re.sub(r"[ \t\r\n\f]+", " ", "".join(parts)).strip()
                for name, values, parts in self.texts
                if name == tag and all(values.get(k) == v for k, v in wanted.items())]

    def attrs(self, tag: str) -> list[dict[str, str]]:
        return [values for name, values in self.tags if name == tag]

    @property
    def ids(self) -> list[str]:
        return [values["id"] for _, values in self.tags if "id" in values]

    def hrefs(self) -> list[str]:
        return [a["href"] for a in self.attrs("a") if "href" in a]

    def links(self) -> list[tuple[str, str]]:
        """(text, href) of every link, in document order."""
        return [(re.sub(r"\s+", " ", "".join(parts)).strip(), values["href"])
                for name, values, parts in self.texts if name == "a" and "href" in values]

    def meta(self, key: str) -> str | None:
        """content of <meta name=key> or <meta property=key>."""
        for values in self.attrs("meta"):
            if key in (values.get("name"), values.get("property")):
                return values.get("content")
        return None


def output_path(out: Path, url: str) -> Path:
    """The file in the output folder that serves site path `url` ('/presse/' → presse/index.html)."""
    relative = url.lstrip("/")
    return out / relative / "index.html" if not relative or url.endswith("/") else out / relative


def read_page(out: Path, url: str) -> HtmlFacts:
    return HtmlFacts(output_path(out, url).read_text(encoding="utf-8"))


def tree_digest(folder: Path) -> dict[str, str]:
    """Every file below `folder` (hidden ones too) → SHA-256 of its bytes. Equal digests mean the
    tree is byte for byte the same."""
    return {path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def releases_linked(page: HtmlFacts) -> list[str]:
    """The press releases (/presse/YYYY/slug/) a page links to, in order, each once."""
    return list(dict.fromkeys(h for h in page.hrefs() if re.fullmatch(r"/presse/\d{4}/[^/]+/", h)))


def projects_linked(page: HtmlFacts) -> list[str]:
    """The projects (/projekte/slug/) a page links to, in order, each once."""
    return list(dict.fromkeys(h for h in page.hrefs() if re.fullmatch(r"/projekte/[^/]+/", h)))
