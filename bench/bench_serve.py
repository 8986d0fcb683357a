"""Benchmark the editor's loop: save-to-reload latency of `kpr-site serve`, and `kpr-site check`.

Latency: the shipped site (content/, templates/, gallery/) is copied to a temporary folder and
served by the real command (`python -m kpr_site serve --port 0`, its own process). A client
holds the live-reload channel open, as a browser tab does. Each edit rewrites one press
release; measured is the time from the write to the `reload` event arriving at the client
(what starts the browser's reload), and to the updated page having been fetched as well.

Check: `kpr-site check` as a fresh process (interpreter start-up included), on the shipped
site and on a generated site of 1,000 press releases (bench/corpus.py), each with a cold
cache (first run after a checkout) and a warm one (every later run).

    python bench/bench_serve.py                 # 15 edits, 1,000-page check
    python bench/bench_serve.py --edits 30 --pages 1000 5000
"""

from __future__ import annotations

import argparse
import http.client
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import generate

REPO = Path(__file__).resolve().parent.parent
RELEASE = "content/press/2017-02-10-praeventionsrat-organisiert-arbeit-neu.md"


def copy_site(target: Path) -> Path:
    for folder in ("content", "templates", "gallery"):
        if (REPO / folder).is_dir():
            shutil.copytree(REPO / folder, target / folder)
    return target


class ReloadListener:
    """Holds the SSE channel open in a thread and timestamps every `reload` event."""

    def __init__(self, host: str, port: int) -> None:
        self.conn = http.client.HTTPConnection(host, port, timeout=30)
        self.conn.request("GET", "/__kpr__/events")
        self.response = self.conn.getresponse()
        self.arrived = threading.Condition()
        self.reloads: list[float] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            for raw in self.response:
                if raw.startswith(b"event: reload"):
                    with self.arrived:
                        self.reloads.append(time.perf_counter())
                        self.arrived.notify_all()
        except (OSError, ValueError):
            pass

    def wait(self, count: int, timeout: float = 10.0) -> float:
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.reloads) >= count, timeout):
                raise SystemExit("no reload event within 10 s")
            return self.reloads[count - 1]

    def close(self) -> None:
        self.response.close()
        self.conn.close()


def measure_latency(edits: int) -> tuple[list[float], list[float]]:
    with tempfile.TemporaryDirectory(prefix="kpr-bench-serve-") as tmp:
        site = copy_site(Path(tmp) / "site")
        server = subprocess.Popen(
            [sys.executable, "-m", "kpr_site", "serve", "--source", str(site), "--port", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            assert server.stdout is not None
            line = ""
            while not line.startswith("Vorschau: "):
                line = server.stdout.readline()
                if not line:
                    raise SystemExit("kpr-site serve did not start")
            threading.Thread(target=server.stdout.read, daemon=True).start()  # drain the log
            host, port = line.split()[1].removeprefix("http://").rstrip("/").rsplit(":", 1)
            return _edit_and_time(site, host, int(port), edits)
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=10)


def _edit_and_time(site: Path, host: str, port: int, edits: int) -> tuple[list[float], list[float]]:
    listener = ReloadListener(host, port)
    original = (site / RELEASE).read_text(encoding="utf-8")
    to_event, to_page = [], []
    try:
        time.sleep(0.5)
        for number in range(1, edits + 1):
            marker = f"Messung {number}."
            started = time.perf_counter()
            (site / RELEASE).write_text(original + f"\n{marker}\n", encoding="utf-8")
            to_event.append(listener.wait(number) - started)
            conn = http.client.HTTPConnection(host, port, timeout=10)
            conn.request("GET", "/presse/2017/praeventionsrat-organisiert-arbeit-neu/")
            body = conn.getresponse().read()
            conn.close()
            to_page.append(time.perf_counter() - started)
            assert marker.encode() in body, "the reloaded page lacks the edit"
            time.sleep(0.3)
    finally:
        listener.close()
    return to_event, to_page


def time_check(site: Path, cache: Path) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "kpr_site", "check", "--source", str(site), "--cache-dir", str(cache)],
        capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(done.stderr)
    return seconds, done.stdout.strip().splitlines()[-1]


def check_timings(pages: list[int]) -> list[tuple[str, float, float, str]]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="kpr-bench-check-") as tmp:
        sites = [("ausgeliefert", copy_site(Path(tmp) / "shipped"))]
        sites += [(f"{n} Seiten", generate(Path(tmp) / f"corpus-{n}", n)) for n in pages]
        for name, site in sites:
            cache = Path(tmp) / f"cache-{site.name}"
            cold, _ = time_check(site, cache)
            warm, last = time_check(site, cache)
            rows.append((name, cold, warm, last))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--edits", type=int, default=15)
    parser.add_argument("--pages", type=int, nargs="*", default=[1000])
    args = parser.parse_args()

    to_event, to_page = measure_latency(args.edits)
    print(f"serve, shipped site, {args.edits} edits (ms):")
    for label, values in (("save → reload event", to_event), ("save → page fetched", to_page)):
        ms = sorted(v * 1000 for v in values)
        print(f"  {label:22} median {statistics.median(ms):6.1f}   min {ms[0]:6.1f}   "
              f"max {ms[-1]:6.1f}")
    print("\ncheck (fresh process each run, seconds):")
    for name, cold, warm, last in check_timings(args.pages):
        print(f"  {name:14} cold cache {cold:5.2f}   warm cache {warm:5.2f}   ({last})")


if __name__ == "__main__":
    main()
