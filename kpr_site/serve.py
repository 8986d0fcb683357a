"""The editor's preview: build into a private folder, serve it, rebuild on save, reload the tab.

`kpr-site serve` builds the site into a folder of its own below the cache (never the published
build/), serves it over HTTP and watches content/, templates/ and gallery/ with watchdog. A
burst of file events (an atomic save, a git checkout) becomes one rebuild once the files have
been quiet for a moment; every open page then reloads itself over a Server-Sent-Events
channel. The script for that channel is added to HTML responses while serving, never to the
built files. A failed build keeps the server running: pages show the errors in German (the
same text the terminal prints), static files stay as they were, and the next good build
reloads the page again.

This is the only module that imports watchdog.
"""

from __future__ import annotations

import contextlib
import html
import ipaddress
import socket
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer

from kpr_site.build import build_site
from kpr_site.errors import BuildFailed, SiteError, format_errors
from kpr_site.options import BuildOptions

__all__ = [
    "EVENTS_PATH",
    "SCRIPT_PATH",
    "WATCHED",
    "Preview",
    "ServeOptions",
    "content_type",
    "is_loopback",
    "is_temporary",
]

Log = Callable[[str], None]

WATCHED = ("content", "templates", "gallery")
EVENTS_PATH = "/__kpr__/events"
SCRIPT_PATH = "/__kpr__/reload.js"
# A comment line keeps idle event streams (and proxies in between) from timing out.
KEEPALIVE_SECONDS = 15.0


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    """0 picks a free port (tests)."""
    drafts: bool = False
    cache_dir: Path | None = None
    """Where caches and the preview's own output live; None means <source>/.cache."""
    quiet_seconds: float = 0.1
    """How long the files must be quiet before a rebuild starts. An editor's save (temp file +
    rename) takes under a millisecond; a git checkout of 500 files sent events for 30–100 ms
    with gaps of at most 14 ms (measured). 100 ms catches both and keeps save-to-reload near
    120 ms (bench/bench_serve.py), well under the 300 ms target."""
    patience_seconds: float = 2.0
    """Build anyway once events have kept coming this long (e.g. a running copy)."""


def _ignore(_: str) -> None:
    pass


def is_loopback(host: str) -> bool:
    """Whether only this computer can reach `host`."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


_TEMP_SUFFIXES = (".swp", ".swo", ".swx", ".tmp", ".temp", ".bak", ".part", ".crdownload",
                  ".kate-swp")


def is_temporary(name: str) -> bool:
    """Editor swap, backup and lock files, hidden files, and vim's write test file "4913"."""
    return (name.startswith((".", "#")) or name.endswith(("~", "#")) or name.isdigit()
            or name.lower().endswith(_TEMP_SUFFIXES))


# ---------------------------------------------------------------------------- build state


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


# ---------------------------------------------------------------------------- debounce


class _Debouncer:
    """Run `action` in a thread of its own once pokes have stopped for `quiet` seconds."""

    def __init__(self, action: Callable[[], None], quiet: float, patience: float) -> None:
        self._action = action
        self._quiet, self._patience = quiet, patience
        self._poked = threading.Condition()
        self._first: float | None = None
        self._last = 0.0
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="kpr-rebuild", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def poke(self) -> None:
        with self._poked:
            self._last = time.monotonic()
            if self._first is None:
                self._first = self._last
            self._poked.notify()

    def stop(self) -> None:
        with self._poked:
            self._stopped = True
            self._poked.notify()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while self._wait_until_quiet():
            self._action()

    def _wait_until_quiet(self) -> bool:
        with self._poked:
            self._poked.wait_for(lambda: self._stopped or self._first is not None)
            while not self._stopped:
                assert self._first is not None
                due = min(self._last + self._quiet, self._first + self._patience)
                if time.monotonic() >= due:
                    break
                self._poked.wait(due - time.monotonic())
            self._first = None
            return not self._stopped


# ---------------------------------------------------------------------------- watching

_WATCHED_EVENTS: list[type[FileSystemEvent]] = [
    FileCreatedEvent, FileDeletedEvent, FileModifiedEvent, FileMovedEvent, FileClosedEvent,
    DirCreatedEvent, DirDeletedEvent, DirMovedEvent,
]
_CHANGES = {"created", "deleted", "modified", "moved", "closed"}


