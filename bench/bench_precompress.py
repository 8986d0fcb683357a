"""What the .gz siblings cost: clean builds of N press releases with and without them (not a test).

    python bench/bench_precompress.py            # N = 1000, best of 3 alternating runs each
    python bench/bench_precompress.py --pages 200 --runs 1

Prints the build times, the bytes of the HTML and of its .gz copies. A small shared machine is
noisy: compare the best runs, not single ones.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from kpr_site.build import build_site
from kpr_site.options import BuildOptions

REPO = Path(__file__).resolve().parent.parent
BODY = ("Der **Präventionsrat** hat am Dienstag getagt. Die [Arbeitsgruppe](/projekte/) stellte "
        "ihre Ergebnisse vor; mehr dazu bei der *Polizei*.\n\n- Punkt eins\n- Punkt zwei\n\n")


def make_site(root: Path, pages: int) -> None:
    shutil.copytree(REPO / "templates", root / "templates")
    (root / "content" / "press").mkdir(parents=True)
    shutil.copy(REPO / "content" / "site.yaml", root / "content" / "site.yaml")
    for index in range(pages):
        day = f"20{10 + index % 15:02d}-{1 + index % 12:02d}-{1 + index % 28:02d}"
        (root / "content" / "press" / f"{day}-meldung-{index}.md").write_text(
            f"---\ntitle: Meldung {index}\ndate: {day}\ntags: [Jugend]\n---\n" + BODY * 6,
            encoding="utf-8")


def clean_build(root: Path, precompress: bool) -> float:
    out = root / "build"
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    build_site(root, out, BuildOptions(use_cache=False, precompress=precompress))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        root = Path(work) / "site"
        make_site(root, args.pages)
        # Alternating, so that a burst of load elsewhere hits both sides alike.
        runs = [(clean_build(root, False), clean_build(root, True)) for _ in range(args.runs)]
        plain, packed = min(r[0] for r in runs), min(r[1] for r in runs)
        html = sum(p.stat().st_size for p in (root / "build").rglob("*.html"))
        gz = sum(p.stat().st_size for p in (root / "build").rglob("*.html.gz"))
        print(f"{args.pages} releases: {plain:.2f} s without .gz, {packed:.2f} s with "
              f"(+{packed - plain:.2f} s); HTML {html / 1e6:.1f} MB, .gz {gz / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
