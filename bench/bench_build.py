"""Benchmark whole builds on a synthetic corpus: cold, no-change, one edit, template edit.

Each scenario runs the real `kpr-site build` command in a fresh process (so interpreter
start-up and imports count, as they do for an editor or CI) and reports the median of
several runs: seconds, milliseconds per page and the peak RSS of the largest process.

    python bench/bench_build.py --pages 1000 10000 --runs 5
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import generate, release_name

KPR = [sys.executable, "-m", "kpr_site", "build"]


def run_build(root: Path) -> tuple[float, float]:
    """One build in a child process: (seconds, peak RSS in MiB of the largest process)."""
    started = time.perf_counter()
    proc = subprocess.Popen(KPR, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"build failed: {proc.stderr.read().decode() if proc.stderr else ''}")
    if proc.stderr:
        proc.stderr.close()
    return seconds, usage.ru_maxrss / 1024


def clean(root: Path) -> None:
    for name in ("build", ".build.next", ".cache"):
        shutil.rmtree(root / name, ignore_errors=True)


def scenario(root: Path, runs: int, before_each) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    times, peaks = [], []
    for index in range(runs):
        before_each(index)
        seconds, peak = run_build(root)
        times.append(seconds)
        peaks.append(peak)
    return statistics.median(times), max(peaks)


def bench(pages: int, runs: int, work: Path) -> dict[str, tuple[float, float]]:
    root = generate(work / f"corpus-{pages}", pages)
    post = root / "content" / "press" / release_name(pages // 2)
    template = root / "templates" / "press_detail.html"
    results = {"cold build": scenario(root, runs, lambda i: clean(root))}
    results["rebuild, nothing changed"] = scenario(root, runs, lambda i: None)

    def edit_post(index: int) -> None:
        with post.open("a", encoding="utf-8") as handle:
            handle.write(f"\nNachtrag {index}.\n")

    results["rebuild, one post edited"] = scenario(root, runs, edit_post)

    def edit_template(index: int) -> None:
        text = template.read_text(encoding="utf-8")
        template.write_text(text + f"<!-- Änderung {index} -->\n", encoding="utf-8")

    results["rebuild, template edited"] = scenario(root, runs, edit_template)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="work folder to keep (default: a temp folder)")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="kpr-bench-"))
    print(f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}, median of {args.runs} runs")
    print("| pages | scenario | seconds | ms/page | peak RSS (MiB) |\n|---:|---|---:|---:|---:|")
    for pages in args.pages:
        for name, (seconds, peak) in bench(pages, args.runs, work).items():
            print(f"| {pages:,} | {name} | {seconds:.2f} | {seconds / pages * 1000:.2f} | "
                  f"{peak:.0f} |", flush=True)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