class _Watcher(FileSystemEventHandler):
    """Turns relevant file events into pokes; watches content/, templates/, gallery/."""

    def __init__(self, source: Path, on_change: Callable[[], None]) -> None:
        self.source = source.resolve()
        self.on_change = on_change
        self.observer = Observer()
        self._watches: dict[str, Any] = {}

    def start(self) -> None:
        for name in WATCHED:
            self._watch(name)
        # The site folder itself, not recursively: notices a gallery/ created later.
        self.observer.schedule(self, str(self.source), event_filter=_WATCHED_EVENTS)
        self.observer.start()

    def stop(self) -> None:
        self.observer.stop()
        if self.observer.is_alive():
            self.observer.join()

    def _watch(self, name: str) -> None:
        folder = self.source / name
        if name not in self._watches and folder.is_dir():
            self._watches[name] = self.observer.schedule(
                self, str(folder), recursive=True, event_filter=_WATCHED_EVENTS)

    def _rewatch(self, name: str) -> None:
        """A watch dies with its folder; watch the folder now there, if any."""
        watch = self._watches.pop(name, None)
        if watch is not None:
            with contextlib.suppress(KeyError):
                self.observer.unschedule(watch)
        self._watch(name)

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in _CHANGES or (event.is_directory and event.event_type == "modified"):
            return
        paths = [event.src_path, event.dest_path] if event.dest_path else [event.src_path]
        if any(self._relevant(_text(p), event.is_directory) for p in paths):
            self.on_change()

    def _relevant(self, raw: str, is_directory: bool) -> bool:
        path = Path(raw)
        if not path.is_relative_to(self.source):
            return False
        parts = path.relative_to(self.source).parts
        if not parts or parts[0] not in WATCHED:
            return False
        if len(parts) == 1:  # a watched folder itself appeared, went or moved
            self._rewatch(parts[0])
            return True
        if any(part.startswith(".") for part in parts[1:]):
            return False
        return is_directory or not is_temporary(parts[-1])


def _text(path: str | bytes) -> str:
    return path.decode(errors="surrogateescape") if isinstance(path, bytes) else path


# ---------------------------------------------------------------------------- HTTP

_TYPES = {
    ".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8", ".json": "application/json",
    ".xml": "application/xml; charset=utf-8", ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml", ".webp": "image/webp", ".png": "image/png", ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg", ".gif": "image/gif", ".ico": "image/x-icon", ".avif": "image/avif",
    ".woff2": "font/woff2", ".woff": "font/woff", ".pdf": "application/pdf",
}


def content_type(path: PurePosixPath | Path) -> str:
    """The Content-Type for a file of the built site; the press feed is Atom."""
    if path.name == "feed.xml":
        return "application/atom+xml; charset=utf-8"
    return _TYPES.get(path.suffix.lower(), "application/octet-stream")


@dataclass(frozen=True)
class _Target:
    status: int
    file: Path | None = None
    location: str = ""


def locate(root: Path, url_path: str) -> _Target:
    """The file for a request path; never one outside `root` (403), even through symlinks."""
    try:
        decoded = unquote(url_path, errors="strict")
    except UnicodeDecodeError:
        return _Target(HTTPStatus.BAD_REQUEST)
    parts = decoded.split("/")
    if any(p in ("..", ".") or "\\" in p or "\0" in p for p in parts):
        return _Target(HTTPStatus.FORBIDDEN)
    base = root.resolve()
    candidate = base.joinpath(*(p for p in parts if p)).resolve()
    if not candidate.is_relative_to(base):
        return _Target(HTTPStatus.FORBIDDEN)
    if candidate.is_dir():
        if not url_path.endswith("/"):
            return _Target(HTTPStatus.MOVED_PERMANENTLY, location=url_path + "/")
        candidate = candidate / "index.html"
    if candidate.is_file():
        return _Target(HTTPStatus.OK, candidate)
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


