"""Incremental builds: they must give byte for byte what a clean build gives, whatever happened
before — edits, additions, deletions, renames, template changes, damaged caches, a killed build."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, SITE_YAML, press, tree_digest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpr_site.cache import seal, unseal
from kpr_site.cli import main
from kpr_site.output import build_lock

# Incremental builds are compared with clean ones, search index included.
pytestmark = pytest.mark.search_index

SLUGS = ("alpha", "beta", "gamma", "delta")


def _release(slug: str, day: int, body: str, tags: str = "[Jugend]") -> tuple[str, str]:
    name = f"content/press/2017-03-{day:02d}-{slug}.md"
    return name, press(f"2017-03-{day:02d}", f"Meldung {slug}", body, tags=tags)


def _clean_build(root: Path, out: Path, capsys: pytest.CaptureFixture[str],
                 *args: str) -> dict[str, str]:
    code = main(["build", "--source", str(root), "--out", str(out), "--no-cache", *args])
    capsys.readouterr()
    assert code == 0
    return tree_digest(out)


# One step of an editor's day, applied to the site folder.
Step = tuple[str, str, int]
steps = st.tuples(
    st.sampled_from(["add", "edit", "retitle", "delete", "rename", "template", "config", "css",
                     "today", "nothing"]),
    st.sampled_from(SLUGS),
    st.integers(min_value=1, max_value=28),
)


def _apply(root: Path, step: Step) -> None:
    action, slug, day = step
    press_dir = root / "content" / "press"
    existing = sorted(press_dir.glob(f"*-{slug}.md"))
    if action == "add" and not existing:
        name, text = _release(slug, day, f"Text von {slug} am Tag {day}.")
        (root / name).write_text(text, encoding="utf-8")
    elif action == "edit" and existing:
        with existing[0].open("a", encoding="utf-8") as handle:
            handle.write(f"\nNachtrag {day}.\n")
    elif action == "retitle" and existing:
        text = existing[0].read_text(encoding="utf-8")
        existing[0].write_text(text.replace("title: Meldung", f"title: Neu {day}", 1), "utf-8")
    elif action == "delete" and existing:
        existing[0].unlink()
    elif action == "rename" and existing:
        text = existing[0].read_text(encoding="utf-8")
        old_date = existing[0].name[:10]
        new_date = f"2017-04-{day:02d}"
        existing[0].unlink()
        (press_dir / f"{new_date}-{slug}.md").write_text(text.replace(old_date, new_date),
                                                          encoding="utf-8")
    elif action == "template":
        template = root / "templates" / "press_detail.html"
        template.write_text(template.read_text(encoding="utf-8") + f"<!-- {day} -->\n", "utf-8")
    elif action == "config":
        config = root / "content" / "site.yaml"
        config.write_text(config.read_text(encoding="utf-8").replace(
            "description: Eine Test-Website.", f"description: Stand {day}."), encoding="utf-8")
    elif action == "css":
        with (root / "templates" / "static" / "site.css").open("a", encoding="utf-8") as handle:
            handle.write(f"\n/* {day} */\n")


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(steps, min_size=1, max_size=5))
def test_incremental_build_equals_clean_build_after_any_edits(
    tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str],
    history: list[Step],
) -> None:
    root = tmp_path_factory.mktemp("site")
    start_site(root)
    out, clean = root / "build", root.parent / f"{root.name}-clean"
    today = ["--today", "2017-03-01"]
    assert main(["build", "--source", str(root), "--out", str(out), *today]) == 0
    for step in history:
        _apply(root, step)
        if step[0] == "today":
            today = ["--today", f"2017-03-{step[2]:02d}"]
        assert main(["build", "--source", str(root), "--out", str(out), *today]) == 0, capsys.readouterr()
        assert tree_digest(out) == _clean_build(root, clean, capsys, *today), step


def start_site(root: Path, first: str = "Erste Meldung.") -> None:
    """The shipped templates, site.yaml, a first release with the body `first`, and content
    that the build date changes."""
    shutil.copytree(REPO / "templates", root / "templates")
    (root / "content" / "press").mkdir(parents=True)
    (root / "content" / "site.yaml").write_text(SITE_YAML, encoding="utf-8")
    name, text = _release("start", 1, first)
    (root / name).write_text(text, encoding="utf-8")
    for name, text in _dated_content().items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")


def _dated_content() -> dict[str, str]:
    """An event, a call, a release that expires and one published later, all in March 2017."""
    return {
        "content/events/2017-03-10-forum.md": "---\ntitle: Forum\nstart: 2017-03-10T18:00\n---\n",
        "content/funding/kleinprojekte.md": (
            "---\ntitle: Kleinprojekte\nfunder: Land\ncalls:\n  - title: Aufruf\n"
            "    deadline: 2017-03-15\n---\n"),
        "content/press/2017-02-01-alt.md": press("2017-02-01", "Alt", expires="2017-03-20"),
        "content/press/2017-02-02-spaeter.md": press("2017-02-02", "Später", publish="2017-03-05"),
    }


def _site_with_posts(make_site, count: int = 12) -> Path:  # type: ignore[no-untyped-def]
    files = dict(_release(f"p{i}", 1 + i % 28, f"Text {i}.") for i in range(count))
    return make_site(files)


def test_template_edit_rerenders_only_pages_that_use_it(make_site, capsys) -> None:  # type: ignore[no-untyped-def]
    root = _site_with_posts(make_site)
    assert main(["build", "--source", str(root)]) == 0
    template = root / "templates" / "project_detail.html"
    template.write_text(template.read_text(encoding="utf-8") + "<!-- x -->\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["build", "--source", str(root)]) == 0
    assert "0 Seiten gerendert" in capsys.readouterr().out  # no project pages on this site

    base = root / "templates" / "base.html"
    base.write_text(base.read_text(encoding="utf-8") + "<!-- y -->\n", encoding="utf-8")
    assert main(["build", "--source", str(root)]) == 0
    out = capsys.readouterr().out
    assert "0 Seiten gerendert" not in out and "unverändert" in out


def test_one_edited_post_converts_one_markdown_text(make_site, capsys) -> None:  # type: ignore[no-untyped-def]
    root = _site_with_posts(make_site)
    assert main(["build", "--source", str(root)]) == 0
    post = root / "content" / "press" / "2017-03-02-p1.md"
    post.write_text(post.read_text(encoding="utf-8") + "\nMehr.\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["build", "--source", str(root)]) == 0
    out = capsys.readouterr().out
    assert "1 Markdown-Texte umgewandelt" in out
    # Its page and the feed (which carries full texts); lists show only the summary. In the
    # search index: the page's fragment, the word index, the meta file and the entry naming it.
    assert "6 geändert" in out and "1 Seiten gerendert" in out


def test_rebuild_without_changes_does_nothing_and_keeps_mtimes(make_site, capsys) -> None:  # type: ignore[no-untyped-def]
    root = _site_with_posts(make_site)
    assert main(["build", "--source", str(root)]) == 0
    index = root / "build" / "index.html"
    before = index.stat().st_mtime_ns
    time.sleep(0.06)  # past the racy-mtime window
    assert main(["build", "--source", str(root)]) == 0
    assert main(["build", "--source", str(root)]) == 0
    assert "Nichts zu tun" in capsys.readouterr().out
    assert index.stat().st_mtime_ns == before


def test_touched_but_unchanged_file_is_recognised_by_its_hash(make_site, capsys) -> None:  # type: ignore[no-untyped-def]
    root = _site_with_posts(make_site)
    assert main(["build", "--source", str(root)]) == 0
    os.utime(root / "content" / "press" / "2017-03-02-p1.md")
    capsys.readouterr()
    assert main(["build", "--source", str(root)]) == 0
    assert "Nichts zu tun" in capsys.readouterr().out


def test_changed_settings_are_not_answered_from_the_manifest(make_site, capsys) -> None:  # type: ignore[no-untyped-def]
    root = _site_with_posts(make_site)
    draft = root / "content" / "press" / "2017-03-20-entwurf.md"
    draft.write_text(press("2017-03-20", "Entwurf", "Geheim.", draft="true"), encoding="utf-8")
    assert main(["build", "--source", str(root)]) == 0
    assert main(["build", "--source", str(root), "--drafts"]) == 0
    assert (root / "build" / "presse" / "2017" / "entwurf" / "index.html").exists()
    assert main(["build", "--source", str(root)]) == 0
    assert not (root / "build" / "presse" / "2017" / "entwurf").exists()


def test_edited_output_file_is_repaired(make_site, capsys) -> None:  # type: ignore[no-untyped-def]
    root = _site_with_posts(make_site)
    assert main(["build", "--source", str(root)]) == 0
    clean = _clean_build(root, root.parent / "clean", capsys)
    (root / "build" / "index.html").write_text("kaputt", encoding="utf-8")
    assert main(["build", "--source", str(root)]) == 0
    assert tree_digest(root / "build") == clean


@pytest.mark.parametrize("damage", ["manifest", "markdown", "foreign-version"])
def test_damaged_or_foreign_cache_is_ignored_with_one_warning(make_site, capsys, damage) -> None:  # type: ignore[no-untyped-def]
    root = _site_with_posts(make_site)
    assert main(["build", "--source", str(root)]) == 0
    clean = _clean_build(root, root.parent / "clean", capsys)
    cache = root / ".cache"
    if damage == "manifest":
        for file in (cache / "builds").glob("*.json"):
            file.write_bytes(b"{\x00 nicht json")
    elif damage == "markdown":
        for file in (cache / "markdown").rglob("*.json"):
            file.write_text(json.dumps({"key": "falsch", "value": {"html": "<p>Gift</p>"}}))
        for page in (root / "build").glob("*/**/index.html"):  # rendered again: packs are read
            page.unlink()
    else:
        for file in (cache / "builds").glob("*.json"):
            data = json.loads(unseal(file.read_bytes()))
            data["format"] = 999
            file.write_bytes(seal(json.dumps(data).encode()))
    (root / "build" / "404.html").unlink()  # force real work
    assert main(["build", "--source", str(root)]) == 0
    err = capsys.readouterr().err
    assert tree_digest(root / "build") == clean
    if damage == "foreign-version":
        assert err == ""  # an older format is expected after an update: no warning
    else:
        assert err.count("Warnung") == 1 and ".cache" in err


def test_second_concurrent_build_is_refused_with_clear_message(make_site, capsys) -> None:  # type: ignore[no-untyped-def]
    root = _site_with_posts(make_site, count=2)
    with build_lock(root / "build"):
        code = main(["build", "--source", str(root)])
    assert code == 1
    assert "Ein anderer Build schreibt gerade" in capsys.readouterr().err


def test_killed_build_leaves_output_and_cache_usable(make_site, capsys) -> None:  # type: ignore[no-untyped-def]
    root = _site_with_posts(make_site, count=150)
    assert main(["build", "--source", str(root)]) == 0
    before = tree_digest(root / "build")
    for post in sorted((root / "content" / "press").glob("*.md"))[:100]:
        post.write_text(post.read_text(encoding="utf-8") + "\nNeu.\n", encoding="utf-8")
    template = root / "templates" / "base.html"
    template.write_text(template.read_text(encoding="utf-8") + "<!-- neu -->\n", encoding="utf-8")
    new = _clean_build(root, root.parent / "clean", capsys)
    for delay in (0.15, 0.3, 0.45, 0.6):
        proc = subprocess.Popen([sys.executable, "-m", "kpr_site", "build", "--source", str(root)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        after = tree_digest(root / "build")
        assert after in (before, new)  # never half a site: the old one or the new one
        if after == new:
            break
    assert main(["build", "--source", str(root)]) == 0
    assert tree_digest(root / "build") == new
