"""Pelican on the shared corpus, installed into a throw-away virtual environment.

Pelican is not a dependency of kpr-site. Its Markdown reader takes "Key: value" metadata lines,
not YAML, so each release's front matter is rewritten as such lines (tags comma-separated, the
file name's slug as Slug); the bodies stay as generated. Pelican runs with its default theme,
10 releases per list page and its content cache on.
"""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

import yaml
from corpus import Corpus, release_slug
from harness import Tool, fresh_folder

__all__ = ["NAME", "PELICAN", "install", "prepare", "to_pelican_markdown", "version"]

NAME = "Pelican"
PELICAN = "pelican==4.12.0"
CONF = """\
SITENAME = "Benchmark"
SITEURL = "https://example.org"
PATH = "content"
TIMEZONE = "Europe/Berlin"
DEFAULT_LANG = "de"
DEFAULT_PAGINATION = 10
FEED_ALL_ATOM = "feeds/all.atom.xml"
CACHE_CONTENT = True
LOAD_CONTENT_CACHE = True
CACHE_PATH = "cache"
RELATIVE_URLS = True
"""


def install(venv: Path) -> Path:
    """A venv with Pelican (reused if `venv` has one already); returns its `pelican` command.

    Python-Markdown is pinned to the version kpr-site runs with, so that the comparison is
    between the generators and not between two Markdown releases."""
    pelican = venv / "bin" / "pelican"
    if not pelican.exists():
        markdown = f"markdown=={metadata.version('markdown')}"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", PELICAN, markdown], check=True)
    return pelican


def version(pelican: Path) -> str:
    done = subprocess.run([str(pelican), "--version"], capture_output=True, text=True, check=True)
    return f"Pelican {done.stdout.strip()}"


def to_pelican_markdown(text: str, slug: str) -> str:
    """YAML front matter → Pelican's metadata lines; the body unchanged."""
    _, front, body = text.split("---\n", 2)
    fields = yaml.load(front, Loader=yaml.BaseLoader)  # every value a string: dates stay as written
    lines = [f"{key.capitalize()}: {', '.join(value) if isinstance(value, list) else value}"
             for key, value in fields.items()]
    return "\n".join([*lines, f"Slug: {slug}"]) + "\n" + body


def prepare(corpus: Corpus, work: Path, pelican: Path) -> Tool:
    root = fresh_folder(work / "pelican")
    content = fresh_folder(root / "content")
    for path in corpus.releases:
        text = to_pelican_markdown(path.read_text(encoding="utf-8"), release_slug(path))
        (content / path.name).write_text(text, encoding="utf-8")
    (root / "pelicanconf.py").write_text(CONF, encoding="utf-8")
    command = (str(pelican), "content", "-o", "output", "-s", "pelicanconf.py", "-q")
    return Tool(NAME, root, command, ("output", "cache"), content / corpus.edited.name)
