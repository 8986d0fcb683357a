"""`kpr-site serve`: the real server on a free port, real file edits, real HTTP and SSE."""

from __future__ import annotations

import datetime as dt
import errno
import html
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import REPO, SITE_YAML, MakeSite, press

from kpr_site.cli import main
from kpr_site.errors import os_reason
from kpr_site.serve import (
    EVENTS_PATH,
    Preview,
    ServeOptions,
    content_type,
    is_loopback,
    is_temporary,
)

RELEASE = "content/press/2017-02-10-neustart.md"


FILES: dict[str, str | bytes] = {
    RELEASE: press(body="Erster Text."),
    "content/pages/kontakt.md": "---\ntitle: Kontakt\n---\nSo erreichen Sie uns.\n",
    "templates/static/bild.webp": b"RIFF\x00\x00\x00\x00WEBPVP8 ",
}


@pytest.fixture
def site(make_site: MakeSite) -> Path:
    return make_site(FILES)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Preview]:
    """One server for the tests that only read (they must not edit its files)."""
    root = tmp_path_factory.mktemp("shared")
    shutil.copytree(REPO / "templates", root / "templates")
    (root / "content").mkdir()
    (root / "content/site.yaml").write_text(SITE_YAML, encoding="utf-8")
    for name, data in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data if isinstance(data, bytes) else data.encode())
    with Preview(root, ServeOptions(port=0, cache_dir=root / "cache")) as server:
        yield server


@pytest.fixture
def logs() -> list[str]:
    return []


@pytest.fixture
def preview(site: Path, tmp_path: Path, logs: list[str]) -> Iterator[Preview]:
    with Preview(site, ServeOptions(port=0, cache_dir=tmp_path / "cache"), log=logs.append) as server:
        yield server


class Events:
    """A client of the live-reload channel: reads `event:`/`data:` pairs."""

    def __init__(self, preview: Preview) -> None:
        host, port = preview.url.removeprefix("http://").rstrip("/").rsplit(":", 1)
        self.conn = http.client.HTTPConnection(host, int(port), timeout=5)
        self.conn.request("GET", EVENTS_PATH)
        self.response = self.conn.getresponse()
        assert self.response.status == 200
        assert self.response.getheader("Content-Type", "").startswith("text/event-stream")

    def next(self) -> tuple[str, str]:
        event = data = ""
        while True:
            line = self.response.readline().decode().rstrip("\n")
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                data = line[6:]
            elif not line and event:
                return event, data

    def close(self) -> None:
        self.response.close()
        self.conn.close()


@pytest.fixture
def events(preview: Preview) -> Iterator[Events]:
    client = Events(preview)
    try:
        yield client
    finally:
        client.close()


