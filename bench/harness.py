"""What the benchmark scripts share: a generator set up on the corpus, its scenarios, timed runs.

Every build runs as a fresh child process (interpreter start-up and imports count, as they
do for an editor or CI). Peak memory is the `ru_maxrss` that `wait4` reports for the child:
the largest resident size of the child or of any worker it waited for — the largest single
process, not the sum of all of them.
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
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from corpus import DEFAULT_GENERATOR, append_note, mark_template

COLD = "cold build"
UNCHANGED = "rebuild, nothing changed"
RELEASE = "rebuild, one release edited"
TEMPLATE = "rebuild, template edited"
SCENARIOS = (COLD, UNCHANGED, RELEASE, TEMPLATE)
"""In this order: each scenario starts from the site the one before left built."""


@dataclass(frozen=True)
class Sample:
    seconds: float
    peak_mib: float


@dataclass(frozen=True)
class Tool:
    """A site generator set up on its own copy of the corpus."""

    name: str
    root: Path
    command: tuple[str, ...]
    """The build command, run in `root`."""
    outputs: tuple[str, ...]
    """Folders below `root` (output, caches) that a cold build starts without."""
    release: Path
    """This tool's copy of the release every edit scenario changes."""
    template: Path | None = None
    """A template whose edit changes every release page (None: no template scenario)."""
    scenarios: tuple[str, ...] = (COLD, RELEASE)


def fresh_folder(path: Path) -> Path:
    """`path` as a new, empty folder (a tool's site is rebuilt from the corpus every time)."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def clean(tool: Tool) -> None:
    for name in tool.outputs:
        shutil.rmtree(tool.root / name, ignore_errors=True)


def _edit_template(tool: Tool, number: int) -> None:
    if tool.template is None:
        raise ValueError(f"{tool.name} has no template to edit")
    mark_template(tool.template, number)


_BEFORE: dict[str, Callable[[Tool, int], object]] = {
    COLD: lambda tool, _: clean(tool),
    UNCHANGED: lambda tool, _: None,
    RELEASE: lambda tool, number: append_note(tool.release, number),
    TEMPLATE: _edit_template,
}


def wait_for_usage(process: subprocess.Popen[bytes] | subprocess.Popen[str]) -> tuple[int, float]:
    """Reap `process`: (exit code, peak RSS in MiB of it or its largest waited-for child)."""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, usage.ru_maxrss / 1024


def run_timed(command: Sequence[str], cwd: Path) -> Sample:
    """Run `command` to completion; stop the benchmark with its output if it fails."""
    with tempfile.TemporaryFile() as log:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
        code, peak = wait_for_usage(process)
        seconds = time.perf_counter() - started
        if code != 0:
            log.seek(0)
            tail = log.read().decode(errors="replace")[-4000:]
            raise SystemExit(f"failed (exit {code}) in {cwd}: {' '.join(command)}\n{tail}")
    return Sample(seconds, peak)


def summarise(samples: Sequence[Sample]) -> Sample:
    """Median time; the largest peak, since a memory target is a ceiling."""
    return Sample(statistics.median(s.seconds for s in samples), max(s.peak_mib for s in samples))


def measure(tools: Sequence[Tool], runs: int) -> Iterator[tuple[str, dict[str, Sample]]]:
    """Each scenario, `runs` times, tools interleaved so that load drifts hit all alike."""
    for scenario in SCENARIOS:
        taking = [tool for tool in tools if scenario in tool.scenarios]
        samples: dict[str, list[Sample]] = {tool.name: [] for tool in taking}
        for number in range(runs):
            for tool in taking:
                _BEFORE[scenario](tool, number)
                samples[tool.name].append(run_timed(tool.command, tool.root))
        if taking:
            yield scenario, {name: summarise(values) for name, values in samples.items()}


# ---------------------------------------------------------------------------- the command line


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pages", type=int, nargs="+", default=[1000, 10000],
                        help="corpus sizes (default: 1000 10000)")
    parser.add_argument("--generator", type=Path, default=DEFAULT_GENERATOR,
                        help=f"the shared corpus generator (default: {DEFAULT_GENERATOR})")
    parser.add_argument("--email-as-link", action="store_true",
                        help="write the corpus's <address> autolinks as [address](mailto:address): "
                             "same link count, for a kpr-site that still rejects autolinks")
    parser.add_argument("--work", type=Path,
                        help="work folder to keep (default: a temporary folder, removed at the end)")


@contextmanager
def work_folder(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep.resolve()
        return
    path = Path(tempfile.mkdtemp(prefix="kpr-bench-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def describe_machine(*details: str) -> str:
    """The table's caption: the machine, then `details` (versions, number of runs)."""
    return ", ".join([f"{os.cpu_count()} CPUs", f"Python {sys.version.split()[0]}", *details])


def table_header(titles: Sequence[str], left: int = 2) -> str:
    """A Markdown table head; the first `left` columns are text, the rest numbers."""
    rule = ["---"] * left + ["---:"] * (len(titles) - left)
    return f"{table_row(titles)}\n{table_row(rule)}"


def table_row(cells: Iterable[str]) -> str:
    return "| " + " | ".join(cells) + " |"