class _Server(ThreadingHTTPServer):
    """Threaded HTTP server that can close every open connection when stopping."""

    def __init__(self, address: tuple[str, int], preview: Preview) -> None:
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
    server: _Server
    server_version = "kpr-site-serve"
    timeout = 30  # seconds a silent connection may hold a thread

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
        target = locate(preview.root, path)
        if target.status == HTTPStatus.MOVED_PERMANENTLY:
            return self._send(target.status, b"", "text/plain", head, {"Location": target.location})
        is_page = target.file is None or target.file.suffix == ".html"
        if error is not None and is_page and target.status in (HTTPStatus.OK, HTTPStatus.NOT_FOUND):
            page = inject_reload(error_page(error), generation)
            return self._send(HTTPStatus.INTERNAL_SERVER_ERROR, page, _TYPES[".html"], head)
        if target.status == HTTPStatus.NOT_FOUND:
            return self._not_found(generation, head)
        if target.file is None:
            bad = target.status == HTTPStatus.BAD_REQUEST
            message = "Ungültige Adresse." if bad else "Zugriff verweigert."
            return self._send(target.status, f"{message}\n".encode(), _TYPES[".txt"], head)
        self._file(target.file, generation, head)

    def _host_allowed(self) -> bool:
        """On loopback, only loopback names: a web page cannot read the preview (and its
        drafts) through a DNS name that points to 127.0.0.1 (DNS rebinding)."""
        if not is_loopback(self.server.preview.options.host):
            return True
        name = urlsplit("//" + (self.headers.get("Host") or "")).hostname
        return name is None or is_loopback(name)

    def _file(self, file: Path, generation: int, head: bool, status: int = HTTPStatus.OK) -> None:
        try:
            data = file.read_bytes()
        except OSError:  # swapped away by a build in this instant
            return self._send(HTTPStatus.NOT_FOUND, b"Nicht gefunden.\n", _TYPES[".txt"], head)
        if file.suffix == ".html":
            data = inject_reload(data, generation)
        self._send(status, data, content_type(file), head)

    def _not_found(self, generation: int, head: bool) -> None:
        page = self.server.preview.root / "404.html"
        if page.is_file():
            return self._file(page, generation, head, HTTPStatus.NOT_FOUND)
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


# ---------------------------------------------------------------------------- the preview


class Preview:
    """A running preview of the site in `source`: use as a context manager.

    Binds the port at construction (so `url` is known), builds and starts serving and
    watching on `start()`, and stops every thread on `close()`.
    """

    def __init__(self, source: Path, options: ServeOptions = ServeOptions(),
                 log: Log = _ignore) -> None:
        self.source = source
        self.options = options
        self.log = log
        self.state = BuildState()
        self.builds = 0
        """Number of builds run so far (the first one included)."""
        self._server = _Server((options.host, options.port), self)
        port = self._server.server_address[1]
        host = f"[{options.host}]" if ":" in options.host else options.host
        self.url = f"http://{host}:{port}/"
        cache_root = BuildOptions(cache_dir=options.cache_dir).cache_root(source)
        self.root = cache_root / "serve" / str(port)
        """The private output folder (per port, so two previews never share one)."""
        self._build_options = BuildOptions(drafts=options.drafts, base_url=self.url,
                                           cache_dir=options.cache_dir)
        self._debouncer = _Debouncer(self.rebuild, options.quiet_seconds, options.patience_seconds)
        self._watcher = _Watcher(source, self._debouncer.poke)
        self._http = threading.Thread(target=self._server.serve_forever, args=(0.1,),
                                      name="kpr-http", daemon=True)
        self._stopped = threading.Event()

    def start(self) -> None:
        self.rebuild()  # before any thread runs, so the first build may use worker processes
        self._debouncer.start()
        self._watcher.start()
        self._http.start()

    def rebuild(self) -> None:
        """Build into the private folder and tell every open page; never raises."""
        started = time.perf_counter()
        errors: list[SiteError] = []
        try:
            report = build_site(self.source, self.root, self._build_options)
        except BuildFailed as exc:
            errors = exc.errors
        except SiteError as exc:
            errors = [exc]
        except Exception as exc:  # a bug in the generator must not end the preview
            self.log(traceback.format_exc())
            errors = [SiteError(f"Unerwarteter Fehler im Generator: {exc!r}",
                                hint="Bitte melden Sie diesen Fehler mit der Ausgabe im Terminal.")]
        self.builds += 1
        clock = time.strftime("%H:%M:%S")
        if errors:
            text = format_errors(errors)
            self.log(f"[{clock}] Fehler – die Vorschau zeigt sie im Browser an:\n{text}\n")
            self.state.publish(text)
            return
        for warning in report.warnings:
            self.log(str(warning))
        millis = (time.perf_counter() - started) * 1000
        self.log(f"[{clock}] Aktualisiert: {report.pages} Seiten in {millis:.0f} ms.")
        self.state.publish(None)

    def wait(self) -> None:
        """Block until `close()` (the CLI waits here for Ctrl-C)."""
        while not self._stopped.wait(0.5):
            pass

    def close(self) -> None:
        if self._stopped.is_set():
            return
        self._stopped.set()
        self.state.close()
        self._watcher.stop()
        self._debouncer.stop()
        if self._http.is_alive():
            self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        if self._http.is_alive():
            self._http.join()

    def __enter__(self) -> Preview:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
