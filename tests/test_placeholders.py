"""Placeholders "[Vom Landkreis zu bestätigen: …]": found with their lines, highlighted on the
site (never inside an attribute), listed by `check`, counted by `build`, fatal with --strict."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import REPO, SITE_YAML, MakeSite, output_path, press
from gates import VIEWPORTS, require_browser_tools, require_validator_tools, run_vnu, serve, sweep
from test_gallery import photo

from kpr_site.check import check_site
from kpr_site.cli import main
from kpr_site.markup import convert
from kpr_site.placeholders import count_markers, find_markers, highlight
from kpr_site.render import _mark_open

MARK = '<mark class="offen">'


def test_markers_are_found_with_their_lines() -> None:
    text = ("Zeile eins\n"
            "Tel.: **[Vom Landkreis zu bestätigen: Telefonnummer]**, Fax: [Vom Landkreis zu bestätigen]\n"
            "ein [vom Landkreis zu\n"
            "bestätigen: Name, siehe [Liste](liste.md)] über zwei Zeilen\n"
            "nicht gemeint: \\[Vom Landkreis zu bestätigen] und [Vom Landkreis] und [bestätigen]\n")
    assert [(f.line, f.text) for f in find_markers(text, first_line=5)] == [
        (6, "[Vom Landkreis zu bestätigen: Telefonnummer]"),
        (6, "[Vom Landkreis zu bestätigen]"),
        (7, "[vom Landkreis zu bestätigen: Name, siehe [Liste](liste.md)]"),
    ]


def test_markdown_marks_the_placeholder_and_keeps_emphasis_links_and_code() -> None:
    html = convert("- Tel.: **[Vom Landkreis zu bestätigen: Telefonnummer]**\n"
                   "- [Vom Landkreis zu bestätigen: *Name*, siehe [Liste](liste.md)]\n"
                   "- `[Vom Landkreis zu bestätigen]` und \\[Vom Landkreis zu bestätigen]\n",
                   "content/pages/a.md").html
    assert f"<strong>{MARK}[Vom Landkreis zu bestätigen: Telefonnummer]</mark></strong>" in html
    assert (f"{MARK}[Vom Landkreis zu bestätigen: <em>Name</em>, siehe "
            '<a href="kpr-ref-0">Liste</a>]</mark>') in html
    assert "<code>[Vom Landkreis zu bestätigen]</code> und [Vom Landkreis zu bestätigen]" in html
    assert html.count(MARK) == 2


def test_text_filter_escapes_first_and_marks_only_placeholders() -> None:
    value = 'A & B <i>"x"</i> [Vom Landkreis zu bestätigen: Straße & Nr.]'
    assert str(_mark_open(value)) == (
        "A &amp; B &lt;i&gt;&#34;x&#34;&lt;/i&gt; "
        f"{MARK}[Vom Landkreis zu bestätigen: Straße &amp; Nr.]</mark>")
    assert highlight("ohne Platzhalter") == "ohne Platzhalter"


def test_count_walks_nested_records() -> None:
    from kpr_site.model import Contact, Member
    contact = Contact(name="[Vom Landkreis zu bestätigen]", phone="[Vom Landkreis zu bestätigen: Tel.]")
    members = (Member(name="A", sector="Polizei", function="[Vom Landkreis zu bestätigen]"),)
    assert count_markers(contact, members, ["kein", {"x": "[Vom Landkreis zu bestätigen]"}]) == 4


YAML_SITE = SITE_YAML.replace(
    "  email: erika@example.org",
    "  email: erika@example.org\n  phone: \"[Vom Landkreis zu bestätigen: Telefonnummer]\"")
ALBUM = """\
title: Fest
date: 2017-06-01
description: "Fotos vom Fest. [Vom Landkreis zu bestätigen: Fotografin]"
photos:
  - file: eins.jpg
    alt: "Eine Bühne [Vom Landkreis zu bestätigen]"
    caption: "[Vom Landkreis zu bestätigen: Bildunterschrift]"
