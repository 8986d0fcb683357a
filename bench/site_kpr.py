"""kpr-site on the shared corpus: the releases with the shipped templates and a minimal site.yaml.

The release files are copied byte for byte (ISO timestamps in `date:`, e-mail autolinks and
all): the file names already follow `content/press/YYYY-MM-DD-slug.md`.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import replace
from pathlib import Path

from corpus import REPO, Corpus, release_slug
from harness import SCENARIOS, Tool, fresh_folder

__all__ = ["NAME", "prepare", "release_url", "shipped"]

NAME = "kpr-site"
SITE_YAML = """\
title: Benchmark
description: Pressemitteilungen aus dem gemeinsamen Benchmark-Korpus.
base_url: https://example.org/
language: de
contact:
  name: Pressestelle
nav:
  - title: Pressemitteilungen
    url: /presse/
"""
BUILD = (sys.executable, "-m", "kpr_site", "build")
OUTPUTS = ("build", ".build.next", ".cache")
SHIPPED_RELEASE = "content/press/2017-02-10-praeventionsrat-organisiert-arbeit-neu.md"


QUICK = "kpr-site --no-search"
"""kpr-site keeping the last search index (a local build or the preview after its start)."""


def prepare(corpus: Corpus, work: Path, search: bool = True) -> Tool:
    root = fresh_folder(work / ("kpr-site" if search else "kpr-site-no-search"))
    shutil.copytree(REPO / "templates", root / "templates")
    press = fresh_folder(root / "content" / "press")
    (root / "content" / "site.yaml").write_text(SITE_YAML, encoding="utf-8")
    for path in corpus.releases:
        shutil.copyfile(path, press / path.name)
    tool = _tool(root, press / corpus.edited.name)
    return tool if search else replace(tool, name=QUICK, command=(*BUILD, "--no-search"))


def shipped(work: Path) -> Tool:
    """The site as shipped in this repository (content/, templates/, gallery/)."""
    root = fresh_folder(work / "kpr-site-shipped")
    for folder in ("content", "templates", "gallery"):
        if (REPO / folder).is_dir():
            shutil.copytree(REPO / folder, root / folder)
    return _tool(root, root / SHIPPED_RELEASE)


def _tool(root: Path, release: Path) -> Tool:
    return Tool(NAME, root, BUILD, OUTPUTS, release,
                template=root / "templates" / "press_detail.html", scenarios=SCENARIOS)


def release_url(release: Path) -> str:
    """content/press/2017-02-10-slug.md → /presse/2017/slug/ (kpr-site's URL scheme)."""
    return f"/presse/{release.name[:4]}/{release_slug(release)}/"