def request(preview: Preview, path: str, method: str = "GET", body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """A raw request: http.client sends the path exactly as given (no normalisation)."""
    host, port = preview.url.removeprefix("http://").rstrip("/").rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def wait_for_reload(events: Events) -> str:
    while True:
        kind, data = events.next()
        if kind == "reload":
            return data


def test_content_edit_is_rebuilt_and_a_reload_event_is_delivered(
    preview: Preview, site: Path, events: Events
) -> None:
    assert events.next() == ("hello", "1")
    (site / RELEASE).write_text(press(body="Neuer Text nach dem Speichern."), encoding="utf-8")
    assert wait_for_reload(events) == "2"
    status, _, page = request(preview, "/presse/2017/neustart/")
    assert status == 200
    assert "Neuer Text nach dem Speichern." in page.decode()


def test_broken_edit_shows_the_error_page_and_the_server_keeps_running(
    preview: Preview, site: Path, events: Events, logs: list[str]
) -> None:
    events.next()
    css = next(Path(name).name for name in preview.files if name.startswith("static/")
               and name.endswith(".css"))
    (site / RELEASE).write_text("---\ntitle: Neustart\ndate: 2017-02-31\n---\nText.\n",
                                encoding="utf-8")
    wait_for_reload(events)
    status, headers, page = request(preview, "/presse/2017/neustart/")
    assert status == 500
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    text = page.decode()
    assert f"{RELEASE}:3: „date“: 2017-02-31 ist kein gültiges Kalenderdatum" in text
    assert "Prüfen Sie Tag und Monat" in text  # the hint
    terminal = logs[-1].split("\n", 1)[1].strip()
    assert html.escape(terminal) in text  # the same words as in the terminal
    assert "/__kpr__/reload.js" in text  # so that the fix reloads the page
    assert request(preview, f"/static/{css}")[0] == 200  # last good assets stay available


def test_preview_highlights_placeholders_and_counts_them_in_the_terminal(
    preview: Preview, site: Path, events: Events, logs: list[str]
) -> None:
    events.next()
    (site / RELEASE).write_text(press(body="Ort: [Vom Landkreis zu bestätigen: Ort]"),
                                encoding="utf-8")
    wait_for_reload(events)
    page = request(preview, "/presse/2017/neustart/")[2].decode()
    assert 'Ort: <mark class="offen">[Vom Landkreis zu bestätigen: Ort]</mark>' in page
    assert re.fullmatch(r"\[[\d:]+\] Aktualisiert: \d+ Seiten in \d+ ms; 1 offener Platzhalter\.",
                        logs[-1]), logs


def test_fixing_the_error_recovers_without_restart(
    preview: Preview, site: Path, events: Events
) -> None:
    events.next()
    (site / RELEASE).write_text("---\ntitle: [kaputt\n---\n", encoding="utf-8")
    wait_for_reload(events)
    assert request(preview, "/")[0] == 500
    (site / RELEASE).write_text(press(body="Wieder gut."), encoding="utf-8")
    wait_for_reload(events)
    status, _, page = request(preview, "/presse/2017/neustart/")
    assert (status, "Wieder gut." in page.decode()) == (200, True)


def test_atomic_save_via_temp_file_and_rename_gives_one_rebuild(
    preview: Preview, site: Path, events: Events
) -> None:
    events.next()
    temp = site / "content/press/.2017-02-10-neustart.md.tmp"
    temp.write_text(press(body="Atomar gespeichert."), encoding="utf-8")
    os.replace(temp, site / RELEASE)
    wait_for_reload(events)
    time.sleep(0.4)
    assert preview.builds == 2
    assert "Atomar gespeichert." in request(preview, "/presse/2017/neustart/")[2].decode()


def test_burst_of_200_file_events_gives_one_rebuild(site: Path, tmp_path: Path) -> None:
    # A longer quiet period than the default 10 ms only so that a loaded test machine
    # pausing this loop cannot split the burst; the mechanism is the same.
    options = ServeOptions(port=0, cache_dir=tmp_path / "cache", quiet_seconds=0.25)
    with Preview(site, options) as preview:
        events = Events(preview)
        try:
            events.next()
            for number in range(200):  # like a git checkout: 200 new files, ≥ 400 events
                (site / f"content/pages/seite-{number:03}.md").write_text(
                    f"---\ntitle: Seite {number}\n---\nText {number}.\n", encoding="utf-8")
            wait_for_reload(events)
            time.sleep(0.5)
        finally:
            events.close()
        assert preview.builds == 2
        assert request(preview, "/seite-199/")[0] == 200


def test_swap_backup_and_hidden_files_do_not_trigger_a_rebuild(preview: Preview, site: Path) -> None:
    for name in (".2017-02-10-neustart.md.swp", "2017-02-10-neustart.md~", "4913",
                 ".#2017-02-10-neustart.md", "notiz.tmp", ".DS_Store", "#neustart.md#"):
        (site / "content/press" / name).write_text("x", encoding="utf-8")
    time.sleep(0.4)
    assert preview.builds == 1


@pytest.mark.parametrize("name", [".foo.md.swp", "foo.md~", "4913", ".#foo.md", "foo.tmp",
                                  "#foo.md#", ".hidden"])
def test_temporary_file_names_are_recognised(name: str) -> None:
    assert is_temporary(name)


@pytest.mark.parametrize("name", ["2017-02-10-neustart.md", "album.yaml", "foto-1.JPG", "base.html"])
def test_content_file_names_are_not_temporary(name: str) -> None:
    assert not is_temporary(name)


@pytest.mark.parametrize("path", ["/../secret.txt", "/presse/../../secret.txt",
                                  "/%2e%2e/secret.txt", "/%2E%2E%2Fsecret.txt",
                                  "/presse/%2e%2e/%2e%2e/secret.txt", "/draussen/secret.txt"])
def test_paths_outside_the_root_are_refused(preview: Preview, tmp_path: Path, path: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("GEHEIM", encoding="utf-8")
    preview.root.mkdir(parents=True, exist_ok=True)  # the preview's own folder (spare files)
    (preview.root.parent / "secret.txt").write_text("GEHEIM", encoding="utf-8")
    (preview.root / "draussen").symlink_to(outside, target_is_directory=True)
    status, _, body = request(preview, path)
    assert status in (403, 404)
    assert b"GEHEIM" not in body


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS", "PATCH"])
def test_methods_other_than_get_and_head_get_405(shared: Preview, method: str) -> None:
    status, headers, _ = request(shared, "/", method, body=b"a=b")
    assert status == 405
    assert headers["Allow"] == "GET, HEAD"


def test_head_sends_headers_without_body(shared: Preview) -> None:
    status, headers, body = request(shared, "/", "HEAD")
    assert (status, body) == (200, b"")
    assert int(headers["Content-Length"]) > 1000


@pytest.mark.parametrize(("path", "expected"), [
    ("/", "text/html; charset=utf-8"),
    ("/presse/feed.xml", "application/atom+xml; charset=utf-8"),
    ("/sitemap.xml", "application/xml; charset=utf-8"),
    ("/robots.txt", "text/plain; charset=utf-8"),
    ("/__kpr__/reload.js", "text/javascript; charset=utf-8"),
])
def test_responses_have_the_right_content_type(shared: Preview, path: str, expected: str) -> None:
    status, headers, _ = request(shared, path)
    assert (status, headers["Content-Type"]) == (200, expected)


def test_static_files_have_the_right_content_type(shared: Preview) -> None:
    found = {Path(name).suffix: Path(name).name for name in shared.files
             if name.startswith("static/")}
    for suffix, expected in {".css": "text/css; charset=utf-8", ".svg": "image/svg+xml",
                             ".webp": "image/webp"}.items():
        status, headers, _ = request(shared, f"/static/{found[suffix]}")
        assert (status, headers["Content-Type"]) == (200, expected)


def test_content_types_of_images_are_case_insensitive() -> None:
    assert content_type(Path("FOTO.JPG")) == "image/jpeg"


def test_a_miss_gets_the_404_page_with_status_404(shared: Preview) -> None:
    status, _, body = request(shared, "/gibt-es-nicht/")
    assert status == 404
    assert "Seite nicht gefunden" in body.decode()


def test_a_folder_without_slash_redirects(shared: Preview) -> None:
    status, headers, _ = request(shared, "/kontakt")
    assert (status, headers["Location"]) == (301, "/kontakt/")


def test_foreign_host_names_are_refused_on_loopback(shared: Preview) -> None:
    assert request(shared, "/", headers={"Host": "rebind.example:8000"})[0] == 403
    assert request(shared, "/", headers={"Host": "localhost:8000"})[0] == 200


def test_live_reload_script_is_served_but_never_built(
    preview: Preview, site: Path, build: Callable[..., tuple[int, str, str]]
) -> None:
    assert b"/__kpr__/reload.js" in request(preview, "/")[2]
    code, _, _ = build(site)
    assert code == 0
    built = [p for p in (site / "build").rglob("*") if p.is_file()]
    assert built and not [p for p in built if b"__kpr__" in p.read_bytes()]


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("::1", True), ("localhost", True), ("0.0.0.0", False),
    ("192.168.1.20", False), ("kpr.example", False)])
