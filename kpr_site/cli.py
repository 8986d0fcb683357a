"""The command line: the only module that prints to the user or decides the exit code.

Heavy modules (jinja2, markdown, PIL) are imported inside the commands, so `--help` is instant.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from kpr_site.options import BuildOptions

__all__ = ["main"]

EXIT_OK, EXIT_CONTENT, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: Fehler beim Aufruf: {message}\n"
                              f"Hilfe: {self.prog} --help\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="kpr-site", description="Website des Kommunalen Präventionsrats "
                     "des Landkreises Rostock erzeugen, prüfen und in der Vorschau ansehen.")
    parser.add_argument("--version", action="store_true", help="Version anzeigen")
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
    return parser


def _add_site_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", type=Path, default=Path("."),
                        help="Ordner der Website mit content/, templates/ und gallery/ "
                             "(Standard: aktueller Ordner)")
    parser.add_argument("--cache-dir", type=Path, metavar="DIR",
                        help="Ordner für Zwischenspeicher (Standard: .cache/ im Quellordner)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.version:
        from kpr_site import __version__
        print(f"kpr-site {__version__}")
        return EXIT_OK
    if args.command == "build":
        return _build(parser, args)
    parser.print_help()
    return EXIT_USAGE


def _build(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from kpr_site.manifest import load_manifest, manifest_path
    from kpr_site.options import BuildOptions, check_paths, settings_key

    source: Path = args.source
    out: Path = args.out or source / "build"
    if not (source / "content").is_dir():
        parser.error(f"{source} enthält keinen Ordner content/ – ist das der Ordner der Website?")
    if args.jobs < 0:
        parser.error("--jobs muss 0 oder größer sein")
    try:
        check_paths(source, out)
    except ValueError as exc:
        parser.error(str(exc))
    base_url = _base_url(parser, args.base_url) if args.base_url else None
    options = BuildOptions(drafts=args.drafts, base_url=base_url, jobs=args.jobs,
                           cache_dir=args.cache_dir, use_cache=not args.no_cache)
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
    print(f"Fertig: {report.pages} Seiten, {report.files} Dateien in {out} "
          f"({report.written} geändert, {report.unchanged} unverändert; "
          f"{report.rendered} Seiten gerendert, {report.converted} Markdown-Texte umgewandelt) "
          f"in {report.seconds:.2f} s.")
    return EXIT_OK


def _print_errors(errors: Sequence[object]) -> None:
    for error in errors:
        print(error, file=sys.stderr)
    count = len(errors)
    print(f"\nDer Build ist fehlgeschlagen: {count} Fehler. "
          "Die bisherige Ausgabe bleibt unverändert.", file=sys.stderr)
