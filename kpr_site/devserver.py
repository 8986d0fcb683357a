"""The HTTP side of `kpr-site serve`: safe file lookup, live-reload channel, error page.

Serves one folder read-only: only GET and HEAD, never a file outside the folder (`..`,
encoded `%2e%2e`, symlinks), the build's outcome shared through `BuildState`. The live-reload
script is added to HTML responses here, at serve time, so it never reaches a built site.
Standard library only.
"""

from __future__ import annotations

import contextlib
import html
import ipaddress
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path, PurePosixPath
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

__all__ = [
    "EVENTS_PATH", "SCRIPT_PATH", "BuildState", "PreviewServer", "Served", "content_type",
    "error_page", "inject_reload", "is_loopback", "locate",
]

EVENTS_PATH = "/__kpr__/events"
SCRIPT_PATH = "/__kpr__/reload.js"
# A comment line keeps idle event streams (and proxies in between) from timing out.
KEEPALIVE_SECONDS = 15.0


def is_loopback(host: str) -> bool:
    """Whether only this computer can reach `host`."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False





class BuildState:
    """The outcome of the latest build, shared by the builder and the request threads.

    `generation` counts finished builds; a page is stamped with the generation it was served
    at, and reloads when the event channel reports another one.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.generation = 0
        self.error: str | None = None
        self.closed = False

    def publish(self, error: str | None) -> None:
        with self._changed:
            self.generation += 1
            self.error = error
            self._changed.notify_all()

    def snapshot(self) -> tuple[int, str | None]:
        with self._changed:
            return self.generation, self.error

    def wait_for_change(self, seen: int, timeout: float) -> int:
        """Block until the generation differs from `seen`, the server closes or time is up."""
        with self._changed:
            self._changed.wait_for(lambda: self.generation != seen or self.closed, timeout)
            return self.generation

    def close(self) -> None:
        with self._changed:
            self.closed = True
            self._changed.notify_all()


class Served(Protocol):
    """What the server needs to know of the preview it serves."""

    @property
    def files(self) -> Mapping[str, bytes | Path]:
        """The site to serve: output path → its bytes, or the file holding them."""
        ...

    state: BuildState
    host: str
    """The address the server is bound to."""



