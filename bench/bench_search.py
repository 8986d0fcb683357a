"""Benchmark the search index: what Pagefind costs per build and what one search downloads.

For each size: a cold build (in-process, so the report's search time is read directly), then
Pagefind alone over the built pages, then a rebuild after one release was edited, the size of
the bundle, and — with --browser — the bytes Chromium fetches for one search on /suche/:
as served here (no compression) and as a server with gzip would send them.

    python bench/bench_search.py --pages 1000 10000 [--make-corpus ../shared/bench/make_corpus.py]
                                 [--browser] [--query Ehrenamt]
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "tests"))

from corpus import generate  # noqa: E402

from kpr_site.build import build_site  # noqa: E402
from kpr_site.options import BuildOptions  # noqa: E402
from kpr_site.search import make_bundle  # noqa: E402


def corpus(work: Path, pages: int, make_corpus: Path | None) -> Path:
    """bench/corpus.py's site, or the shared generator's press releases in the shipped site."""
    if make_corpus is None:
        return generate(work / f"corpus-{pages}", pages)
    root = work / f"shared-{pages}"
    subprocess.run([sys.executable, str(make_corpus), "--pages", str(pages), "--images", "0",
                    "--out", str(root)], check=True, stdout=subprocess.DEVNULL)
    shutil.copytree(REPO / "templates", root / "templates")
    shutil.copy(REPO / "content" / "site.yaml", root / "content" / "site.yaml")
    return root


def bundle_size(out: Path) -> tuple[int, int]:
    files = [p for p in (out / "pagefind").rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def bytes_for_one_search(out: Path, query: str) -> tuple[int, int, int]:
    """(requests, bytes as served, bytes with gzip) that /suche/?q=… loads for the search."""
    from gates import CHROMIUM, CHROMIUM_ARGS, serve
    from playwright.sync_api import sync_playwright

    bodies: dict[str, bytes] = {}
    with serve(out) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.on("response", lambda r: bodies.__setitem__(r.url, r.body())
                if ("/pagefind/" in r.url or "/static/search." in r.url) and r.status == 200 else None)
        page.goto(f"{url}suche/?q={query}")
        page.wait_for_selector(".search-result", timeout=60_000)
        page.wait_for_load_state("networkidle")
        browser.close()
    sizes = {url.rsplit("/pagefind/", 1)[-1]: len(b) if b[:2] == b"\x1f\x8b" else len(gzip.compress(b, 6))
             for url, b in bodies.items()}
    largest = sorted(sizes.items(), key=lambda item: -item[1])[:4]
    print("        largest (gzip):", ", ".join(f"{name.split('?')[0]} {size / 1e3:.0f} kB"
                                           for name, size in largest))
    return len(bodies), sum(len(b) for b in bodies.values()), sum(sizes.values())


def bench(pages: int, work: Path, make_corpus: Path | None, browser: bool, query: str) -> None:
    root = corpus(work, pages, make_corpus)
    out = root / "build"
    options = BuildOptions(cache_dir=root / ".cache")
    started = time.perf_counter()
    cold = build_site(root, out, options)
    total = time.perf_counter() - started
    print(f"{pages:>6} pages: cold build {total:.2f} s, of which search index "
          f"{cold.search_seconds or 0:.2f} s")
    with tempfile.TemporaryDirectory() as cache:
        started = time.perf_counter()
        make_bundle(out, Path(cache), "bench", "de")
        print(f"{pages:>6} pages: Pagefind alone over the built site {time.perf_counter() - started:.2f} s")
    release = sorted((root / "content" / "press").glob("*.md"))[pages // 2]
    release.write_text(release.read_text(encoding="utf-8") + "\nNachtrag.\n", encoding="utf-8")
    edited = build_site(root, out, options)
    print(f"{pages:>6} pages: one release edited, search index {edited.search_seconds or 0:.2f} s "
          f"(build {edited.seconds:.2f} s)")
    count, size = bundle_size(out)
    print(f"{pages:>6} pages: bundle {count} files, {size / 1e6:.1f} MB")
    if browser:
        requests, raw, squeezed = bytes_for_one_search(out, query)
        print(f"{pages:>6} pages: one search for „{query}“: {requests} requests, {raw / 1e3:.0f} kB "
              f"as served, {squeezed / 1e3:.0f} kB with gzip")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, nargs="+", default=[1000])
    parser.add_argument("--make-corpus", type=Path, default=None)
    parser.add_argument("--browser", action="store_true")
    parser.add_argument("--query", default="Ehrenamt")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kpr-bench-search-") as work:
        for pages in args.pages:
            bench(pages, Path(work), args.make_corpus, args.browser, args.query)


if __name__ == "__main__":
    main()
