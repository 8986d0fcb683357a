"""Whole builds of kpr-site, Hugo and Pelican on the same shared corpus, in one run.

For each corpus size: kpr-site cold, nothing changed, one release edited (CLI) and a template
edited; Hugo and Pelican cold and one release edited. Every build is a fresh process; the table
shows the median of --runs runs (tools interleaved run by run, so a drift in machine load hits
all of them alike), the ratios kpr-site ÷ Hugo and kpr-site ÷ Pelican (below 1: kpr-site is
faster) and the peak RSS of the largest process. Pelican is installed into a throw-away venv in
the work folder (reused when --work names a folder that has one).

    python bench/bench_compare.py --pages 1000 10000 --runs 5
    python bench/bench_compare.py --pages 1000 --runs 3 --tools kpr      # kpr-site alone
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import site_hugo
import site_kpr
import site_pelican
from corpus import Corpus, find_generator, generate
from harness import (
    Sample,
    Tool,
    add_common_arguments,
    describe_machine,
    measure,
    table_header,
    table_row,
    work_folder,
)

KPR = site_kpr.NAME
Prepare = Callable[[Corpus, Path], Tool]


def set_up(tools: Sequence[str], work: Path) -> tuple[dict[str, Prepare], list[str]]:
    """Each chosen tool's adapter by name, and the versions to name in the table's caption."""
    prepares: dict[str, Prepare] = {}
    versions: list[str] = []
    if "kpr" in tools:
        prepares[site_kpr.NAME] = site_kpr.prepare
    if "kpr-no-search" in tools:
        prepares[site_kpr.QUICK] = lambda corpus, into: site_kpr.prepare(corpus, into, search=False)
    if "hugo" in tools:
        prepares[site_hugo.NAME] = site_hugo.prepare
        versions.append(site_hugo.version())
    if "pelican" in tools:
        pelican = site_pelican.install(work / "pelican-venv")
        prepares[site_pelican.NAME] = lambda corpus, into: site_pelican.prepare(corpus, into, pelican)
        versions.append(site_pelican.version(pelican))
    return prepares, versions


def _compared(names: Sequence[str]) -> list[str]:
    """The tools kpr-site is compared with (none if kpr-site is not running)."""
    return [name for name in names if name != KPR] if KPR in names else []


def columns(names: Sequence[str]) -> list[str]:
    return ["pages", "scenario", *(f"{name} (s)" for name in names),
            *(f"{KPR} ÷ {name}" for name in _compared(names)), *(f"{name} peak (MiB)" for name in names)]


def row(pages: int, scenario: str, names: Sequence[str], results: Mapping[str, Sample]) -> str:
    def cell(name: str, show: Callable[[Sample], str]) -> str:
        return show(results[name]) if name in results else "—"

    ours = results.get(KPR)
    ratios = [f"{ours.seconds / results[name].seconds:.2f}" if ours and name in results else "—"
              for name in _compared(names)]
    return table_row([f"{pages:,}", scenario,
                      *(cell(name, lambda s: f"{s.seconds:.2f}") for name in names), *ratios,
                      *(cell(name, lambda s: f"{s.peak_mib:.0f}") for name in names)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_arguments(parser)
    parser.add_argument("--runs", type=int, default=5, help="runs per scenario (default: 5)")
    parser.add_argument("--tools", nargs="+", choices=("kpr", "kpr-no-search", "hugo", "pelican"),
                        default=["kpr", "kpr-no-search", "hugo", "pelican"],
                        help="generators to run (default: all)")
    args = parser.parse_args()
    find_generator(args.generator)
    with work_folder(args.work) as work:
        prepares, versions = set_up(args.tools, work)
        names = list(prepares)
        print(describe_machine(*versions, f"median of {args.runs} runs"))
        print(table_header(columns(names)), flush=True)
        for pages in args.pages:
            corpus = generate(args.generator, work / f"corpus-{pages}", pages, args.email_as_link)
            tools = [prepare(corpus, work) for prepare in prepares.values()]
            for scenario, results in measure(tools, args.runs):
                print(row(pages, scenario, names, results), flush=True)


if __name__ == "__main__":
    main()
