"""The command line: the only module that prints to the user or decides the exit code.

Heavy modules (jinja2, markdown, PIL) are imported inside the commands, so `--help` is instant.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from kpr_site.errors import BuildFailed, SiteError, file_error
from kpr_site.german import counted, number

if TYPE_CHECKING:
    from kpr_site.manifest import Manifest
    from kpr_site.options import BuildOptions

__all__ = ["main"]

EXIT_OK, EXIT_CONTENT, EXIT_USAGE = 0, 1, 2


class _Formatter(argparse.HelpFormatter):
    def add_usage(self, usage: str | None, actions: Any, groups: Any,
                  prefix: str | None = None) -> None:
        super().add_usage(usage, actions, groups, "Aufruf: " if prefix is None else prefix)


class _Parser(argparse.ArgumentParser):
    """argparse in German: the editors read these help texts."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.update(add_help=False, formatter_class=_Formatter)
        super().__init__(*args, **kwargs)
        self._positionals.title = "Angaben"
        self._optionals.title = "Optionen"
        self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS,
                          help="diese Hilfe anzeigen und beenden")

    def error(self, message: str) -> NoReturn:
        message = _german(message)
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: Fehler beim Aufruf: {message}\n"
                              f"Hilfe: {self.prog} --help\n")


# argparse's own complaints, in German (its messages are not translated for German).
_ARGPARSE = (
    (r"the following arguments are required: (.+)", r"es fehlt: \1"),
    (r"argument (\S+): expected one argument", r"nach \1 fehlt ein Wert"),
    (r"argument (\S+): invalid int value: (.+)", r"\1 erwartet eine ganze Zahl, nicht \2"),
    (r"argument (\S+): invalid choice: (\S+) \(choose from (.+)\)", r"\1: \2 gibt es nicht (möglich: \3)"),
    (r"unrecognized arguments: (.+)", r"unbekannte Angaben: \1"),
)


def _german(message: str) -> str:
    for pattern, replacement in _ARGPARSE:
        german, count = re.subn(pattern, replacement, message)
        if count:
            return german
    return message


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="kpr-site", description="Website des Kommunalen Präventionsrats "
                     "des Landkreises Rostock erzeugen, prüfen und in der Vorschau ansehen.")
    parser.add_argument("--version", action="store_true", help="Version anzeigen")
    parser._positionals.title = "Befehle"
    commands = parser.add_subparsers(dest="command", parser_class=_Parser, metavar="BEFEHL")
    build = commands.add_parser("build", help="die Website erzeugen",
                                description="Erzeugt die Website aus content/, templates/ und "
                                "gallery/. Bei Fehlern bleibt die vorige Ausgabe unverändert.")
    _add_site_options(build)
    build.add_argument("--out", type=Path, help="Ausgabeordner (Standard: build/ im Quellordner)")
    build.add_argument("--drafts", action="store_true", help="Entwürfe (draft: true) mit ausgeben")
    build.add_argument("--base-url", help="abweichende Adresse der Website, z. B. für eine Vorschau")
    build.add_argument("--jobs", type=int, default=0, metavar="N",
                       help="Anzahl paralleler Prozesse (Standard: einer je Prozessorkern)")
    build.add_argument("--no-cache", action="store_true", help="Zwischenspeicher nicht verwenden")
    build.add_argument("--no-search", action="store_true",
                       help="den Suchindex nicht neu erzeugen (schneller; der letzte bleibt, "
                            "nur für lokale Builds – nie zum Veröffentlichen)")
    _add_editor_commands(commands)
    return parser


