"""The editor's preview: build into memory, serve it, rebuild on save, reload the tab.

`kpr-site serve` builds the site into memory (never into the published build/), serves it
over HTTP and watches content/, templates/ and gallery/ with watchdog. A burst of file events
(an atomic save, a git checkout) becomes one rebuild once the files have been quiet for a
moment. A rebuild runs the recipe with the stage results of the last one kept in memory
(kpr_site.memory) and renders only the pages that changed; every open page then reloads
itself over a Server-Sent-Events channel. The script for that channel is added to HTML
responses while serving, never to the built pages. A failed build keeps the server running:
pages show the errors in German (the same text the terminal prints), files stay as they
were, and the next good build reloads the page again.

This is the only module that imports watchdog.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Any

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

from kpr_site.build import MemorySink, build_preview
from kpr_site.cache import CacheLayout
from kpr_site.devserver import (
    EVENTS_PATH,
    SCRIPT_PATH,
    BuildState,
    PreviewServer,
    content_type,
    is_loopback,
)
from kpr_site.errors import BuildFailed, SiteError, format_errors
from kpr_site.german import counted, number
from kpr_site.memory import Memory
from kpr_site.options import BuildOptions, build_date

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
# How long stopping waits for a running rebuild before abandoning it: short enough that
# Ctrl-C ends the preview within a second, long enough for a typical rebuild (~50 ms) to end.
ABANDON_SECONDS = 0.3


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    """0 picks a free port (tests)."""
    drafts: bool = False
    cache_dir: Path | None = None
    """Where caches and the preview's own output live; None means <source>/.cache."""
    quiet_seconds: float = 0.01
    """How long the files must be quiet before a rebuild starts. An editor's save (temp file +
    rename) takes under a millisecond; a git checkout of 500 files sent events for 30–100 ms
    with gaps of at most 14 ms (measured). 10 ms catches a save whole; a checkout split in
    several parts costs more rebuilds, each of which redoes only what changed since the last
    (the preview keeps its stage results in memory), and the last shows the end state. Save
    to reload: bench/bench_serve.py."""
    patience_seconds: float = 2.0
    """Build anyway once events have kept coming this long (e.g. a running copy)."""
    today: dt.date | None = None
    """A fixed build date (`--today`); None: decided anew for each rebuild (options.build_date),
    so a preview left running past midnight moves on with the calendar."""


def _ignore(_: str) -> None:
    pass


_TEMP_SUFFIXES = (".swp", ".swo", ".swx", ".tmp", ".temp", ".bak", ".part", ".crdownload",
                  ".kate-swp")


def is_temporary(name: str) -> bool:
    """Editor swap, backup and lock files, hidden files, and vim's write test file "4913"."""
    return (name.startswith((".", "#")) or name.endswith(("~", "#")) or name.isdigit()
            or name.lower().endswith(_TEMP_SUFFIXES))


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
        """Stop waiting for pokes. A rebuild still running after a moment is abandoned (the
        thread is a daemon, it ends with the process): Ctrl-C must not wait for a long build,
        and the next build recovers from a half-filled staging folder."""
        with self._poked:
            self._stopped = True
            self._poked.notify()
        if self._thread.is_alive():
            self._thread.join(ABANDON_SECONDS)

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
        self.host = options.host
        self._server = PreviewServer((options.host, options.port), self)
        port = self._server.server_address[1]
        host = f"[{options.host}]" if ":" in options.host else options.host
        self.url = f"http://{host}:{port}/"
        self.root = CacheLayout(BuildOptions(cache_dir=options.cache_dir).cache_root(source)).preview(port)
        """The preview's own folder for spare files (per port, so two previews never share
        one); the site itself is kept in memory (`files`)."""
        # No .gz files: the preview server sends the plain ones.
        self._build_options = BuildOptions(drafts=options.drafts, base_url=self.url,
                                           cache_dir=options.cache_dir, precompress=False)
        self._sink: MemorySink | None = None
        self._memory = Memory()
        """The stage results of the last run: a save redoes only what it affects."""
        self._debouncer = _Debouncer(self.rebuild, options.quiet_seconds, options.patience_seconds)
        self._watcher = _Watcher(source, self._debouncer.poke)
        self._http = threading.Thread(target=self._server.serve_forever, args=(0.1,),
                                      name="kpr-http", daemon=True)
        self._stopped = threading.Event()

    def start(self) -> None:
        self.rebuild()  # before any thread runs, so the first build may use worker processes
        # What the first build keeps (the model, the memory of every stage) lives as long as
        # the preview: exempt from the collector's full passes, which otherwise walk it again
        # and again (~20 ms each at 1,000 pages, often right within a save's rebuild).
        gc.collect()
        gc.freeze()
        self._debouncer.start()
        self._watcher.start()
        self._http.start()

    def rebuild(self) -> None:
        """Build into the private folder and tell every open page; never raises."""
        started = time.perf_counter()
        errors: list[SiteError] = []
        try:
            # The search index at the first build only: Pagefind reads every page (~1–2 s per
            # 1,000), which would make every save wait. Later saves keep that index.
            options = replace(self._build_options, today=build_date(self.options.today),
                              search=self.builds == 0)
            if self._sink is None:
                self._sink = MemorySink(self.source, self.root, options)
            report = build_preview(self.source, options, self._sink, self._memory)
        except BuildFailed as exc:
            errors = exc.errors
        except SiteError as exc:
            errors = [exc]
        except Exception as exc:  # a bug in the generator must not end the preview
            self.log(traceback.format_exc())
            errors = [SiteError(f"Unerwarteter Fehler im Generator ({type(exc).__name__}).",
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
        open_items = (f"; {counted(report.placeholders, 'offener', 'offene')} Platzhalter"
                      if report.placeholders else "")
        self.log(f"[{clock}] Aktualisiert: {number(report.pages)} Seiten in "
                 f"{number(millis, 0)} ms{open_items}.")
        self.state.publish(None)

    @property
    def files(self) -> Mapping[str, bytes | Path]:
        """The site as the last good run made it."""
        return self._sink.files if self._sink else {}

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