_TYPES = {
    ".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8", ".json": "application/json",
    ".xml": "application/xml; charset=utf-8", ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml", ".webp": "image/webp", ".png": "image/png", ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg", ".gif": "image/gif", ".ico": "image/x-icon", ".avif": "image/avif",
    ".woff2": "font/woff2", ".woff": "font/woff", ".pdf": "application/pdf",
    ".ics": "text/calendar; charset=utf-8", ".csv": "text/csv; charset=utf-8",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def content_type(path: PurePosixPath | Path) -> str:
    """The Content-Type for a file of the built site; the press feed is Atom."""
    if path.name == "feed.xml":
        return "application/atom+xml; charset=utf-8"
    return _TYPES.get(path.suffix.lower(), "application/octet-stream")


@dataclass(frozen=True)
class _Target:
    status: int
    name: str = ""
    """The output path found ("presse/index.html")."""
    data: bytes | Path | None = None
    location: str = ""


def locate(files: Mapping[str, bytes | Path], url_path: str) -> _Target:
    """The file of the site for a request path. Only what the build made can be served:
    a path with "..", "." or a backslash is refused (403) before it is looked up."""
    try:
        decoded = unquote(url_path, errors="strict")
    except UnicodeDecodeError:
        return _Target(HTTPStatus.BAD_REQUEST)
    parts = decoded.split("/")
    if any(p in ("..", ".") or "\\" in p or "\0" in p for p in parts):
        return _Target(HTTPStatus.FORBIDDEN)
    name = "/".join(p for p in parts if p)
    index = f"{name}/index.html" if name else "index.html"
    if name in files and not decoded.endswith("/"):
        return _Target(HTTPStatus.OK, name, files[name])
    if index in files:
        if not decoded.endswith("/"):
            return _Target(HTTPStatus.MOVED_PERMANENTLY, location=url_path + "/")
        return _Target(HTTPStatus.OK, index, files[index])
    return _Target(HTTPStatus.NOT_FOUND)


RELOAD_SCRIPT = b"""\
// Live reload for `kpr-site serve` (never part of the published site): the page knows the
// build it was served from and reloads when the server reports another one.
(function () {
  "use strict";
  var script = document.currentScript;
  var generation = script ? script.getAttribute("data-generation") : null;
  var events = new EventSource("/__kpr__/events");
  function check(event) {
    if (event.data !== generation) {
      events.close();
      window.location.reload();
    }
  }
  events.addEventListener("hello", check);
  events.addEventListener("reload", check);
})();
"""


def inject_reload(page: bytes, generation: int) -> bytes:
    """Add the live-reload script before </body> (or at the end)."""
    tag = f'<script src="{SCRIPT_PATH}" data-generation="{generation}" defer></script>\n'.encode()
    index = page.lower().rfind(b"</body>")
    return page + tag if index < 0 else page[:index] + tag + page[index:]


def error_page(text: str) -> bytes:
    """The page shown instead of every HTML page while the last build failed."""
    return f"""<!DOCTYPE html>
<html lang="de">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Fehler in der Website – kpr-site serve</title>
<style>
body {{ font: 1.05rem/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem;
       padding: 0 1rem; color: #1a1a1a; }}
h1 {{ color: #a4000f; font-size: 1.6rem; }}
pre {{ background: #fff4f4; border-left: .4rem solid #a4000f; padding: 1rem;
      white-space: pre-wrap; overflow-wrap: anywhere; font-size: 1rem; }}
</style>
</head>
<body>
<main>
<h1>Die Website konnte nicht erzeugt werden</h1>
<p>Jede Meldung nennt Datei und Zeile (<code>datei:zeile</code>), was falsch ist und nach dem
Pfeil (→), wie Sie es beheben.</p>
<pre>{html.escape(text)}</pre>
<p>Korrigieren Sie die Datei und speichern Sie sie – diese Seite lädt sich dann von selbst neu.</p>
</main>
</body>
</html>
""".encode()


class PreviewServer(ThreadingHTTPServer):
    """Threaded HTTP server that can close every open connection when stopping."""

    # socketserver listens with a backlog of 5: a browser opening a page with its styles and
    # images, plus a few tabs, overflows that, and every connection beyond waits for a SYN
    # retry (1 s, 3 s, 7 s …); 200 concurrent requests lost up to 89 to 20-s timeouts. The
    # kernel caps this at net.core.somaxconn (4096 on current Linux).
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], preview: Served) -> None:
        self.preview = preview
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Wake handlers blocked on a socket (idle keep-alive, a slow client)."""
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a browser closing a connection early is normal, not worth a traceback


class _Handler(BaseHTTPRequestHandler):
    server: PreviewServer
    server_version = "kpr-site-serve"
    timeout = 30  # seconds a silent connection may hold a thread
    # Each reload event is one small write: sent at once, not held back until the tab has
    # acknowledged the one before (Nagle's algorithm).
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self._respond(head=False)

    def do_HEAD(self) -> None:
        self._respond(head=True)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the terminal shows builds and errors, not every request

    def _not_allowed(self) -> None:
        """Every other method gets 405 with the list of allowed ones."""
        length = int(self.headers.get("Content-Length") or 0)
        if 0 < length <= 1 << 20:
            self.rfile.read(length)  # read the body so closing does not reset the connection
        self._send(HTTPStatus.METHOD_NOT_ALLOWED, b"Die Vorschau beantwortet nur GET und HEAD.\n",
                   _TYPES[".txt"], head=False, extra={"Allow": "GET, HEAD"})

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_TRACE = do_CONNECT = _not_allowed

    def _respond(self, head: bool) -> None:
        path = urlsplit(self.path).path
        preview = self.server.preview
        if not self._host_allowed():
            return self._send(HTTPStatus.FORBIDDEN, b"Unbekannter Host.\n", _TYPES[".txt"], head)
        if path == EVENTS_PATH:
            return self._events(head)
        if path == SCRIPT_PATH:
            return self._send(HTTPStatus.OK, RELOAD_SCRIPT, _TYPES[".js"], head)
        generation, error = preview.state.snapshot()  # before reading: a newer page only reloads
        files = preview.files  # one run's site for the whole request
        target = locate(files, path)
        if target.status == HTTPStatus.MOVED_PERMANENTLY:
            return self._send(target.status, b"", "text/plain", head, {"Location": target.location})
        is_page = target.data is None or target.name.endswith(".html")
        if error is not None and is_page and target.status in (HTTPStatus.OK, HTTPStatus.NOT_FOUND):
            page = inject_reload(error_page(error), generation)
            return self._send(HTTPStatus.INTERNAL_SERVER_ERROR, page, _TYPES[".html"], head)
        if target.status == HTTPStatus.NOT_FOUND:
            return self._not_found(files, generation, head)
        if target.data is None:
            bad = target.status == HTTPStatus.BAD_REQUEST
            message = "Ungültige Adresse." if bad else "Zugriff verweigert."
            return self._send(target.status, f"{message}\n".encode(), _TYPES[".txt"], head)
        self._file(target.name, target.data, generation, head)

    def _host_allowed(self) -> bool:
        """On loopback, only loopback names: a web page cannot read the preview (and its
        drafts) through a DNS name that points to 127.0.0.1 (DNS rebinding)."""
        if not is_loopback(self.server.preview.host):
            return True
        name = urlsplit("//" + (self.headers.get("Host") or "")).hostname
        return name is None or is_loopback(name)

    def _file(self, name: str, data: bytes | Path, generation: int, head: bool,
              status: int = HTTPStatus.OK) -> None:
        if isinstance(data, Path):  # a photo, document or search file: read as it is now
            try:
                data = data.read_bytes()
            except OSError:
                return self._send(HTTPStatus.NOT_FOUND, b"Nicht gefunden.\n", _TYPES[".txt"], head)
        if name.endswith(".html"):
            data = inject_reload(data, generation)
        self._send(status, data, content_type(PurePosixPath(name)), head)

    def _not_found(self, files: Mapping[str, bytes | Path], generation: int, head: bool) -> None:
        if "404.html" in files:
            return self._file("404.html", files["404.html"], generation, head, HTTPStatus.NOT_FOUND)
        self._send(HTTPStatus.NOT_FOUND, b"Diese Seite gibt es nicht.\n", _TYPES[".txt"], head)

    def _send(self, status: int, body: bytes, ctype: str, head: bool,
              extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _events(self, head: bool) -> None:
        """The live-reload channel: `hello` with the current build, `reload` after each build."""
        state = self.server.preview.state
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if head:
            return
        seen, _ = state.snapshot()
        try:
            self.wfile.write(f"retry: 500\nevent: hello\ndata: {seen}\n\n".encode())
            while not state.closed:
                generation = state.wait_for_change(seen, KEEPALIVE_SECONDS)
                if state.closed:
                    break
                message = ": ping\n\n" if generation == seen else f"event: reload\ndata: {generation}\n\n"
                seen = generation
                self.wfile.write(message.encode())
        except OSError:
            pass  # the tab was closed
