"""`kpr-site serve` under load and when stopped: a burst of connections, Ctrl-C mid-rebuild."""

from __future__ import annotations

import http.client
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import MakeSite, press

from kpr_site.serve import Preview, ServeOptions

FILES: dict[str, str | bytes] = {
    "content/press/2017-02-10-neustart.md": press(body="Erster Text."),
    "content/pages/kontakt.md": "---\ntitle: Kontakt\n---\nSo erreichen Sie uns.\n",
}


def get(url: str, path: str, timeout: float = 5) -> int:
    host, port = url.removeprefix("http://").rstrip("/").rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def test_200_concurrent_requests_are_all_answered(make_site: MakeSite, tmp_path: Path) -> None:
    # A listen backlog of 5 (socketserver's default) dropped connections of such a burst;
    # each then waited for a SYN retry, up to 89 of 200 past 20 s.
    site = make_site(FILES)
    with Preview(site, ServeOptions(port=0, cache_dir=tmp_path / "cache")) as preview:
        count = 200
        start = threading.Barrier(count)
        results: list[int | str] = [""] * count

        def fetch(index: int) -> None:
            start.wait()
            try:
                results[index] = get(preview.url, "/presse/" if index % 2 else "/")
            except OSError as exc:
                results[index] = repr(exc)

        threads = [threading.Thread(target=fetch, args=(i,)) for i in range(count)]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        seconds = time.perf_counter() - began
    assert results == [200] * count
    assert seconds < 5


def start_cli(site: Path, cache: Path) -> tuple[subprocess.Popen[str], str]:
    """`kpr-site serve` in a process of its own, and its URL once it serves."""
    process = subprocess.Popen(
        [sys.executable, "-m", "kpr_site", "serve", "--source", str(site), "--port", "0",
         "--cache-dir", str(cache)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8")
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("Vorschau: "):
            return process, line.split()[1]
    process.kill()
    pytest.fail(f"the preview did not start: {process.communicate()}")


def test_ctrl_c_during_a_long_rebuild_ends_the_preview_within_a_second(
    make_site: MakeSite, tmp_path: Path
) -> None:
    site = make_site(FILES)
    template = site / "templates/page.html"
    good = template.read_text(encoding="utf-8")
    process, url = start_cli(site, tmp_path / "cache")
    try:
        # A template that takes minutes to render: the rebuild after this save runs long.
        template.write_text(good.replace("{{ title }}",
                                         "{% for i in range(10**9) %}{% endfor %}{{ title }}"),
                            encoding="utf-8")
        time.sleep(1.5)  # the watcher notices, the quiet time passes, rendering begins
        assert process.poll() is None
        process.send_signal(signal.SIGINT)
        interrupted = time.perf_counter()
        out, err = process.communicate(timeout=30)
        seconds = time.perf_counter() - interrupted
    finally:
        process.kill()
    assert seconds < 1.0
    assert process.returncode == 0, err
    assert "Vorschau beendet." in out
    assert "Traceback" not in err

    # The next start recovers from the abandoned rebuild.
    template.write_text(good, encoding="utf-8")
    process, url = start_cli(site, tmp_path / "cache")
    try:
        assert get(url, "/kontakt/") == 200
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert "Traceback" not in err