"""
PLACEHOLDER_FILES: dict[str, str | bytes] = {
    "content/site.yaml": YAML_SITE,
    "content/members.yaml": "- name: Anja Kerl\n  sector: Verwaltung\n"
                            "  function: \"[Vom Landkreis zu bestätigen: Funktion]\"\n",
    "content/press/2017-02-10-neu.md": press(
        title="Neu", summary='"Kurz. [Vom Landkreis zu bestätigen]"',
        body="Erster Absatz.\n\nAnsprechpartner: [Vom Landkreis zu bestätigen: Name]"),
    "content/pages/entwurf.md": "---\ntitle: Entwurf\ndraft: true\n---\n[Vom Landkreis zu bestätigen]\n",
    "gallery/fest/eins.jpg": photo(),
    "gallery/fest/album.yaml": ALBUM,
}


def test_placeholders_in_yaml_are_marked_in_text_but_never_in_attributes_or_title(
    make_site: MakeSite, build
) -> None:
    root = make_site(PLACEHOLDER_FILES)
    code, out, err = build(root)
    assert code == 0, err
    home = output_path(root / "build", "/").read_text(encoding="utf-8")
    # A phone number that is still a placeholder is shown, not linked (no "tel:[Vom …").
    assert f"Telefon: {MARK}[Vom Landkreis zu bestätigen: Telefonnummer]</mark></p>" in home
    assert 'href="mailto:erika@example.org">erika@example.org</a>' in home
    assert f"{MARK}[Vom Landkreis zu bestätigen]</mark></p>" in home  # the press teaser's summary
    members = output_path(root / "build", "/praeventionsrat/").read_text(encoding="utf-8")
    assert f"{MARK}[Vom Landkreis zu bestätigen: Funktion]</mark>" in members
    release = output_path(root / "build", "/presse/2017/neu/").read_text(encoding="utf-8")
    assert f"Ansprechpartner: {MARK}[Vom Landkreis zu bestätigen: Name]</mark>" in release
    assert 'content="Kurz. [Vom Landkreis zu bestätigen]"' in release  # meta description: plain
    album = output_path(root / "build", "/galerie/fest/").read_text(encoding="utf-8")
    assert f"{MARK}[Vom Landkreis zu bestätigen: Bildunterschrift]</mark>" in album
    assert f"Fotos vom Fest. {MARK}[Vom Landkreis zu bestätigen: Fotografin]</mark>" in album
    assert 'alt="Eine Bühne [Vom Landkreis zu bestätigen]"' in album
    for page in (home, members, release, album):  # no mark ever lands inside a tag or the <title>
        assert not re.search(r"<[^>]*<mark", page)
        assert "<mark" not in page.split("</head>", 1)[0]
    # Published: site.yaml, members.yaml, the press release (summary + body), the album's
    # description, alt and caption. The draft is not published and not counted.
    assert "Achtung: 7 offene Platzhalter „[Vom Landkreis zu bestätigen …]“ auf der Website." in out


def test_check_lists_each_placeholder_with_file_and_line_and_strict_fails(
    make_site: MakeSite, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_site({**PLACEHOLDER_FILES, "templates/page.html": (
        REPO / "templates/page.html").read_text(encoding="utf-8").replace(
            "</article>", "<p>[Vom Landkreis zu bestätigen: Fußnote]</p>\n</article>")})
    assert main(["check", "--source", str(root)]) == 0
    out = capsys.readouterr().out
    listed = re.findall(r"^(\S+:\d+): Warnung: Offener Platzhalter „(.*)“\.$", out, re.MULTILINE)
    assert listed == [
        ("content/members.yaml:3", "[Vom Landkreis zu bestätigen: Funktion]"),
        ("content/pages/entwurf.md:5", "[Vom Landkreis zu bestätigen]"),
        ("content/press/2017-02-10-neu.md:4", "[Vom Landkreis zu bestätigen]"),
        ("content/press/2017-02-10-neu.md:8", "[Vom Landkreis zu bestätigen: Name]"),
        (f"content/site.yaml:{_line_of(root / 'content/site.yaml', 'Telefonnummer')}",
         "[Vom Landkreis zu bestätigen: Telefonnummer]"),
        ("gallery/fest/album.yaml:3", "[Vom Landkreis zu bestätigen: Fotografin]"),
        ("gallery/fest/album.yaml:6", "[Vom Landkreis zu bestätigen]"),
        ("gallery/fest/album.yaml:7", "[Vom Landkreis zu bestätigen: Bildunterschrift]"),
        (f"templates/page.html:{_line_of(root / 'templates/page.html', 'Fußnote')}",
         "[Vom Landkreis zu bestätigen: Fußnote]"),
    ]
    assert "→ Ersetzen Sie ihn samt Klammern durch den bestätigten Text; vorher wird die " \
           "Website nicht veröffentlicht." in out
    assert main(["check", "--source", str(root), "--strict"]) == 1
    assert "(--strict: Warnungen zählen als Fehler)" in capsys.readouterr().out


def _line_of(file: Path, needle: str) -> int:
    return next(number for number, line in enumerate(file.read_text(encoding="utf-8").split("\n"), 1)
                if needle in line)


def test_a_long_placeholder_is_shortened_in_the_message(make_site: MakeSite) -> None:
    long = "[Vom Landkreis zu bestätigen: " + "sehr " * 30 + "lang]"
    root = make_site({"content/pages/a.md": f"---\ntitle: A\n---\n{long}\n"})
    (finding,) = check_site(root).findings
    assert finding.message == ("Offener Platzhalter „[Vom Landkreis zu bestätigen: sehr sehr sehr "
                               "sehr sehr sehr sehr …]“.")


def test_shipped_site_fails_strict_check_and_lists_every_placeholder(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The repository's tests test the site; publishing (CI) refuses it while markers remain."""
    expected = sorted(
        f"{file.relative_to(REPO).as_posix()}:{number}"
        for folder in ("content", "gallery")
        for file in (REPO / folder).rglob("*") if file.suffix in (".md", ".yaml")
        for number, line in enumerate(file.read_text(encoding="utf-8").split("\n"), 1)
        for _ in range(line.count("[Vom Landkreis zu bestätigen")))
    assert expected, "the shipped content holds no placeholder any more: adapt this test"
    code = main(["check", "--source", str(REPO), "--strict", "--cache-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1
    warnings = re.findall(r"^(\S+:\d+): Warnung: (.*)$", out, re.MULTILINE)
    assert sorted(where for where, _ in warnings) == expected
    assert all(message.startswith("Offener Platzhalter „[Vom Landkreis zu bestätigen")
               for _, message in warnings)
    assert f"0 Fehler, {len(expected)} Warnungen in " in out
    assert main(["check", "--source", str(REPO), "--cache-dir", str(tmp_path)]) == 0


def _publish_commands(pipeline: Path) -> list[list[str]]:
    """The shell commands, in order, of each CI job that publishes the site: GitLab's `pages`
    job, or a GitHub Actions job that uploads the Pages artifact. (Builds for review in merge
    requests publish nothing and may run the non-strict check.)"""
    data = yaml.safe_load(pipeline.read_text(encoding="utf-8"))
    jobs = data.get("jobs", data) if isinstance(data, dict) else {}
    commands = []
    for name, job in jobs.items():
        uploads = any("upload-pages-artifact" in str(step.get("uses", ""))
                      for step in job.get("steps", []) if isinstance(step, dict)
                      ) if isinstance(job, dict) else False
        if isinstance(job, dict) and (name == "pages" or uploads):
            lines = [step.get("run", "") for step in job.get("steps", []) if isinstance(step, dict)]
            lines += [line for line in job.get("script", []) if isinstance(line, str)]
            commands.append(lines)
    return commands


@pytest.mark.parametrize("pipeline", [".github/workflows/site.yml", ".gitlab-ci.yml"])
def test_pipelines_run_strict_check_before_every_build_they_publish(pipeline: str) -> None:
    builds = 0
    for lines in _publish_commands(REPO / pipeline):
        text = "\n".join(lines)
        for match in re.finditer(r"kpr-site build", text):
            builds += 1
            assert "kpr-site check --strict" in text[: match.start()], f"{pipeline}: {text}"
    assert builds, f"{pipeline} builds the site nowhere"


@pytest.fixture(scope="module")
def marked_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A site with placeholders in every kind of place, built once."""
    root = tmp_path_factory.mktemp("marked") / "site"
    shutil.copytree(REPO / "templates", root / "templates")
    for name, data in PLACEHOLDER_FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data if isinstance(data, bytes) else data.encode())
    assert main(["build", "--source", str(root), "--out", str(root / "build")]) == 0
    return root / "build"


@pytest.mark.browser
def test_marked_placeholders_pass_axe_in_light_and_dark_mode(marked_site: Path) -> None:
    require_browser_tools()
    paths = ["", "praeventionsrat/", "presse/", "presse/2017/neu/", "galerie/fest/"]
    with serve(marked_site) as url:
        result = sweep(url, paths)
    assert result.pages == len(paths) * len(VIEWPORTS)
    assert (result.violations, result.csp_violations) == ([], [])


@pytest.mark.validator
def test_marked_placeholders_are_valid_html(marked_site: Path) -> None:
    require_validator_tools()
    assert run_vnu(marked_site) == []
