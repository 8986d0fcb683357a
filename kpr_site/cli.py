"""The command line: the only module that prints to the user or decides the exit code.

Heavy modules (jinja2, markdown, PIL) are imported inside the commands, so `--help` is instant.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
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
    _add_editor_commands(commands)
    return parser


def _add_site_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", type=Path, default=Path("."),
                        help="Ordner der Website mit content/, templates/ und gallery/ "
                             "(Standard: aktueller Ordner)")
    parser.add_argument("--cache-dir", type=Path, metavar="DIR",
                        help="Ordner für Zwischenspeicher (Standard: .cache/ im Quellordner)")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (argparse's exits included)."""
    try:
        return _main(argv)
    except SystemExit as exc:  # --help and usage errors: argparse exits, we return
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE


def _main(argv: Sequence[str] | None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.version:
        from kpr_site import __version__
        print(f"kpr-site {__version__}")
        return EXIT_OK
    if args.command == "build":
        return _build(parser, args)
    if args.command in ("serve", "new", "check"):
        return {"serve": _serve, "new": _new, "check": _check}[args.command](parser, args)
    parser.print_help()
    return EXIT_USAGE


def _build(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from kpr_site.errors import SiteError
    from kpr_site.manifest import load_manifest, manifest_path
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
                           cache_dir=args.cache_dir, use_cache=not args.no_cache,
                           progress=_image_progress())
    # Answered from the manifest before jinja2/markdown are even imported (~0.1 s in all).
    manifest = load_manifest(manifest_path(options.cache_root(source), out))
    if options.use_cache and manifest.up_to_date(source, out, settings_key(source, out, options)):
        print(f"Nichts zu tun: {out} ist aktuell.")
        return EXIT_OK
    return _run_build(source, out, options)


def _base_url(parser: argparse.ArgumentParser, value: str) -> str:
    from kpr_site.config import normalise_base_url
    from kpr_site.fields import Invalid

    try:
        return normalise_base_url(value)
    except Invalid as exc:
        parser.error(f"--base-url: {exc.message}")


def _run_build(source: Path, out: Path, options: BuildOptions) -> int:
    from kpr_site.build import build_site
    from kpr_site.errors import BuildFailed, SiteError

    try:
        report = build_site(source, out, options)
    except BuildFailed as exc:
        _print_errors(exc.errors)
        return EXIT_CONTENT
    except SiteError as exc:
        _print_errors([exc])
        return EXIT_CONTENT
    for warning in report.warnings:
        print(warning, file=sys.stderr)
    if report.images_made or report.images_cached:
        seconds = f"{report.image_seconds:.1f}".replace(".", ",")
        print(f"Bilder: {report.images_made} neu erzeugt, {report.images_cached} aus dem "
              f"Zwischenspeicher, {seconds} s")
    if report.search_seconds is not None:
        print(f"Suchindex: neu erzeugt, {report.search_seconds:.1f} s".replace(".", ","))
    print(f"Fertig: {report.pages} Seiten, {report.files} Dateien in {out} "
          f"({report.written} geändert, {report.unchanged} unverändert; "
          f"{report.rendered} Seiten gerendert, {report.converted} Markdown-Texte umgewandelt) "
          f"in {report.seconds:.2f} s.")
    return EXIT_OK


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
        sys.stderr.write(f"\rBilder: {'█' * filled}{'░' * (30 - filled)} {done}/{total}")
        if done == total:
            sys.stderr.write("\r\033[K")  # the summary line follows on stdout
        sys.stderr.flush()

    return show


def _print_errors(errors: Sequence[object]) -> None:
    for error in errors:
        print(error, file=sys.stderr)
    count = len(errors)
    print(f"\nDer Build ist fehlgeschlagen: {count} Fehler. "
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
        "new", help="neue Pressemitteilung, Projekt, Seite oder Fotoalbum anlegen",
        description="Legt eine Datei mit Kopfdaten und Textgerüst an, z. B. "
        "kpr-site new press \"Titel der Meldung\". Vorhandene Dateien werden nie überschrieben. "
        "kpr-site new album ORDNER schreibt gallery/ORDNER/album.yaml mit allen Fotos des "
        "Ordners; erneut aufgerufen ergänzt es nur neue Fotos.")
    new.add_argument("kind", choices=("press", "project", "page", "album"), metavar="ART",
                     help="press (Pressemitteilung), project (Projekt), page (Seite) "
                          "oder album (Fotoalbum)")
    new.add_argument("title", metavar="TITEL",
                     help="Titel in Anführungszeichen; bei album der Ordner in gallery/")
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
    from kpr_site.serve import Preview, ServeOptions, is_loopback

    source = _site_source(parser, args.source)
    if not 0 <= args.port <= 65535:
        parser.error("--port muss zwischen 0 und 65535 liegen")
    if not is_loopback(args.host):
        print(f"Achtung: Mit --host {args.host} können auch andere Rechner im Netz die Vorschau "
              "sehen – samt Entwürfen und unfertiger Texte. Nur in vertrauenswürdigen Netzen "
              "verwenden.", file=sys.stderr)
    options = ServeOptions(host=args.host, port=args.port, drafts=args.drafts,
                           cache_dir=args.cache_dir)
    try:
        preview = Preview(source, options, log=lambda text: print(text, flush=True))
    except OSError as exc:
        print(f"Die Vorschau kann {args.host}:{args.port} nicht belegen ({exc.strerror}).\n"
              "  → Läuft schon eine Vorschau? Sonst wählen Sie einen anderen Port, "
              "z. B. --port 8001.", file=sys.stderr)
        return EXIT_USAGE
    try:
        with preview:
            print(f"Vorschau: {preview.url}\n  Änderungen in content/, templates/ und gallery/ "
                  "erscheinen beim Speichern im Browser. Beenden mit Strg+C.", flush=True)
            preview.wait()
    except KeyboardInterrupt:
        print("\nVorschau beendet.")
    return EXIT_OK


def _new(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from kpr_site import scaffold
    from kpr_site.errors import SiteError

    source = _site_source(parser, args.source)
    date: dt.date = args.date or dt.date.today()
    try:
        if args.kind == "album":
            album = scaffold.new_album(source, args.title, date)
        elif args.kind == "press":
            path = scaffold.new_press(source, args.title, date)
        else:
            path = {"project": scaffold.new_project, "page": scaffold.new_page}[args.kind](
                source, args.title)
    except SiteError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONTENT
    if args.kind != "album":
        print(path)
        print("Angelegt. Öffnen Sie die Datei, ersetzen Sie Titel und Text und prüfen Sie das "
              "Ergebnis mit kpr-site serve.", file=sys.stderr)
        return EXIT_OK
    print(album.path)
    count = f"{len(album.added)} Foto" + ("" if len(album.added) == 1 else "s")
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
    result = check_site(source, BuildOptions(drafts=args.drafts, cache_dir=args.cache_dir))
    seconds = f"{result.seconds:.2f}".replace(".", ",")
    if result.findings:
        print(format_findings(result.findings) + "\n")
        print(summary(result.findings, args.strict))
    else:
        print("Keine Probleme gefunden.")
    print(f"Geprüft: {result.pages} Seiten in {seconds} s.")
    failed = result.errors or (args.strict and result.warnings)
    return EXIT_CONTENT if failed else EXIT_OK
