"""The command line: help, exit codes and usage errors, in-process; two real end-to-end runs."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, press

from kpr_site import __version__, cli
from kpr_site.cli import main

# The command as editors run it: with the search index.
pytestmark = pytest.mark.search_index


def commands() -> list[str]:
    """Every sub-command the parser knows (build, and whatever later issues add)."""
    parser = cli._parser()
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return sorted(action.choices)


def run(argv: list[str]) -> int:
    """main() returns an exit code, or argparse exits: either way, the code."""
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


def test_build_is_a_command():
    assert "build" in commands()


@pytest.mark.parametrize("argv", [["--help"], ["-h"], *([c, "--help"] for c in commands())],
                         ids=lambda argv: " ".join(argv))
def test_help_of_every_command_exits_0(argv, capsys):
    assert run(argv) == 0
    out = capsys.readouterr().out
    assert f"kpr-site {' '.join(argv[:-1])}".strip() in out


def test_build_help_names_its_options(capsys):
    run(["build", "--help"])
    out = capsys.readouterr().out
    for option in ("--source", "--out", "--drafts", "--base-url"):
        assert option in out


def test_version(capsys):
    assert run(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"kpr-site {__version__}"


def test_no_command_shows_help_and_exits_2(capsys):
    assert run([]) == 2
    assert "build" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [
    ["bauen"],
    ["build", "--unbekannt"],
    ["build", "--jobs", "viele"],
    ["--version", "--source", "."],
], ids=["unknown command", "unknown option", "option value of wrong type", "option of another command"])
def test_usage_errors_exit_2_with_german_hint(argv, capsys):
    assert run(argv) == 2
    err = capsys.readouterr().err
    assert "kpr-site" in err
    assert "kpr-site: Fehler beim Aufruf:" in err or "kpr-site build: Fehler beim Aufruf:" in err
    assert "Hilfe: kpr-site" in err


def test_source_without_content_folder_is_a_usage_error(tmp_path, capsys):
    assert run(["build", "--source", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "enthält keinen Ordner content/" in err
    assert "Hilfe: kpr-site" in err


def test_negative_jobs_is_a_usage_error(make_site, capsys):
    root = make_site({})
    assert run(["build", "--source", str(root), "--jobs", "-1"]) == 2
    assert "--jobs" in capsys.readouterr().err


def test_base_url_that_is_not_a_web_address_is_a_usage_error(make_site, capsys):
    root = make_site({})
    assert run(["build", "--source", str(root), "--base-url", "ftp://example.org"]) == 2
    err = capsys.readouterr().err
    assert "--base-url" in err
    assert "keine vollständige Webadresse" in err
    assert not (root / "build").exists()


def test_successful_build_exits_0_and_reports_on_stdout(make_site, build):
    root = make_site({"content/press/2017-02-10-neu.md": press()})
    code, out, err = build(root)
    assert code == 0
    assert out.splitlines()[-1].startswith("Fertig:")  # after the lines on photos and search
    assert err == ""


def test_build_summary_writes_numbers_the_german_way(make_site, build):
    root = make_site({"content/press/2017-02-10-neu.md": press()})
    code, out, _ = build(root, "--no-cache")
    assert code == 0
    assert re.fullmatch(r"(Suchindex: neu erzeugt, \d+,\d s\n)?"
                        r"Fertig: \d+ Seiten, \d+ Dateien in \S+ \(\d+ geändert, \d+ unverändert; "
                        r"\d+ Seiten gerendert, \d+ Markdown-Texte umgewandelt\) in \d+,\d\d s\.\n",
                        out), out


def test_content_error_exits_1_and_reports_on_stderr(make_site, build):
    root = make_site({"content/press/2017-02-10-neu.md": press(title="")})
    code, out, err = build(root)
    assert code == 1
    assert out == ""
    assert "content/press/2017-02-10-neu.md:2: „title“ ist leer." in err


def test_out_defaults_to_build_below_the_source(make_site, capsys, monkeypatch):
    root = make_site({})
    monkeypatch.chdir(root)
    assert main(["build"]) == 0
    assert (root / "build" / "index.html").is_file()


# --- end to end, as a user runs it --------------------------------------------------------


def console_script() -> str:
    script = Path(sys.executable).with_name("kpr-site")
    found = str(script) if script.exists() else shutil.which("kpr-site")
    if found is None:
        pytest.skip("the console script kpr-site is not installed: pip install -e .")
    return found


def test_python_m_kpr_site_help_runs():
    result = subprocess.run([sys.executable, "-m", "kpr_site", "--help"], capture_output=True,
                            text=True, check=False, cwd=REPO, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "build" in result.stdout


def test_console_script_builds_a_site_end_to_end(make_site, tmp_path):
    root = make_site({"content/press/2017-02-10-neu.md": press(title="Von außen gebaut")})
    out = tmp_path / "ausgabe"
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    result = subprocess.run([console_script(), "build", "--source", str(root), "--out", str(out)],
                            capture_output=True, text=True, check=False, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    assert "Fertig" in result.stdout
    assert "Von außen gebaut" in (out / "presse/2017/neu/index.html").read_text()
    broken = subprocess.run([console_script(), "build", "--source", str(root), "--out", str(root)],
                            capture_output=True, text=True, check=False, timeout=60, env=env)
    assert broken.returncode == 2


def test_help_and_usage_errors_speak_german(capsys):
    assert run(["--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Aufruf: kpr-site") and "Befehle:" in out and "Optionen:" in out
    assert "diese Hilfe anzeigen" in out and "show this help" not in out
    assert run(["build", "--jobs", "x"]) == 2
    assert "--jobs erwartet eine ganze Zahl, nicht 'x'" in capsys.readouterr().err
    assert run(["bauen"]) == 2
    assert "'bauen' gibt es nicht (möglich: 'build', 'serve', 'new', 'check')" in capsys.readouterr().err


def test_check_piped_into_a_reader_that_stops_early_ends_quietly(make_site, tmp_path):
    import subprocess
    import sys

    marker = "[Vom Landkreis zu bestätigen: Angabe]\n\n"
    root = make_site({"content/pages/a.md": "---\ntitle: A\n---\n" + marker * 3000})
    check = subprocess.Popen([sys.executable, "-m", "kpr_site", "check", "--source", str(root)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert check.stdout is not None and check.stderr is not None
    check.stdout.readline()  # like `| head -1`: read a line, then go away
    check.stdout.close()
    with check.stderr:
        err = check.stderr.read().decode()
    check.wait(timeout=60)
    assert err == "", err  # the reader left: no traceback, and no error about it either
