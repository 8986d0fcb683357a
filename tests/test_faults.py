"""Faults: a damaged cache never crashes a build or reaches the output, and a full, read-only
or otherwise failing disk is a German error naming the path, never a traceback — with the
previous output untouched and nothing left behind."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import REPO, SITE_YAML, MakeSite, press, tree_digest
from PIL import Image

from kpr_site.build import build_site
from kpr_site.cache import seal, unseal
from kpr_site.cli import main
from kpr_site.options import BuildOptions

# The warm site and the clean build make the search index; so do the builds under test.
pytestmark = pytest.mark.search_index

Build = Callable[..., tuple[int, str, str]]


def photo(colour: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (500, 300), colour).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


ALBUM = """\
title: Sitzung
date: 2017-02-10
photos:
  - file: a.jpg
    alt: Ein Foto.
"""


@pytest.fixture(scope="module")
def warm(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A small site with every kind of cache entry, built once (its .cache/ is warm), kept
    as a pristine copy, and the digest of a clean build without cache."""
    root = tmp_path_factory.mktemp("warm") / "site"
    shutil.copytree(REPO / "templates", root / "templates")
    files = {
        "content/site.yaml": SITE_YAML,
        "content/press/2017-02-10-start.md": press(body="Erster **Text** mit [Link](../pages/info.md)."),
        "content/press/2017-03-01-zwei.md": press("2017-03-01", "Zwei", "Noch ein Text."),
        "content/pages/info.md": "---\ntitle: Info\n---\nDie Info.\n",
        "gallery/sitzung/album.yaml": ALBUM,
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    (root / "gallery/sitzung/a.jpg").write_bytes(photo("teal"))
    # Three builds, a text edited before each of the last two: the converted Markdown then
    # sits in three packs, so each can be swapped for another.
    edited = ("content/pages/info.md", "content/press/2017-03-01-zwei.md")
    for name in edited:
        (root / name).write_text(files[name].replace("\n---\n", "\n---\nVorläufig. "),
                                 encoding="utf-8")
    build_site(root, root / "build", BuildOptions(jobs=1))
    for name in edited:
        (root / name).write_text(files[name], encoding="utf-8")
        build_site(root, root / "build", BuildOptions(jobs=1))
    shutil.copytree(root, root.parent / "pristine", symlinks=True)
    build_site(root, root.parent / "clean", BuildOptions(jobs=1, use_cache=False))
    return root, tree_digest(root.parent / "clean")


@pytest.fixture
def site(warm: tuple[Path, dict[str, str]]) -> Path:
    """The warm site as it was built, at the path it was built at (the manifest and the
    compiled templates are kept per path): restored from the pristine copy for each test."""
    root = warm[0]
    shutil.rmtree(root)
    shutil.copytree(root.parent / "pristine", root, symlinks=True)
    return root


def cache_files(root: Path, kind: str) -> list[Path]:
    cache = root / ".cache"
    found = {
        "manifest": (cache / "builds").glob("*.json"),
        "frontmatter": [cache / "frontmatter.json"],
        "bodies": [cache / "bodies.json"],
        "markdown": (cache / "markdown").rglob("*.json"),
        "image-index": (cache / "images" / "index").rglob("*.json"),
        "derivatives": (f for f in (cache / "images").glob("??/*") if f.suffix in (".jpg", ".webp")),
        "checksums": (cache / "images").glob("??/*.sha256"),
        "jinja": (cache / "jinja").glob("*.code"),
    }[kind]
    files = sorted(found)
    assert files, f"no {kind} files in the cache"
    return files


def damage(file: Path, how: str, others: list[Path]) -> None:
    data = file.read_bytes()
    if how == "truncated":
        file.write_bytes(data[: len(data) // 2])
    elif how == "garbage":
        file.write_bytes(bytes(range(256)) * 4)
    elif how == "flipped":  # in place, mtime kept: only the content hash can tell
        stat = file.stat()
        middle = len(data) * 2 // 3
        file.write_bytes(data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1:])
        os.utime(file, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    elif how == "swapped":  # another valid entry of the same kind
        other = next(o for o in others if o.read_bytes() != data)
        file.write_bytes(other.read_bytes())
    elif how == "directory":
        file.unlink()
        (file / "drin").mkdir(parents=True)
    elif how == "wrong-types":  # sealed and of this version: only the shape check can tell
        file.write_bytes(seal(json.dumps(wrong_types(json.loads(unseal(data)))).encode()))
    else:
        raise AssertionError(how)


def wrong_types(data: object) -> object:
    """The same entry with values of the wrong type where this kind of file has its values."""
    if isinstance(data, dict) and "entries" in data:  # frontmatter.json, bodies.json
        return {**data, "entries": {key: [42] for key in data["entries"]}}
    if isinstance(data, dict) and "key" in data:  # one entry of the Markdown or image index
        return {**data, "value": [42]}
    if isinstance(data, dict) and "format" in data:  # the manifest
        return {**data, "inputs": {"content/x.md": "nicht drei Werte"}}
    return [data]  # the checksums of a photo's derivatives


CASES = [
    *((kind, how) for kind in ("manifest", "frontmatter", "bodies", "markdown", "image-index",
                               "derivatives", "checksums", "jinja")
      for how in ("truncated", "flipped", "directory")),
    *((kind, "garbage") for kind in ("frontmatter", "derivatives", "jinja")),
    ("derivatives", "swapped"),  # a different valid JPEG
    ("markdown", "swapped"),
    ("jinja", "swapped"),
    *((kind, "wrong-types") for kind in ("manifest", "frontmatter", "bodies", "markdown",
                                         "image-index", "checksums")),
]


@pytest.mark.parametrize(("kind", "how"), CASES, ids=[f"{k}-{h}" for k, h in CASES])
def test_damaged_cache_is_recomputed_with_one_warning_and_output_equals_clean_build(
    warm: tuple[Path, dict[str, str]], site: Path, build: Build, kind: str, how: str
) -> None:
    files = cache_files(site, kind)
    for file in files:
        damage(file, how, files)
    shutil.rmtree(site / "build")  # every page is rendered again: every cache entry is read
    code, _out, err = build(site, "--jobs", "1")
    assert code == 0, err
    assert tree_digest(site / "build") == warm[1]
    assert err.count("Warnung") == 1, err
    assert f"{site / '.cache'}: Warnung: Der Zwischenspeicher war beschädigt" in err


def test_damaged_cache_is_repaired_so_the_next_build_is_quiet(site: Path, build: Build) -> None:
    for kind in ("frontmatter", "markdown", "derivatives", "jinja"):
        files = cache_files(site, kind)
        for file in files:
            damage(file, "wrong-types" if kind in ("frontmatter", "markdown") else "flipped", files)
    shutil.rmtree(site / "build")
    assert build(site)[0] == 0
    shutil.rmtree(site / "build")
    code, _out, err = build(site)
    assert (code, err) == (0, "")


def test_damaged_derivative_is_never_published_even_when_linked_from_the_last_build(
    warm: tuple[Path, dict[str, str]], site: Path, build: Build
) -> None:
    # The published files are hard links into the cache: damaging one damages both.
    for file in cache_files(site, "derivatives"):
        damage(file, "flipped", [])
    (site / "content/press/2017-03-01-zwei.md").write_text(press("2017-03-01", "Zwei", "Neu."))
    code, _out, err = build(site)
    assert code == 0 and err.count("Warnung") == 1
    published = tree_digest(site / "build")
    assert {k: v for k, v in published.items() if k.startswith("bilder/")} == {
        k: v for k, v in warm[1].items() if k.startswith("bilder/")}


# ---------- faults of the disk, without a mount ----------


def test_manifest_that_cannot_be_saved_after_the_swap_does_not_fail_the_build(
    site: Path, build: Build
) -> None:
    shutil.rmtree(site / ".cache" / "builds")
    (site / ".cache" / "builds").write_text("eine Datei, wo ein Ordner hingehört")
    (site / "content/press/2017-03-01-zwei.md").write_text(press("2017-03-01", "Zwei", "Neu!"))
    code, out, err = build(site)
    assert code == 0 and "Fertig" in out
    assert err.count("Warnung") == 1  # the manifest could not be read either
    assert "Neu!" in (site / "build/presse/2017/zwei/index.html").read_text()


def test_output_below_a_file_is_an_error_naming_the_folder(site: Path, build: Build) -> None:
    (site / "datei").write_text("kein Ordner")
    code, _out, err = build(site, out=site / "datei" / "build")
    assert code == 1
    assert f"{site / 'datei' / 'build'}: Hier liegt eine Datei, wo ein Ordner hingehört." in err
    assert "Traceback" not in err and "Errno" not in err


def test_unwritable_output_file_fails_the_build_and_removes_the_staging_folder(
    site: Path, build: Build, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from kpr_site import output

    before = tree_digest(site / "build")
    real_open = open

    def failing_open(file: object, mode: str = "r", *args: object, **kwargs: object) -> object:
        if ".build.next" in str(file) and "w" in mode:
            raise OSError(errno.ENOSPC, "No space left on device", str(file))
        return real_open(file, mode, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(output, "open", failing_open, raising=False)
    (site / "content/site.yaml").write_text(
        (site / "content/site.yaml").read_text().replace("Testrat", "Neuer Rat"))
    code, _out, err = build(site, "--jobs", "1")
    assert code == 1
    assert f"{site / 'build'}/" in err and "kein Speicherplatz mehr frei" in err
    assert "Geben Sie Speicherplatz frei" in err and ".tmp-" not in err
    assert tree_digest(site / "build") == before
    assert sorted(p.name for p in site.iterdir() if p.name.startswith(".build")) == [".build.lock"]


def test_file_system_fault_outside_a_build_is_shown_the_same_way(
    make_site: MakeSite, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_site({"content/pages": "eine Datei, wo der Ordner der Seiten hingehört"})
    code = main(["new", "page", "Kontakt", "--source", str(root)])
    err = capsys.readouterr().err
    assert code == 1
    assert f"{root / 'content' / 'pages'}: Hier liegt eine Datei, wo ein Ordner hingehört." in err
    assert "Traceback" not in err and "Errno" not in err


# ---------- a real full or read-only file system (tmpfs in a private mount namespace) ----------

# Runs inside `unshare -m`: mounts a tmpfs, then carries out the steps it is given and prints
# what it saw as JSON, one result per step. Steps: ["build", args...], ["fill"], ["unfill"], ["readonly"],
# ["write", path, text], ["copy", source, target], ["digest", folder], ["list", folder].
_IN_NAMESPACE = r"""
import contextlib, errno, hashlib, io, json, os, shutil, subprocess, sys
from pathlib import Path
from kpr_site.cli import main

mount, size, steps = Path(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)], check=True)
results = []
for step in steps:
    if step[0] == "build":
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = main(["build", *step[1:]])
        results.append([code, err.getvalue()])
    elif step[0] == "fill":
        with open(mount / "fill", "wb", buffering=0) as handle:
            with contextlib.suppress(OSError):
                while True:
                    handle.write(b"\0" * 4096)
        results.append(os.statvfs(mount).f_bavail)
    elif step[0] == "unfill":
        results.append(os.unlink(mount / "fill"))
    elif step[0] == "readonly":
        results.append(subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True).returncode)
    elif step[0] == "write":
        results.append(Path(step[1]).write_text(step[2], encoding="utf-8"))
    elif step[0] == "copy":
        results.append(str(shutil.copyfile(step[1], step[2])))
    elif step[0] == "digest":
        folder = Path(step[1])
        results.append({p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                        for p in sorted(folder.rglob("*")) if p.is_file()})
    elif step[0] == "list":
        results.append(sorted(p.name for p in Path(step[1]).iterdir()))
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def namespace() -> Callable[[Path, str, list[list[str]]], list[object]]:
    """Run steps against a tiny tmpfs of our own; skips where the machine does not allow it."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("braucht root und unshare(1) für ein tmpfs in einem privaten "
                    "Mount-Namensraum / needs root and unshare -m to mount a tiny tmpfs")
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
                           capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip("mount in einem privaten Mount-Namensraum ist hier nicht erlaubt / "
                    f"mount in a private mount namespace is not allowed here: {probe.stderr!r}")

    def run(mount: Path, size: str, steps: list[list[str]]) -> list[object]:
        mount.mkdir(exist_ok=True)
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        done = subprocess.run(
            ["unshare", "-m", sys.executable, "-c", _IN_NAMESPACE, str(mount), size,
             json.dumps(steps)], capture_output=True, text=True, env=env, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        result: list[object] = json.loads(done.stdout)
        return result

    return run


def _without_search(digests: object) -> dict[str, str]:
    """A build's files without its search index: Pagefind 1.5.2 writes its index in the order the
    file system lists the pages, and the tmpfs of these tests lists them in another order than
    the disk of the clean build (same file system: byte-identical, see tests/test_search.py)."""
    assert isinstance(digests, dict)
    return {name: sha for name, sha in digests.items() if not name.startswith("pagefind/")}


def _retitled(site: Path) -> str:
    return (site / "content/site.yaml").read_text().replace("Testrat", "Neuer Rat")


def test_full_disk_under_output_and_cache_is_an_error_and_the_next_build_recovers(
    site: Path, namespace: Callable[..., list[object]], tmp_path: Path
) -> None:
    disk = tmp_path / "disk"
    args = ["--source", str(site), "--out", str(disk / "build"), "--cache-dir", str(disk / "cache"),
            "--jobs", "1"]
    first, before, free, _, second, after, listing, _, third, final = namespace(disk, "3m", [
        ["build", *args], ["digest", str(disk / "build")], ["fill"],
        ["write", str(site / "content/site.yaml"), _retitled(site)],
        ["build", *args], ["digest", str(disk / "build")], ["list", str(disk)],
        ["unfill"], ["build", *args], ["digest", str(disk / "build")],
    ])
    assert first[0] == 0 and free == 0  # type: ignore[index]
    code, err = second  # type: ignore[misc]
    assert code == 1, err
    assert f"{disk / 'build'}/" in err and "Auf dem Datenträger ist kein Speicherplatz mehr frei" in err
    assert "Geben Sie Speicherplatz frei" in err and "Traceback" not in err
    assert after == before
    assert listing == [".build.lock", "build", "cache", "fill"]  # no staging, no temp files
    assert third[0] == 0  # type: ignore[index]
    build_site(site, tmp_path / "clean", BuildOptions(jobs=1, use_cache=False))
    assert _without_search(final) == _without_search(tree_digest(tmp_path / "clean"))


def test_read_only_output_folder_is_an_error_naming_it(
    site: Path, namespace: Callable[..., list[object]], tmp_path: Path
) -> None:
    disk = tmp_path / "disk"
    args = ["--source", str(site), "--out", str(disk / "build"), "--cache-dir", str(disk / "cache")]
    first, before, _, _, second, after, listing = namespace(disk, "3m", [
        ["build", *args], ["digest", str(disk / "build")], ["readonly"],
        ["write", str(site / "content/site.yaml"), _retitled(site)],
        ["build", *args], ["digest", str(disk / "build")], ["list", str(disk)],
    ])
    assert first[0] == 0  # type: ignore[index]
    code, err = second  # type: ignore[misc]
    assert code == 1
    assert f"{disk / 'build'}: Der Datenträger ist schreibgeschützt." in err
    assert "Wählen Sie mit --out" in err and "Traceback" not in err
    assert after == before
    assert listing == [".build.lock", "build", "cache"]


@pytest.mark.parametrize("fault", ["readonly", "fill"])
def test_cache_that_cannot_be_written_only_costs_speed(
    site: Path, namespace: Callable[..., list[object]], tmp_path: Path, fault: str
) -> None:
    disk = tmp_path / "disk"
    out = tmp_path / "out"
    args = ["--source", str(site), "--out", str(out), "--cache-dir", str(disk), "--jobs", "1"]
    (tmp_path / "b.jpg").write_bytes(photo("orange"))  # a new photo: its derivatives are made
    album = ALBUM + "  - file: b.jpg\n    alt: Noch ein Foto.\n"
    first, _, _, _, second = namespace(disk, "3m", [
        ["build", *args], [fault], ["write", str(site / "gallery/sitzung/album.yaml"), album],
        ["copy", str(tmp_path / "b.jpg"), str(site / "gallery/sitzung/b.jpg")], ["build", *args],
    ])
    assert first[0] == 0  # type: ignore[index]
    code, err = second  # type: ignore[misc]
    assert code == 0, err
    assert err.count("Warnung") == 1 and "Traceback" not in err
    assert f"{disk / 'images'}: Warnung: Fotos konnten nicht im Zwischenspeicher abgelegt werden" in err
    build_site(site, tmp_path / "clean", BuildOptions(jobs=1, use_cache=False))
    assert _without_search(tree_digest(out)) == _without_search(tree_digest(tmp_path / "clean"))
    # The spare folder for the photos is gone; .out.next is the double buffer of every build.
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".clean.lock", ".out.lock", ".out.next", "b.jpg", "clean", "disk", "out"]


def test_damage_found_by_render_workers_gives_one_warning(
    make_site: MakeSite, build: Build, tmp_path: Path
) -> None:
    """With enough pages for worker processes, converted bodies are read in the workers
    (bodies.json tells the main process all else); their findings come back to the warning."""
    root = make_site({f"content/press/2017-01-{1 + i % 28:02d}-m{i}.md":
                      press(f"2017-01-{1 + i % 28:02d}", f"Meldung {i}", f"Text *{i}*.")
                      for i in range(70)})
    assert build(root, "--jobs", "2")[0] == 0
    build_site(root, tmp_path / "clean", BuildOptions(jobs=1, use_cache=False))
    for file in cache_files(root, "markdown"):
        damage(file, "flipped", [])
    shutil.rmtree(root / "build")
    code, _out, err = build(root, "--jobs", "2")
    assert code == 0, err
    assert err.count("Warnung") == 1 and f"{root / '.cache'}: Warnung" in err
    assert tree_digest(root / "build") == tree_digest(tmp_path / "clean")


def test_check_reports_cache_damage_as_one_warning(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for kind in ("frontmatter", "markdown", "derivatives", "jinja"):
        for file in cache_files(site, kind):
            damage(file, "truncated", [])
    code = main(["check", "--source", str(site)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.count("Warnung:") == 1 and "Der Zwischenspeicher war beschädigt" in out
