"""`kpr-site serve` keeps its stage results in memory between saves (kpr_site.memory): after
any sequence of edits the preview folder must equal a clean build byte for byte, and a save
must redo only what it affects."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import tree_digest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_incremental import SLUGS, Step, _apply, _release, start_site, steps

from kpr_site.build import BuildReport, MemorySink, build_preview, build_site
from kpr_site.errors import BuildFailed
from kpr_site.memory import Memory
from kpr_site.options import BuildOptions
from kpr_site.parallel import POOL_THRESHOLD

BASE = "http://127.0.0.1:8000/"
LONG_AGO = 1_500_000_000 * 10**9  # 2017: files an editor saved long before the preview ran


class Preview:
    """The preview's recipe as `serve` runs it at every save, without its threads."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.folder = root.parent / f"{root.name}-preview"
        self.memory = Memory()
        self.sink: MemorySink | None = None

    def options(self, today: dt.date) -> BuildOptions:
        return BuildOptions(base_url=BASE, precompress=False, search=False, today=today)

    def run(self, today: dt.date) -> BuildReport:
        if self.sink is None:
            self.sink = MemorySink(self.root, self.folder, self.options(today))
        return build_preview(self.root, self.options(today), self.sink, self.memory)

    def served(self) -> dict[str, str]:
        """What the preview serves, as tree_digest gives it for a folder."""
        assert self.sink is not None
        return {rel: hashlib.sha256(data if isinstance(data, bytes) else data.read_bytes())
                .hexdigest() for rel, data in sorted(self.sink.files.items())}

    def page(self, rel: str) -> str:
        assert self.sink is not None
        data = self.sink.files[rel]
        return (data if isinstance(data, bytes) else data.read_bytes()).decode()

    @property
    def clean_dir(self) -> Path:
        return self.root.parent / f"{self.root.name}-clean"

    def clean(self, today: dt.date) -> dict[str, str]:
        shutil.rmtree(self.clean_dir, ignore_errors=True)
        build_site(self.root, self.clean_dir, BuildOptions(
            base_url=BASE, precompress=False, search=False, today=today, use_cache=False))
        return tree_digest(self.clean_dir)


def _stats(root: Path) -> dict[Path, tuple[int, int, int]]:
    return {path: (st.st_size, st.st_mtime_ns, st.st_ctime_ns)
            for path in [root, *root.rglob("*")] for st in [path.stat()]}


def _age(root: Path, before: dict[Path, tuple[int, int, int]], when: int) -> None:
    """Date what a step changed back to `when`, as if it had been saved long ago: the memory
    then trusts the stat of every file and folder (a recent one is always read again), so the
    reuse of what it kept is what this test exercises."""
    after = _stats(root)
    for path, stat in sorted(after.items(), reverse=True):  # files before their folders
        if before.get(path) != stat:
            os.utime(path, ns=(when, when))


def _site(root: Path, releases: tuple[str, ...] = ()) -> None:
    """test_incremental's site; the first release links to each of `releases`."""
    links = " ".join(f"[{slug}](2017-03-{day:02d}-{slug}.md)" for day, slug in enumerate(releases, 2))
    start_site(root, f"Erste Meldung. {links}")
    for day, slug in enumerate(releases, 2):
        name, text = _release(slug, day, f"Text von {slug}.")
        (root / name).write_text(text, encoding="utf-8")


def _outcome(run: Callable[[], object]) -> list[str] | None:
    """None if `run` succeeded, else its errors as the editor reads them."""
    try:
        run()
    except BuildFailed as exc:
        return sorted(str(error) for error in exc.errors)
    return None


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(steps, min_size=1, max_size=6))
def test_preview_in_memory_equals_clean_build_after_any_edits(
    tmp_path_factory: pytest.TempPathFactory, history: list[Step],
) -> None:
    """The releases exist from the start (edits, renames and deletions meet what the memory
    kept) and the first one links to two of them (a rename or deletion breaks that link:
    then the preview must fail exactly as a clean build does, and catch up later)."""
    root = tmp_path_factory.mktemp("site")
    _site(root, SLUGS[:3])
    _age(root, {}, LONG_AGO)
    preview, today = Preview(root), dt.date(2017, 3, 1)
    preview.run(today)
    for number, step in enumerate(history, 1):
        before = _stats(root)
        _apply(root, step)
        _age(root, before, LONG_AGO + number * 10**9)
        if step[0] == "today":
            today = dt.date(2017, 3, step[2])
        shown = preview.served()
        failed = _outcome(functools.partial(preview.run, today))
        assert failed == _outcome(functools.partial(preview.clean, today)), step
        if failed:
            assert preview.served() == shown, step
        else:
            assert preview.served() == tree_digest(preview.clean_dir), step


