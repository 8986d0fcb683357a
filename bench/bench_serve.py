"""Benchmark the editor's loop: save → browser reload in `kpr-site serve`, and `kpr-site check`.

Sites: the shipped one and the shared corpus at each --pages size (set up as in
bench_compare.py). Each is served by the real command (`python -m kpr_site serve --port 0`,
its own process) while a client holds the live-reload channel open, as a browser tab does.
Two edits, --edits times each: one release (a paragraph appended) and the release template
(a comment added, so every release page changes). Measured from the write to the `reload`
event reaching the client (what starts the browser's reload), and to the edited page having
been fetched and found to contain the edit; plus the serve process's peak RSS.

Check: `kpr-site check` as a fresh process on the same sites, with a cold cache (first run
after a checkout) and a warm one (every later run).

    python bench/bench_serve.py --pages 1000 10000 --edits 10
"""

from __future__ import annotations

import argparse
import http.client
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import site_kpr
from corpus import append_note, find_generator, generate, mark_template
from harness import (
    Tool,
    add_common_arguments,
    describe_machine,
    run_timed,
    table_header,
    table_row,
    wait_for_usage,
    work_folder,
)

Edit = Callable[[int], str]
"""Makes edit number N on disk; returns a text the rebuilt page must contain."""


@dataclass(frozen=True)
class Latencies:
    to_event: list[float]
    to_page: list[float]


class ReloadListener:
    """Holds the SSE channel open in a thread and timestamps every `reload` event.

    A plain socket rather than http.client: closing it from this thread then ends the
    reader's blocking read at once instead of at the server's next keep-alive ping."""

    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port))
        self.sock.sendall(f"GET /__kpr__/events HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
        self.stream = self.sock.makefile("rb")
        self.arrived = threading.Condition()
        self.reloads: list[float] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            for raw in self.stream:
                if raw.startswith(b"event: reload"):
                    with self.arrived:
                        self.reloads.append(time.perf_counter())
                        self.arrived.notify_all()
        except (OSError, ValueError):
            pass

    def count(self) -> int:
        with self.arrived:
            return len(self.reloads)

    def wait(self, count: int, timeout: float) -> float:
        """The time the `count`-th reload event arrived, waiting for it if need be."""
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.reloads) >= count, timeout):
                raise SystemExit(f"no reload event within {timeout:.0f} s")
            return self.reloads[count - 1]

    def close(self) -> None:
        self.sock.shutdown(socket.SHUT_RDWR)
        self.stream.close()
        self.sock.close()


@dataclass
class Server:
    host: str
    port: int
    peak_mib: float = 0.0
    """Set once the server has stopped."""

    def fetch(self, path: str) -> bytes:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=600)
        try:
            conn.request("GET", path)
            return conn.getresponse().read()
        finally:
            conn.close()


@contextmanager
def serving(site: Path) -> Iterator[Server]:
    """`kpr-site serve` on `site`, from its first build done until stopped (SIGTERM, which also
    works where a script started in the background ignores SIGINT)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "kpr_site", "serve", "--source", str(site), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    try:
        server = Server(*_address(process.stdout.readline))
        threading.Thread(target=process.stdout.read, daemon=True).start()  # drain the log
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        _, peak = wait_for_usage(process)
    server.peak_mib = peak


def _address(read_line: Callable[[], str]) -> tuple[str, int]:
    line = ""
    while not line.startswith("Vorschau: "):
        line = read_line()
        if not line:
            raise SystemExit("kpr-site serve did not start")
    host, port = line.split()[1].removeprefix("http://").rstrip("/").rsplit(":", 1)
    return host, int(port)


def time_edits(server: Server, listener: ReloadListener, edit: Edit, page: str,
               edits: int, timeout: float) -> Latencies:
    to_event, to_page = [], []
    for number in range(1, edits + 1):
        expected = listener.count() + 1
        started = time.perf_counter()
        text = edit(number)
        to_event.append(listener.wait(expected, timeout) - started)
        body = server.fetch(page)
        to_page.append(time.perf_counter() - started)
        if text.encode() not in body:
            raise SystemExit(f"the reloaded page {page} lacks the edit {text!r}")
        time.sleep(0.3)  # let the watcher go quiet, as between an editor's saves
    return Latencies(to_event, to_page)


def measure_site(tool: Tool, edits: int, timeout: float) -> tuple[dict[str, Latencies], float]:
    """Latencies per kind of edit, and the serve process's peak RSS in MiB."""
    template = tool.template
    assert template is not None
    kinds: dict[str, Edit] = {"one release": lambda n: append_note(tool.release, n),
                              "release template": lambda n: mark_template(template, n)}
    with serving(tool.root) as server:
        listener = ReloadListener(server.host, server.port)
        try:
            time.sleep(0.5)
            page = site_kpr.release_url(tool.release)
            results = {kind: time_edits(server, listener, edit, page, edits, timeout)
                       for kind, edit in kinds.items()}
        finally:
            listener.close()
    return results, server.peak_mib


def time_check(tool: Tool, cache: Path) -> tuple[float, float]:
    """`kpr-site check`, seconds with a cold cache and with a warm one."""
    shutil.rmtree(cache, ignore_errors=True)
    command = [sys.executable, "-m", "kpr_site", "check", "--source", str(tool.root),
               "--cache-dir", str(cache)]
    return run_timed(command, tool.root).seconds, run_timed(command, tool.root).seconds


def _milliseconds(values: Sequence[float]) -> list[str]:
    ms = sorted(value * 1000 for value in values)
    return [f"{statistics.median(ms):.0f}", f"{ms[0]:.0f}", f"{ms[-1]:.0f}"]


def sites(args: argparse.Namespace, work: Path) -> Iterator[tuple[str, Tool]]:
    yield "shipped", site_kpr.shipped(work)
    for pages in args.pages:
        corpus = generate(args.generator, work / f"corpus-{pages}", pages, args.email_as_link)
        yield f"{pages:,} pages", site_kpr.prepare(corpus, work)


SERVE_COLUMNS = ("site", "edit", "→ reload event, median (ms)", "min", "max",
                 "→ page fetched, median (ms)", "min", "max", "serve peak (MiB)")
CHECK_COLUMNS = ("site", "check, cold cache (s)", "check, warm cache (s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_arguments(parser)
    parser.add_argument("--edits", type=int, default=10, help="edits of each kind (default: 10)")
    parser.add_argument("--timeout", type=float, default=300,
                        help="seconds to wait for one reload (default: 300)")
    parser.add_argument("--no-check", action="store_true", help="skip the `kpr-site check` timings")
    args = parser.parse_args()
    find_generator(args.generator)
    checks: list[list[str]] = []
    print(describe_machine(f"{args.edits} edits of each kind"))
    print(table_header(SERVE_COLUMNS), flush=True)
    with work_folder(args.work) as work:
        for label, tool in sites(args, work):
            results, peak = measure_site(tool, args.edits, args.timeout)
            for kind, found in results.items():
                print(table_row([label, kind, *_milliseconds(found.to_event),
                                 *_milliseconds(found.to_page), f"{peak:.0f}"]), flush=True)
            if not args.no_check:
                cold, warm = time_check(tool, work / "check-cache")
                checks.append([label, f"{cold:.2f}", f"{warm:.2f}"])
    if checks:
        print(f"\n{table_header(CHECK_COLUMNS, left=1)}")
        print("\n".join(table_row(row) for row in checks))


if __name__ == "__main__":
    main()
