"""Shared fixtures: tiny site trees in tmp_path, built in-process."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from kpr_site.cli import main

REPO = Path(__file__).resolve().parent.parent

SITE_YAML = """\
title: Testrat
description: Eine Test-Website.
base_url: https://example.org/
language: de
intro: Willkommen beim **Testrat**.
contact:
  name: Erika Muster
  role: Koordinatorin
  email: erika@example.org
nav:
  - title: Start
    url: /
  - title: Presse
    url: /presse/
"""

MakeSite = Callable[[dict[str, str | bytes]], Path]


@pytest.fixture
def make_site(tmp_path: Path) -> MakeSite:
    """Write a site: content/site.yaml and the repo's templates by default, plus `files`.

    Text values are dedented; bytes are written as they are. A value of None deletes a
    default file.
    """

    def make(files: dict[str, str | bytes | None], root: Path | None = None) -> Path:
        root = root or tmp_path / "site"
        if not (root / "templates").exists():
            shutil.copytree(REPO / "templates", root / "templates")
            (root / "content").mkdir(parents=True, exist_ok=True)
            (root / "content" / "site.yaml").write_text(SITE_YAML, encoding="utf-8")
        for name, data in files.items():
            path = root / name
            if data is None:
                path.unlink(missing_ok=True)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(data, bytes):
                path.write_bytes(data)
            else:
                path.write_text(textwrap.dedent(data).lstrip("\n"), encoding="utf-8")
        return root

    return make  # type: ignore[return-value]


@pytest.fixture
def build(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """Run `kpr-site build` in-process: returns (exit code, stdout, stderr)."""

    def run(root: Path, *args: str, out: Path | None = None) -> tuple[int, str, str]:
        out = out or root / "build"
        code = main(["build", "--source", str(root), "--out", str(out), *args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def press(date: str = "2017-02-10", title: str = "Neustart", body: str = "Text.", **extra: str) -> str:
    """Front matter + body of a press release."""
    lines = [f"title: {title}", f"date: {date}", *(f"{k}: {v}" for k, v in extra.items())]
    return "---\n" + "\n".join(lines) + "\n---\n" + body + "\n"