def test_one_edited_release_converts_and_renders_only_its_own_page(tmp_path: Path) -> None:
    root = tmp_path / "site"
    _site(root)
    for slug in ("alpha", "beta", "gamma"):
        name, text = _release(slug, 5, f"Text von {slug}.")
        (root / name).write_text(text, encoding="utf-8")
    _age(root, {}, LONG_AGO)
    preview, today = Preview(root), dt.date(2017, 3, 1)
    first = preview.run(today)
    assert first.rendered == first.pages
    with (root / "content/press/2017-03-05-beta.md").open("a", encoding="utf-8") as handle:
        handle.write("\nNachtrag.\n")
    again = preview.run(today)
    # Written: the page and the feed, which carries the bodies of the latest releases.
    assert (again.converted, again.rendered, again.written) == (1, 1, 2)
    page = preview.page("presse/2017/beta/index.html")
    assert "Nachtrag." in page
    assert preview.served() == preview.clean(today)


def test_a_file_changed_twice_within_the_clock_tick_is_still_seen(tmp_path: Path) -> None:
    """Two saves of the same size within one tick of the file system's clock leave the stat
    unchanged except for the bytes: a file changed so recently is read again."""
    root = tmp_path / "site"
    _site(root)
    preview, today = Preview(root), dt.date(2017, 3, 1)
    release = root / "content/press/2017-03-01-start.md"
    text = release.read_text(encoding="utf-8")
    stamp = time.time_ns() + 10**9  # within the clock tick of the next run's reading
    release.write_text(text.replace("Erste Meldung.", "Erste Fassung."), encoding="utf-8")
    os.utime(release, ns=(stamp, stamp))
    preview.run(today)
    release.write_text(text.replace("Erste Meldung.", "Zweite Fassg."), encoding="utf-8")
    os.utime(release, ns=(stamp, stamp))  # same size, same time: only the bytes differ
    preview.run(today)
    page = preview.page("presse/2017/start/index.html")
    assert "Zweite Fassg." in page


def test_a_failed_save_keeps_the_preview_and_the_next_good_one_catches_up(tmp_path: Path) -> None:
    root = tmp_path / "site"
    _site(root)
    _age(root, {}, LONG_AGO)
    preview, today = Preview(root), dt.date(2017, 3, 1)
    preview.run(today)
    shown = preview.served()
    template = root / "templates" / "press_detail.html"
    good = template.read_text(encoding="utf-8")
    template.write_text(good + "{% if %}\n", encoding="utf-8")
    with pytest.raises(BuildFailed):
        preview.run(today)
    assert preview.served() == shown
    with (root / "content/press/2017-03-01-start.md").open("a", encoding="utf-8") as handle:
        handle.write("\nNachtrag.\n")
    template.write_text(good, encoding="utf-8")
    preview.run(today)
    assert "Nachtrag." in preview.page("presse/2017/start/index.html")
    assert preview.served() == preview.clean(today)


def test_pages_rendered_in_worker_processes_reach_the_preview(tmp_path: Path) -> None:
    """A template edit re-renders every release: past POOL_THRESHOLD pages in forked
    workers (when no other thread runs), whose pages must still arrive in the preview."""
    root = tmp_path / "site"
    _site(root)
    for number in range(POOL_THRESHOLD + 6):
        name, text = _release(f"r{number}", 1 + number % 28, f"Text {number}.")
        (root / name).write_text(text, encoding="utf-8")
    _age(root, {}, LONG_AGO)
    preview, today = Preview(root), dt.date(2017, 3, 1)
    preview.run(today)
    template = root / "templates" / "press_detail.html"
    template.write_text(template.read_text(encoding="utf-8") + "<!-- neu -->\n", "utf-8")
    report = preview.run(today)
    assert report.rendered > POOL_THRESHOLD
    assert preview.served() == preview.clean(today)