def test_only_loopback_hosts_count_as_private(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_cli_warns_when_binding_beyond_loopback(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 192.0.2.1 (TEST-NET-1) is no address of this machine: the warning comes, binding fails.
    code = main(["serve", "--source", str(site), "--host", "192.0.2.1", "--port", "0"])
    err = capsys.readouterr().err
    assert code == 2
    assert "Achtung: Mit --host 192.0.2.1 können auch andere Rechner im Netz" in err
    assert "kann 192.0.2.1:0 nicht belegen: diese Adresse gehört nicht zu diesem Rechner." in err


def test_a_busy_port_is_explained_in_german(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = main(["serve", "--source", str(site), "--port", str(port)])
    err = capsys.readouterr().err
    assert code == 2
    assert err == (f"Die Vorschau kann 127.0.0.1:{port} nicht belegen: der Port wird schon "
                   "verwendet.\n  → Läuft schon eine Vorschau? Sonst wählen Sie einen anderen "
                   "Port, z. B. --port 8001.\n")


@pytest.mark.parametrize(("error", "reason"), [
    (OSError(errno.EADDRINUSE, "Address already in use"), "der Port wird schon verwendet"),
    (PermissionError(errno.EACCES, "Permission denied"), "keine Berechtigung"),
    (socket.gaierror(-2, "Name or service not known"), "der Rechnername ist unbekannt"),
    (OSError(errno.ECONNREFUSED, "Connection refused"), "Fehler des Betriebssystems (ECONNREFUSED)"),
])
def test_operating_system_errors_are_told_in_german(error: OSError, reason: str) -> None:
    assert os_reason(error) == reason


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_cli_serves_and_exits_cleanly_on_ctrl_c_or_a_stop(site: Path, tmp_path: Path,
                                                          stop: signal.Signals) -> None:
    process = _start_cli(site, tmp_path)
    lines = []
    try:
        for line in process.stdout:  # type: ignore[union-attr]
            lines.append(line)
            if line.startswith("Vorschau: "):
                break
        assert lines and lines[-1].startswith("Vorschau: "), process.stderr.read()  # type: ignore[union-attr]
        url = lines[-1].split()[1]
        host, port = url.removeprefix("http://").rstrip("/").rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=5)
        conn.request("GET", "/")
        assert conn.getresponse().status == 200
        conn.close()
    finally:
        process.send_signal(stop)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert "Vorschau beendet." in out
    assert "Traceback" not in err


def _start_cli(site: Path, tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "kpr_site", "serve", "--source", str(site), "--port", "0",
         "--cache-dir", str(tmp_path / "cli-cache"), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8")


def test_preview_serves_calendars_and_uses_a_fixed_build_date(make_site: MakeSite, tmp_path: Path) -> None:
    root = make_site({"content/events/2024-06-03-forum.md": "---\ntitle: Forum\nstart: 2024-06-03\n---\n"})
    options = ServeOptions(port=0, cache_dir=tmp_path / "cache", today=dt.date(2024, 6, 4))
    with Preview(root, options) as server:
        status, headers, body = request(server, "/termine/kalender.ics")
        assert (status, headers["Content-Type"]) == (200, "text/calendar; charset=utf-8")
        assert b"DTSTAMP:20240604T000000Z" in body
        assert "Vergangene Termine" in request(server, "/termine/")[2].decode()
