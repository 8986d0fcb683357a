"""Run Pelican on the same synthetic corpus as bench_build.py, for a ratio in the same run.

Pelican is not a dependency of kpr-site: this script installs it into a throw-away virtual
environment in the work folder. The corpus' YAML front matter is rewritten as Pelican's
"Key: value" metadata; Pelican runs with its default theme and its content cache on.

    python bench/bench_pelican.py --pages 1000 --runs 5
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_build import bench as bench_kpr
from corpus import generate, release_name

CONF = """\
SITENAME = "Bench"
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


def to_pelican(kpr_root: Path, target: Path) -> None:
    """Press releases with YAML front matter → Pelican Markdown files with metadata lines."""
    content = target / "content"
    content.mkdir(parents=True)
    for post in sorted((kpr_root / "content" / "press").glob("*.md")):
        _, meta, body = post.read_text(encoding="utf-8").split("---\n", 2)
        lines = []
        for line in meta.strip().splitlines():
            key, _, value = line.partition(": ")
            value = value.strip().strip('"')
            if key == "tags":
                value = ", ".join(t.strip() for t in value.strip("[]").split(","))
            lines.append(f"{key.capitalize()}: {value}")
        slug = re.sub(r"^\d{4}-\d{2}-\d{2}-", "", post.stem)
        (content / f"{slug}.md").write_text("\n".join([*lines, f"Slug: {slug}"]) + "\n\n"
                                            + body.replace(".md)", ".html)"), encoding="utf-8")
    (target / "pelicanconf.py").write_text(CONF, encoding="utf-8")


def run(venv: Path, root: Path) -> float:
    started = time.perf_counter()
    subprocess.run([str(venv / "bin" / "pelican"), "content", "-o", "output", "-s",
                    "pelicanconf.py", "-q"], cwd=root, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def bench_pelican(venv: Path, kpr_root: Path, pages: int, runs: int) -> dict[str, float]:
    root = kpr_root.parent / f"pelican-{pages}"
    shutil.rmtree(root, ignore_errors=True)
    to_pelican(kpr_root, root)
    post = root / "content" / f"{release_name(pages // 2)[11:-3]}.md"

    def clean() -> None:
        for name in ("output", "cache"):
            shutil.rmtree(root / name, ignore_errors=True)

    results = {}
    cold = []
    for _ in range(runs):
        clean()
        cold.append(run(venv, root))
    results["cold build"] = statistics.median(cold)
    results["rebuild, nothing changed"] = statistics.median(run(venv, root) for _ in range(runs))
    edits = []
    for index in range(runs):
        with post.open("a", encoding="utf-8") as handle:
            handle.write(f"\nNachtrag {index}.\n")
        edits.append(run(venv, root))
    results["rebuild, one post edited"] = statistics.median(edits)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="kpr-pelican-"))
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "pelican", "markdown"], check=True)
    kpr = bench_kpr(args.pages, args.runs, work)
    pelican = bench_pelican(venv, generate(work / f"corpus-{args.pages}", args.pages),
                            args.pages, args.runs)
    print(f"{os.cpu_count()} CPUs, {args.pages:,} pages, median of {args.runs} runs")
    print("| scenario | kpr-site (s) | Pelican (s) | Pelican ÷ kpr-site |\n|---|---:|---:|---:|")
    for name, seconds in pelican.items():
        ours = kpr[name][0]
        print(f"| {name} | {ours:.2f} | {seconds:.2f} | {seconds / ours:.1f}× |")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
