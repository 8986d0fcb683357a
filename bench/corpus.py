"""The shared benchmark corpus, generated into a work folder, and the edits the scenarios make.

The corpus comes from `make_corpus.py` beside this repository (`../shared/bench/`), not from a
copy in it: German press releases with the inline markup real ones carry (emphasis, strong,
several links, lists, a table, a blockquote, an email autolink), YAML front matter with full
ISO timestamps, files named `content/press/YYYY-MM-DD-slug.md`. Each generator's adapter
(site_kpr, site_hugo, site_pelican) turns it into a site of its own.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_GENERATOR = REPO.parent / "shared" / "bench" / "make_corpus.py"

_AUTOLINK = re.compile(r"<([^<>@\s]+@[^<>\s]+)>")


@dataclass(frozen=True)
class Corpus:
    root: Path
    releases: tuple[Path, ...]
    """content/press/*.md, sorted by name (that is, by date)."""

    @property
    def edited(self) -> Path:
        """The release every edit scenario changes: one from the middle of the archive."""
        return self.releases[len(self.releases) // 2]


def release_slug(release: Path) -> str:
    """content/press/2017-02-10-slug.md → slug."""
    return release.stem[11:]


def find_generator(path: Path) -> Path:
    if not path.is_file():
        raise SystemExit(f"corpus generator not found: {path}\n"
                         "  → pass --generator PATH/TO/make_corpus.py (the shared benchmark corpus)")
    return path


def generate(generator: Path, out: Path, pages: int, email_as_link: bool = False) -> Corpus:
    """Write `pages` releases (no images) into `out`, replacing it."""
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run([sys.executable, str(find_generator(generator)), "--pages", str(pages),
                    "--images", "0", "--out", str(out)], check=True, stdout=subprocess.DEVNULL)
    releases = tuple(sorted((out / "content" / "press").glob("*.md")))
    if email_as_link:
        for path in releases:
            path.write_text(autolinks_as_links(path.read_text(encoding="utf-8")), encoding="utf-8")
    return Corpus(out, releases)


def autolinks_as_links(markdown: str) -> str:
    """`<a@b.de>` → `[a@b.de](mailto:a@b.de)`: the same number of links, another spelling."""
    return _AUTOLINK.sub(r"[\1](mailto:\1)", markdown)


def append_note(path: Path, number: int) -> str:
    """Edit a release: append a paragraph; returns its text, to look for in the page."""
    note = f"Nachtrag {number}."
    with path.open("a", encoding="utf-8") as handle:
        handle.write(f"\n{note}\n")
    return note


def mark_template(path: Path, number: int) -> str:
    """Edit a template: an HTML comment before its last `{% endblock %}`, so every page that
    uses it changes; returns the comment, to look for in a page."""
    head, tag, tail = path.read_text(encoding="utf-8").rpartition("{% endblock %}")
    if not tag:
        raise SystemExit(f"{path} has no {{% endblock %}} to put the edit before")
    marker = f"<!-- Messung {number} -->"
    path.write_text(f"{head}{marker}\n{tag}{tail}", encoding="utf-8")
    return marker
