"""Odd files, YAML resource bombs and template errors: a German message naming the file (odd
characters shown escaped) and line, exit 1, no traceback, build/ untouched, no debris.

Each case starts from a site that built fine, adds one odd thing, and runs `build` and `check`.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import REPO, SITE_YAML, press, tree_digest

from kpr_site.cli import main
from kpr_site.errors import SiteError
from kpr_site.frontmatter import MAX_BYTES, MAX_DEPTH, parse_yaml
from kpr_site.serve import Preview, ServeOptions

P = "content/press/2017-02-10-neu.md"
G = "content/pages/seite.md"
M = "content/members.yaml"
MEMBERS = "- name: Anja Kerl\n  role: Vorsitzende\n  sector: Verwaltung\n"
MEMBERS_KEY = "members:\n  - name: Anja Kerl\n    sector: Verwaltung\n"


@pytest.fixture(scope="module")
def _built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("good") / "site"
    shutil.copytree(REPO / "templates", root / "templates")
    for name, text in {"content/site.yaml": SITE_YAML, P: press(title="Neu"),
                       G: "---\ntitle: Seite\n---\nText.\n", M: MEMBERS}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    (root / "gallery").mkdir()
    assert main(["build", "--source", str(root), "--out", str(root / "build")]) == 0
    return root


@dataclass
class Site:
    root: Path
    before: dict[str, str]
    """Digest of build/ after the good build."""
    listing: list[str]
    """The entries beside build/ after the good build: a failed build must add none."""

    def unchanged(self) -> bool:
        return (tree_digest(self.root / "build") == self.before
                and sorted(os.listdir(self.root)) == self.listing)


@pytest.fixture
def site(_built: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Site:
    capsys.readouterr()
    root = tmp_path / "site"
    shutil.copytree(_built, root, symlinks=True)
    return Site(root, tree_digest(root / "build"), sorted(os.listdir(root)))


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def build(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> tuple[int, str, str]:
    return run(capsys, "build", "--source", str(root), "--out", str(root / "build"), *args)


def assert_reported(text: str, where: str, message: str) -> None:
    assert f"\n{where}: {message}" in f"\n{text}", text
    assert "Traceback" not in text
    # Nothing the terminal would interpret: every character printable (or a line break).
    assert all(char.isprintable() or char == "\n" for char in text), ascii(text)


# --- odd files ------------------------------------------------------------------------------

Maker = Callable[[Path], None]


def file_named(name: bytes | str) -> Maker:
    def make(root: Path) -> None:
        path = os.path.join(os.fsencode(root), os.fsencode(name))
        with open(path, "wb") as handle:
            handle.write(press("2017-01-01", title="Seltsam").encode())
    return make


def symlink(name: str, target: str) -> Maker:
    return lambda root: os.symlink(target, root / name)


def fifo(name: str) -> Maker:
    return lambda root: os.mkfifo(root / name)


def unix_socket(name: str) -> Maker:
    def make(root: Path) -> None:
        # A relative name: socket paths may hold only ~108 bytes, tmp_path can be longer.
        here = os.getcwd()
        os.chdir((root / name).parent)
        try:
            sock = socket.socket(socket.AF_UNIX)
            sock.bind((root / name).name)
            sock.close()
        finally:
            os.chdir(here)
    return make


def folder(name: str) -> Maker:
    return lambda root: (root / name).mkdir()


@dataclass(frozen=True)
class Odd:
    make: Maker
    where: str
    message: str


ODD: dict[str, Odd] = {
    "name not UTF-8": Odd(
        file_named(b"content/press/2017-01-01-a\xff.md"), "content/press/2017-01-01-a\\xff.md",
        "Der Dateiname ist nicht in UTF-8 kodiert (das Byte \\xff ist kein gültiges Zeichen)."),
    "bidi override in name": Odd(
        file_named("content/press/2017-01-01-b\u202egpj.md"),
        "content/press/2017-01-01-b\\u202egpj.md",
        "Der Dateiname enthält unsichtbare Steuer- oder Formatzeichen (U+202E)"),
    "zero-width space in name": Odd(
        file_named("content/pages/kon\u200btakt.md"), "content/pages/kon\\u200btakt.md",
        "Der Dateiname enthält unsichtbare Steuer- oder Formatzeichen (U+200B)"),
    "control character in name": Odd(
        file_named("content/pages/zeile\numbruch.md"), "content/pages/zeile\\x0aumbruch.md",
        "Der Dateiname enthält unsichtbare Steuer- oder Formatzeichen (U+000A)"),
    "bidi override in a template name": Odd(
        file_named("templates/teil\u202e.html"), "templates/teil\\u202e.html",
        "Der Dateiname enthält unsichtbare Steuer- oder Formatzeichen (U+202E)"),
    "bidi override in a static file name": Odd(
        file_named("templates/static/bild\u202egnp.svg"), "templates/static/bild\\u202egnp.svg",
        "Der Dateiname enthält unsichtbare Steuer- oder Formatzeichen (U+202E)"),
    "invisible character in an album folder": Odd(
        folder("gallery/a\u200bb"), "gallery/a\\u200bb/",
        "Der Ordnername enthält unsichtbare Steuer- oder Formatzeichen (U+200B)"),
    "dangling symlink": Odd(
        symlink(G.replace("seite", "weg"), "fehlt.md"), "content/pages/weg.md",
        "Die Datei ist ein Verweis (Symlink) auf etwas, das es nicht gibt."),
    "symlink loop to the folder above": Odd(
        symlink("content/pages/schleife", "."), "content/pages/schleife/",
        "Der Ordner ist ein Verweis (Symlink) auf einen Ordner, in dem er selbst liegt."),
    "named pipe": Odd(
        fifo("content/pages/pipe.md"), "content/pages/pipe.md",
        "Das ist keine gewöhnliche Datei, sondern eine benannte Pipe (FIFO)."),
    "named pipe as members.yaml": Odd(
        lambda root: ((root / M).unlink(), os.mkfifo(root / M)), M,
        "Das ist keine gewöhnliche Datei, sondern eine benannte Pipe (FIFO)."),
    "named pipe as a template": Odd(
        fifo("templates/teil.html"), "templates/teil.html",
        "Das ist keine gewöhnliche Datei, sondern eine benannte Pipe (FIFO)."),
    "named pipe as album.yaml": Odd(
        lambda root: ((root / "gallery/sitzung").mkdir(), os.mkfifo(root / "gallery/sitzung/album.yaml")),
        "gallery/sitzung/album.yaml",
        "Das ist keine gewöhnliche Datei, sondern eine benannte Pipe (FIFO)."),
    "socket": Odd(
        unix_socket("content/press/sock.md"), "content/press/sock.md",
        "Das ist keine gewöhnliche Datei, sondern ein Socket."),
    "folder named like a file": Odd(
        folder("content/press/2017-01-01-x.md"), "content/press/2017-01-01-x.md/",
        "„2017-01-01-x.md“ ist ein Ordner, keine Datei."),
}


@pytest.mark.parametrize("case", ODD.values(), ids=ODD.keys())
def test_odd_file_is_named_escaped_and_build_stays(site, capsys, case):
    case.make(site.root)
    code, out, err = build(capsys, site.root)
    assert (code, out) == (1, ""), err
    assert_reported(err, case.where, case.message)
    assert "Der Build ist fehlgeschlagen: 1 Fehler." in err
    assert site.unchanged()


@pytest.mark.parametrize("case", ODD.values(), ids=ODD.keys())
def test_check_names_the_odd_file_escaped(site, capsys, case):
    case.make(site.root)
    code, out, err = run(capsys, "check", "--source", str(site.root))
    assert code == 1, out + err
    assert_reported(out, case.where, case.message)
    assert "1 Fehler, 0 Warnungen" in out


@pytest.mark.parametrize("case", [ODD["dangling symlink"], ODD["named pipe"]],
                         ids=["dangling symlink", "named pipe"])
def test_odd_file_after_a_good_build_is_not_answered_from_the_manifest(site, capsys, case):
    assert build(capsys, site.root)[0] == 0  # the copy lives elsewhere: one build to record it
    assert build(capsys, site.root)[1].startswith("Nichts zu tun")
    case.make(site.root)
    code, _, err = build(capsys, site.root)
    assert code == 1
    assert_reported(err, case.where, case.message)


def test_hidden_odd_entries_are_ignored_and_never_opened(site, capsys):
    # Emacs marks a file being edited with a dangling symlink ".#name"; a hidden pipe
    # would block whoever reads it.
    os.symlink("erika@rechner.4711:1700000000", site.root / "content/pages/.#seite.md")
    os.mkfifo(site.root / "content/.pipe")
    code, _, err = build(capsys, site.root)
    assert code == 0, err
    assert err == ""
    assert build(capsys, site.root)[1].startswith("Nichts zu tun")


def test_odd_photo_name_is_reported_and_not_published(site, capsys):
    from PIL import Image

    album = site.root / "gallery/sitzung"
    album.mkdir(parents=True)
    Image.new("RGB", (40, 30), "teal").save(album / "foto.jpg")
    (album / "foto\u202egpj.jpg").write_bytes((album / "foto.jpg").read_bytes())
    (album / "album.yaml").write_text("title: Sitzung\ndate: 2017-02-10\nphotos:\n"
                                      "  - file: foto.jpg\n    alt: Ein Foto.\n", encoding="utf-8")
    code, _, err = build(capsys, site.root)
    assert code == 1
    assert_reported(err, "gallery/sitzung/foto\\u202egpj.jpg", "Der Dateiname enthält")
    assert "1 Fehler." in err  # not also "not listed in album.yaml"
    (album / "foto\u202egpj.jpg").unlink()
    assert build(capsys, site.root)[0] == 0


# --- YAML resource bombs --------------------------------------------------------------------


def laughs(levels: int = 9, width: int = 9) -> str:
    """The "billion laughs": each level lists the one before `width` times."""
    lines = ['lol0: &lol0 ["lol"]']
    for level in range(1, levels + 1):
        lines.append(f"lol{level}: &lol{level} [" + ", ".join([f"*lol{level - 1}"] * width) + "]")
    return "\n".join(lines) + "\n" + MEMBERS_KEY


def nested(depth: int) -> str:
    return "tags: " + "[" * depth + "x" + "]" * depth


BOMBS = {
    "alias expansion": (M, laughs(), f"{M}:7",
                        "Die YAML-Angaben sind zu umfangreich: Mit ihren Verweisen („*name“) "
                        "aufgelöst ergäben sie über 2.000.000 Zeichen."),
    "alias inside itself": (M, "a: &a [*a]\n" + MEMBERS_KEY, f"{M}:1",
                            "Ein Verweis („*name“) steht innerhalb der Angabe, auf die er "
                            "verweist; aufgelöst wäre sie endlos."),
    "deep nesting": (P, f"---\ntitle: Neu\ndate: 2017-02-10\n{nested(60)}\n---\n", f"{P}:4",
                     f"Die YAML-Angaben sind zu tief verschachtelt (mehr als {MAX_DEPTH} Ebenen)."),
    "deep block nesting": (M, "".join(f"{'  ' * i}- \n" for i in range(80)), f"{M}:51",
                           "Die YAML-Angaben sind zu tief verschachtelt"),
    "nesting past libyaml's limit": (P, f"---\ntitle: Neu\n{nested(5000)}\n---\n", f"{P}:3",
                                     "Die YAML-Angaben sind fehlerhaft: die Angaben sind zu "
                                     "tief verschachtelt."),
}


@pytest.mark.parametrize(("file", "text", "where", "message"), BOMBS.values(), ids=BOMBS.keys())
def test_yaml_bomb_is_refused_quickly_with_file_and_line(site, capsys, file, text, where, message):
    (site.root / file).write_text(text, encoding="utf-8")
    started = time.perf_counter()
    code, _, err = build(capsys, site.root)
    assert time.perf_counter() - started < 5  # the whole build; the bomb alone hung it
    assert code == 1
    assert_reported(err, where, message)
    assert site.unchanged()


@pytest.mark.parametrize("text", [laughs(), laughs(5, 400), nested(900), "a: &a [*a]"],
                         ids=["9 levels of 9", "5 levels of 400", "900 deep", "cycle"])
def test_yaml_bomb_is_refused_in_well_under_a_second(text):
    started = time.perf_counter()
    with pytest.raises(SiteError):
        parse_yaml(text, M)
    assert time.perf_counter() - started < 0.5


def test_aliases_within_the_budget_still_work(site, capsys):
    (site.root / M).write_text(
        "members:\n  - &kerl\n    name: Anja Kerl\n    sector: Verwaltung\n  - *kerl\n",
        encoding="utf-8")
    code, _, err = build(capsys, site.root)
    assert code == 0, err


@pytest.mark.parametrize("file", [M, P])
def test_oversize_file_is_refused_before_parsing(site, capsys, file):
    line = "- name: Anja Kerl\n  sector: Verwaltung\n" if file == M else "Ein Satz im Text.\n"
    prefix = "" if file == M else "---\ntitle: Neu\ndate: 2017-02-10\n---\n"
    data = (prefix + line * (50 * 1024 * 1024 // len(line))).encode()
    (site.root / file).write_bytes(data)
    started = time.perf_counter()
    code, _, err = build(capsys, site.root)
    assert time.perf_counter() - started < 5
    assert code == 1
    crossing = data.count(b"\n", 0, MAX_BYTES) + 1
    assert_reported(err, f"{file}:{crossing}",
                    "Die Datei ist zu groß (50,0 MB; erlaubt ist höchstens 1,0 MB).")
    assert site.unchanged()


# --- template and asset errors --------------------------------------------------------------


def break_template(root: Path, name: str, old: str, new: str) -> int:
    """Replace `old` in a template; return the line of the change."""
    path = root / "templates" / name
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return text[: text.index(old)].count("\n") + 1


@pytest.mark.parametrize("relative", [True, False], ids=["relative --source", "absolute --source"])
@pytest.mark.parametrize("command", ["build", "check"])
def test_template_error_names_the_real_file_and_line(site, capsys, monkeypatch, relative, command):
    line = break_template(site.root, "page.html", "{{ title }}", "{{ titel }}")
    monkeypatch.chdir(site.root.parent)
    source = "site" if relative else str(site.root)
    args = ["--out", "site/build"] if command == "build" else []
    code, out, err = run(capsys, command, "--source", source, *args)
    assert code == 1
    assert_reported(err if command == "build" else out, f"templates/page.html:{line}",
                    "Fehler in der Vorlage beim Erzeugen von /seite/")
    assert "templates/templates" not in out + err
    assert site.unchanged()


@pytest.mark.parametrize("relative", [True, False], ids=["relative --source", "absolute --source"])
def test_template_syntax_error_names_the_real_file_and_line(site, capsys, monkeypatch, relative):
    line = break_template(site.root, "base.html", "{{ site.title }}", "{{ site.title }")
    monkeypatch.chdir(site.root.parent)
    code, _, err = build(capsys, Path("site") if relative else site.root)
    assert code == 1
    assert_reported(err, f"templates/base.html:{line}", "Syntaxfehler in der Vorlage")
    assert site.unchanged()


def test_template_error_in_the_preview_names_the_real_file_and_line(site, monkeypatch):
    line = break_template(site.root, "page.html", "{{ title }}", "{{ titel }}")
    monkeypatch.chdir(site.root.parent)
    with Preview(Path("site"), ServeOptions(port=0, cache_dir=site.root / "cache")) as preview:
        _, error = preview.state.snapshot()
    assert error is not None
    assert_reported(error, f"templates/page.html:{line}", "Fehler in der Vorlage")


@pytest.mark.parametrize("command", ["build", "check"])
def test_missing_static_file_names_the_template_line_that_uses_it(site, capsys, command):
    (site.root / "templates/static/site.css").unlink()
    line = next(number for number, text in enumerate(
        (site.root / "templates/base.html").read_text(encoding="utf-8").splitlines(), 1)
        if "asset('site.css')" in text)
    code, out, err = (build(capsys, site.root) if command == "build"
                      else run(capsys, "check", "--source", str(site.root)))
    assert code == 1
    text = err if command == "build" else out
    assert_reported(text, f"templates/base.html:{line}",
                    "Die statische Datei „site.css“ gibt es nicht in templates/static/.")
    assert "→ Legen Sie die Datei in templates/static/ an" in text


def test_missing_included_template_names_the_line_that_includes_it(site, capsys):
    line = break_template(site.root, "page.html", "{{ title }}", '{% include "teil.html" %}')
    code, _, err = build(capsys, site.root)
    assert code == 1
    assert_reported(err, f"templates/page.html:{line}", "Die Vorlage „teil.html“ fehlt")


def test_failed_template_build_leaves_no_staging_folder(site, capsys):
    # A second good build keeps the build before as a double buffer (.build.next); a
    # failed build removes its staging folder, whether it was new or that buffer.
    (site.root / G).write_text("---\ntitle: Seite\n---\nNeuer Text.\n", encoding="utf-8")
    assert build(capsys, site.root)[0] == 0
    site.before, site.listing = tree_digest(site.root / "build"), sorted(os.listdir(site.root))
    site.listing.remove(".build.next")
    break_template(site.root, "page.html", "{{ title }}", "{{ titel }}")
    assert build(capsys, site.root)[0] == 1
    assert site.unchanged()