def _add_site_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", type=Path, default=Path("."),
                        help="Ordner der Website mit content/, templates/ und gallery/ "
                             "(Standard: aktueller Ordner)")
    parser.add_argument("--cache-dir", type=Path, metavar="DIR",
                        help="Ordner für Zwischenspeicher (Standard: .cache/ im Quellordner)")
    parser.add_argument("--today", type=_iso_date, metavar="JJJJ-MM-TT",
                        help="Stichtag der Website: entscheidet über kommende und vergangene "
                             "Termine, offene und abgelaufene Fristen, publish und expires "
                             "(Standard: SOURCE_DATE_EPOCH, sonst heute)")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (argparse's exits included)."""
    try:
        return _main(argv)
    except SystemExit as exc:  # --help and usage errors: argparse exits, we return
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that flushing it at exit raises no second BrokenPipeError
    (Python would print "Exception ignored …" with a traceback)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _main(argv: Sequence[str] | None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.version:
        from kpr_site import __version__
        print(f"kpr-site {__version__}")
        return EXIT_OK
    if args.command not in ("build", "serve", "new", "check"):
        parser.print_help()
        return EXIT_USAGE
    command = {"build": _build, "serve": _serve, "new": _new, "check": _check}[args.command]
    try:
        return command(parser, args)
    except BrokenPipeError:  # `kpr-site check | head`: the reader has gone; nothing to tell
        _silence_stdout()
        return EXIT_CONTENT
    except (BuildFailed, SiteError, OSError) as exc:  # the one place errors are shown
        failure = BuildFailed([file_error(exc)]) if isinstance(exc, OSError) else exc
        errors = failure.errors if isinstance(failure, BuildFailed) else [failure]
        _print_errors(errors, args.command == "build")
        return failure.exit_code  # errors know their exit code


def _build(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from kpr_site.manifest import load_manifest
    from kpr_site.options import BuildOptions, check_paths, settings_key
    from kpr_site.output import check_output_dir

    source: Path = args.source
    out: Path = args.out or source / "build"
    if not (source / "content").is_dir():
        parser.error(f"{source} enthält keinen Ordner content/ – ist das der Ordner der Website?")
    if args.jobs < 0:
        parser.error("--jobs muss 0 oder größer sein")
    try:
        check_paths(source, out)
        check_output_dir(out)
    except ValueError as exc:
        parser.error(str(exc))
    except SiteError as exc:  # a wrong --out is a usage error: exit 2, like argparse's
        parser.error(f"{exc.message} {exc.hint or ''}".strip())
    base_url = _base_url(parser, args.base_url) if args.base_url else None
    options = BuildOptions(drafts=args.drafts, base_url=base_url, jobs=args.jobs,
                           cache_dir=args.cache_dir, use_cache=not args.no_cache, search=not args.no_search,
                           progress=_image_progress(), today=_today(parser, args.today))
    # Answered from the manifest before jinja2/markdown are even imported (~0.1 s in all).
    caches = options.caches(source)
    manifest = load_manifest(caches.manifest(out))
    if options.use_cache and manifest.up_to_date(source, out, settings_key(source, out, options)):
        print(f"Nichts zu tun: {out} ist aktuell.")
        return EXIT_OK
    return _run_build(source, out, options, manifest)


def _base_url(parser: argparse.ArgumentParser, value: str) -> str:
    from kpr_site.config import normalise_base_url
    from kpr_site.fields import Invalid

    try:
        return normalise_base_url(value)
    except Invalid as exc:
        parser.error(f"--base-url: {exc.message}")


def _run_build(source: Path, out: Path, options: BuildOptions, manifest: Manifest) -> int:
    from kpr_site.build import build_site

    report = build_site(source, out, options, manifest)
    for warning in report.warnings:
        print(warning, file=sys.stderr)
    if report.images_made or report.images_cached:
        print(f"Bilder: {number(report.images_made)} neu erzeugt, {number(report.images_cached)} "
              f"aus dem Zwischenspeicher, {number(report.image_seconds, 1)} s")
    if report.search_seconds is not None:
        print(f"Suchindex: neu erzeugt, {number(report.search_seconds, 1)} s")
    print(f"Fertig: {number(report.pages)} Seiten, {number(report.files)} Dateien in {out} "
          f"({number(report.written)} geändert, {number(report.unchanged)} unverändert; "
          f"{number(report.rendered)} Seiten gerendert, {number(report.converted)} "
          f"Markdown-Texte umgewandelt) in {number(report.seconds, 2)} s.")
    if report.placeholders:
        print(f"Achtung: {counted(report.placeholders, 'offener', 'offene')} Platzhalter "
              "„[Vom Landkreis zu bestätigen …]“ auf der Website. „kpr-site check“ nennt "
              "Datei und Zeile; veröffentlicht wird erst, wenn keiner mehr offen ist.")
    return EXIT_OK


def _today(parser: argparse.ArgumentParser, given: dt.date | None) -> dt.date:
    """The build date (options.build_date); a bad SOURCE_DATE_EPOCH is a usage error."""
    from kpr_site.options import build_date

    try:
        return build_date(given)
    except ValueError as exc:
        parser.error(str(exc))


def _image_progress() -> Callable[[int, int], None] | None:
    """A progress bar on stderr for image work that takes more than a moment; in CI or when
    stderr is no terminal there is only the summary line."""
    if os.environ.get("CI") or not sys.stderr.isatty():
        return None
    started = [0.0]

    def show(done: int, total: int) -> None:
        if done == 0:
            started[0] = time.monotonic()
        if time.monotonic() - started[0] < 0.3:
            return
        filled = 30 * done // total
        sys.stderr.write(f"\rBilder: {'█' * filled}{'░' * (30 - filled)} {number(done)}/{number(total)}")
        if done == total:
            sys.stderr.write("\r\033[K")  # the summary line follows on stdout
        sys.stderr.flush()

    return show


def _print_errors(errors: Sequence[object], build: bool) -> None:
    for error in errors:
        print(error, file=sys.stderr)
    if build:
        print(f"\nDer Build ist fehlgeschlagen: {number(len(errors))} Fehler. "
              "Die bisherige Ausgabe bleibt unverändert.", file=sys.stderr)


# --- serve, new, check: the editor's commands ---------------------------------------------


def _add_editor_commands(commands: argparse._SubParsersAction[_Parser]) -> None:
    serve = commands.add_parser(
        "serve", help="Vorschau im Browser, aktualisiert sich beim Speichern",
        description="Erzeugt die Website in einen eigenen Ordner (nicht build/), zeigt sie unter "
        "http://127.0.0.1:8000/ an und erzeugt sie bei jeder gespeicherten Änderung in content/, "
        "templates/ oder gallery/ neu; offene Seiten laden sich selbst neu. Fehler erscheinen "
        "im Browser und im Terminal. Beenden mit Strg+C.")
    _add_site_options(serve)
    serve.add_argument("--port", type=int, default=8000, help="Port (Standard: 8000)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="Adresse (Standard: 127.0.0.1, nur dieser Rechner)")
    serve.add_argument("--drafts", action="store_true", help="Entwürfe (draft: true) anzeigen")

    new = commands.add_parser(
        "new", help="neue Pressemitteilung, Projekt, Seite, Termin, Arbeitsgruppe, "
        "Förderprogramm, Dokument oder Fotoalbum anlegen",
        description="Legt eine Datei mit Kopfdaten und Textgerüst an, z. B. "
        "kpr-site new press \"Titel der Meldung\". Vorhandene Dateien werden nie überschrieben. "
        "Termine, Arbeitsgruppen und Förderprogramme beginnen als Entwurf (draft: true). "
        "kpr-site new document DATEI beschreibt eine Datei aus content/documents/ in "
        "content/documents.yaml. kpr-site new album ORDNER schreibt gallery/ORDNER/album.yaml "
        "mit allen Fotos des Ordners; erneut aufgerufen ergänzt es nur neue Fotos.")
    new.add_argument("kind", choices=("press", "project", "page", "event", "group", "funding",
                                      "document", "album"), metavar="ART",
                     help="press (Pressemitteilung), project (Projekt), page (Seite), event "
                          "(Termin), group (Arbeitsgruppe), funding (Förderprogramm), document "
                          "(Dokument) oder album (Fotoalbum)")
    new.add_argument("title", metavar="TITEL",
                     help="Titel in Anführungszeichen; bei document der Dateiname in "
                          "content/documents/, bei album der Ordner in gallery/")
    new.add_argument("--date", type=_iso_date, metavar="JJJJ-MM-TT",
                     help="Datum (Standard: heute)")
    new.add_argument("--source", type=Path, default=Path("."),
                     help="Ordner der Website (Standard: aktueller Ordner)")

    check = commands.add_parser(
        "check", help="die ganze Website prüfen, ohne etwas zu veröffentlichen",
        description="Meldet alle Fehler und Warnungen auf einmal, nach Dateien geordnet, als "
        "datei:zeile: Meldung mit Hinweis. Exit 1 bei Fehlern; Warnungen allein ergeben 0, "
        "mit --strict 1.")
    _add_site_options(check)
    check.add_argument("--strict", action="store_true", help="Warnungen als Fehler werten")
    check.add_argument("--drafts", action="store_true",
                       help="Entwürfe prüfen, als würden sie veröffentlicht")


def _iso_date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"„{value}“ ist kein Datum im Format JJJJ-MM-TT, z. B. 2017-02-10") from None


def _site_source(parser: argparse.ArgumentParser, source: Path) -> Path:
    if not (source / "content").is_dir():
        parser.error(f"{source} enthält keinen Ordner content/ – ist das der Ordner der Website?")
    return source


def _serve(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from kpr_site.errors import os_reason
    from kpr_site.serve import Preview, ServeOptions, is_loopback

    source = _site_source(parser, args.source)
    if not 0 <= args.port <= 65535:
        parser.error("--port muss zwischen 0 und 65535 liegen")
    if not is_loopback(args.host):
        print(f"Achtung: Mit --host {args.host} können auch andere Rechner im Netz die Vorschau "
              "sehen – samt Entwürfen und unfertiger Texte. Nur in vertrauenswürdigen Netzen "
              "verwenden.", file=sys.stderr)
    _today(parser, args.today)  # a bad SOURCE_DATE_EPOCH: a usage error now, not at each save
    options = ServeOptions(host=args.host, port=args.port, drafts=args.drafts,
                           cache_dir=args.cache_dir, today=args.today)
    try:
        preview = Preview(source, options, log=lambda text: print(text, flush=True))
    except OSError as exc:
        print(f"Die Vorschau kann {args.host}:{args.port} nicht belegen: {os_reason(exc)}.\n"
              "  → Läuft schon eine Vorschau? Sonst wählen Sie einen anderen Port, "
              "z. B. --port 8001.", file=sys.stderr)
        return EXIT_USAGE
    # A stop from a process manager, an IDE or `kill` ends the preview as Ctrl-C does (also
    # where Ctrl-C's signal is ignored, as for a job a script started in the background).
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        with preview:
            print(f"Vorschau: {preview.url}\n  Änderungen in content/, templates/ und gallery/ "
                  "erscheinen beim Speichern im Browser. Beenden mit Strg+C.", flush=True)
            preview.wait()
    except KeyboardInterrupt:
        print("\nVorschau beendet.")
    return EXIT_OK


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _new(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from kpr_site import scaffold

    source = _site_source(parser, args.source)
    date: dt.date = args.date or dt.date.today()
    if args.kind == "album":
        album = scaffold.new_album(source, args.title, date)
    elif args.kind in ("press", "event", "funding"):
        make = {"press": scaffold.new_press, "event": scaffold.new_event,
                "funding": scaffold.new_funding}[args.kind]
        path = make(source, args.title, date)
    elif args.kind == "group":
        path = scaffold.new_group(source, args.title)
    elif args.kind == "document":
        path = scaffold.new_document(source, args.title)
    else:
        path = {"project": scaffold.new_project, "page": scaffold.new_page}[args.kind](
            source, args.title)
    if args.kind == "document":
        print(path)
        print(f"Eingetragen. Ergänzen Sie in {path.name} Titel und Beschreibung und ob die Datei "
              "barrierefrei ist (accessible).", file=sys.stderr)
        return EXIT_OK
    if args.kind != "album":
        print(path)
        print("Angelegt als Entwurf (draft: true): Die Datei erscheint nur in der Vorschau mit "
              "„kpr-site serve --drafts“ und wird nicht veröffentlicht.\n"
              "  → Öffnen Sie die Datei, schreiben Sie bei „summary“ ein bis zwei Sätze und "
              "ersetzen Sie das Textgerüst durch Ihren Text. Zum Veröffentlichen löschen Sie "
              "die Zeile „draft: true“; „kpr-site check“ zeigt, was noch fehlt.",
              file=sys.stderr)
        return EXIT_OK
    print(album.path)
    count = counted(len(album.added), "Foto", "Fotos")
    if album.created:
        print(f"{count} eingetragen. Schreiben Sie zu jedem Foto bei „alt“, was darauf zu "
              "sehen ist.", file=sys.stderr)
    elif album.added:
        print(f"{count} ergänzt: {', '.join(album.added)}.", file=sys.stderr)
    else:
        print("Alle Fotos sind schon eingetragen.", file=sys.stderr)
    return EXIT_OK


def _check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from kpr_site.check import check_site, format_findings, summary
    from kpr_site.options import BuildOptions

    source = _site_source(parser, args.source)
    result = check_site(source, BuildOptions(drafts=args.drafts, cache_dir=args.cache_dir,
                                             today=_today(parser, args.today)))
    if result.findings:
        print(format_findings(result.findings) + "\n")
        print(summary(result.findings, args.strict))
    else:
        print("Keine Probleme gefunden.")
    print(f"Geprüft: {number(result.pages)} Seiten in {number(result.seconds, 2)} s.")
    failed = result.errors or (args.strict and result.warnings)
    return EXIT_CONTENT if failed else EXIT_OK
