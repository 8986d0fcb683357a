"""Hugo (the Debian package) on the shared corpus, with a minimal site shaped like kpr-site's.

Hugo reads the corpus's YAML front matter and ISO timestamps as they are, so the releases are
copied unchanged to content/presse/. The layouts make what kpr-site makes: a page per release
with previous/next links, the press list in pages of 10 (`.Paginate`, Hugo's own pager), a
page per topic, the home page with the latest five, one feed of 20 entries, a sitemap and
robots.txt. Hugo has no incremental CLI build: every run renders the whole site.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from corpus import Corpus
from harness import Tool, fresh_folder

__all__ = ["NAME", "prepare", "version"]

NAME = "Hugo"
CONFIG = """\
baseURL = "https://example.org/"
languageCode = "de"
title = "Benchmark"
paginate = 10
rssLimit = 20
enableRobotsTXT = true
[taxonomies]
  tag = "tags"
[outputs]
  home = ["HTML"]
  section = ["HTML", "RSS"]
  taxonomy = ["HTML"]
  term = ["HTML"]
"""
LAYOUTS = {
    "_default/baseof.html": """\
<!DOCTYPE html>
<html lang="de">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ .Title }} – {{ .Site.Title }}</title>
<meta name="description" content="{{ with .Params.summary }}{{ . }}{{ else }}{{ .Site.Title }}{{ end }}">
</head>
<body>
<header><a href="{{ "/" | relURL }}">{{ .Site.Title }}</a>
<nav><ul><li><a href="{{ "/presse/" | relURL }}">Pressemitteilungen</a></li>
<li><a href="{{ "/tags/" | relURL }}">Themen</a></li></ul></nav></header>
<main>{{ block "main" . }}{{ end }}</main>
<footer><p>{{ .Site.Title }}</p></footer>
</body>
</html>
""",
    "_default/single.html": """\
{{ define "main" }}<article>
<h1>{{ .Title }}</h1>
<p><time datetime="{{ .Date.Format "2006-01-02" }}">{{ .Date.Format "02.01.2006" }}</time>\
{{ with .Params.author }} · {{ . }}{{ end }}</p>
{{ .Content }}
<ul>{{ range .GetTerms "tags" }}<li><a href="{{ .RelPermalink }}">{{ .LinkTitle }}</a></li>{{ end }}</ul>
</article>
<nav>{{ with .PrevInSection }}<a href="{{ .RelPermalink }}" rel="prev">{{ .Title }}</a>{{ end }}
{{ with .NextInSection }}<a href="{{ .RelPermalink }}" rel="next">{{ .Title }}</a>{{ end }}</nav>
{{ end }}
""",
    "_default/list.html": """\
{{ define "main" }}<h1>{{ .Title }}</h1>
<ul>{{ range (.Paginate .Pages).Pages }}
<li><a href="{{ .RelPermalink }}">{{ .Title }}</a> {{ .Date.Format "02.01.2006" }}\
{{ with .Params.summary }}<p>{{ . }}</p>{{ end }}</li>{{ end }}
</ul>
{{ template "_internal/pagination.html" . }}
{{ end }}
""",
    "index.html": """\
{{ define "main" }}<h1>{{ .Site.Title }}</h1>
<ul>{{ range first 5 (where .Site.RegularPages "Section" "presse") }}
<li><a href="{{ .RelPermalink }}">{{ .Title }}</a></li>{{ end }}</ul>
{{ end }}
""",
}
SECTION_INDEX = '---\ntitle: "Pressemitteilungen"\n---\n'


def find_hugo() -> str:
    hugo = shutil.which("hugo")
    if hugo is None:
        raise SystemExit("hugo not found\n  → apt-get install hugo (Debian's 0.111), or leave it out: "
                         "--tools kpr pelican")
    return hugo


def version() -> str:
    done = subprocess.run([find_hugo(), "version"], capture_output=True, text=True, check=True)
    return done.stdout.split("+")[0].split("-")[0].replace("hugo v", "Hugo ")


def prepare(corpus: Corpus, work: Path) -> Tool:
    root = fresh_folder(work / "hugo")
    press = fresh_folder(root / "content" / "presse")
    (root / "config.toml").write_text(CONFIG, encoding="utf-8")
    (press / "_index.md").write_text(SECTION_INDEX, encoding="utf-8")
    for name, text in LAYOUTS.items():
        (root / "layouts" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "layouts" / name).write_text(text, encoding="utf-8")
    for path in corpus.releases:
        shutil.copyfile(path, press / path.name)
    command = (find_hugo(), "--quiet", "--cacheDir", str(root / ".hugo-cache"))
    return Tool(NAME, root, command, ("public", "resources", ".hugo-cache"),
                press / corpus.edited.name)
