"""Run the build commands of the shipped CI pipelines, as written, on a copy of the site.

GitHub (.github/workflows/site.yml, job `build`) and GitLab (.gitlab-ci.yml, job `pages`) are
rendered for a push to the default branch: their shell lines run in bash in a copy of content/,
templates/, gallery/ and .ci/, with `kpr-site` and `python` on PATH running this checkout's code,
and with the address Pages would report. Installing and checking are left out (the tests have
kpr-site already; `kpr-site check` is tested on its own); every other shell line runs.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

__all__ = ["GITHUB_WORKFLOW", "GITLAB_CI", "PIPELINES", "load_pipeline", "run_pipeline_build"]

REPO = Path(__file__).resolve().parent.parent
GITHUB_WORKFLOW = REPO / ".github/workflows/site.yml"
GITLAB_CI = REPO / ".gitlab-ci.yml"
PIPELINES = ("github", "gitlab")
SITE_SOURCES = ("content", "templates", "gallery", ".ci")
# Lines the rendering skips: the environment is installed already, checks are tested elsewhere.
SKIPPED = re.compile(r"^(pip install|kpr-site check)\b")
_STEP_OUTPUT = re.compile(r"^\s*steps\.([\w-]+)\.outputs\.([\w-]+)\s*$")
_EVENT_TEST = re.compile(r"^github\.event_name (==|!=) '(\w+)'$")


def load_pipeline(path: Path) -> dict[str, Any]:
    """The pipeline file as data. (PyYAML reads GitHub's `on:` key as True; we never need it.)"""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), path
    return data


def run_pipeline_build(name: str, work: Path, pages_url: str, cache: Path | None = None) -> Path:
    """Run pipeline `name`'s build in a copy of the site below `work`; returns the published folder.

    `cache`, if given, stands in for the pipeline's persisted .cache/ (a link to it).
    """
    for folder in SITE_SOURCES:
        shutil.copytree(REPO / folder, work / folder, ignore=shutil.ignore_patterns("__pycache__"))
    if cache is not None:
        (work / ".cache").symlink_to(cache, target_is_directory=True)
    env = _environment(work)
    if name == "github":
        return _run_github(work, env, pages_url)
    if name == "gitlab":
        return _run_gitlab(work, env, pages_url)
    raise ValueError(name)


def _environment(work: Path) -> dict[str, str]:
    """PATH with `kpr-site` and `python` running this checkout's code with this interpreter."""
    shims = work / ".shims"
    shims.mkdir()
    python = shlex.quote(sys.executable)
    for command, target in (("kpr-site", f"{python} -m kpr_site"), ("python", python)):
        shim = shims / command
        shim.write_text(f'#!/bin/sh\nexec {target} "$@"\n', encoding="utf-8")
        shim.chmod(0o755)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("GITHUB_", "CI_"))}
    env["PATH"] = f"{shims}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(REPO)
    return env


def _bash(script: str, work: Path, env: dict[str, str]) -> None:
    """Run like GitHub's and GitLab's default shell: bash, stop at the first failing command."""
    done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
                          cwd=work, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"{script}\n→ Exit {done.returncode}\n{done.stdout}{done.stderr}"


def _run_github(work: Path, env: dict[str, str], pages_url: str) -> Path:
    """The `build` job for a push to main; actions/configure-pages reports `pages_url`."""
    steps = load_pipeline(GITHUB_WORKFLOW)["jobs"]["build"]["steps"]
    outputs: dict[str, dict[str, str]] = {}
    for step in steps:
        if not _runs_on_push(step.get("if")):
            continue
        if "uses" in step:
            if "actions/configure-pages@" in step["uses"]:
                outputs[step["id"]] = {"base_url": pages_url}
            continue
        if SKIPPED.match(step["run"]):
            continue
        output_file = work / ".github-output"
        output_file.write_text("", encoding="utf-8")
        step_env = {key: _evaluate(str(value), outputs) for key, value in step.get("env", {}).items()}
        _bash(step["run"], work, {**env, **step_env, "GITHUB_OUTPUT": str(output_file)})
        lines = output_file.read_text(encoding="utf-8").splitlines()
        outputs[step.get("id", "")] = dict(line.split("=", 1) for line in lines if "=" in line)
    return work / "build"


def _runs_on_push(condition: Any) -> bool:
    if condition is None:
        return True
    match = _EVENT_TEST.match(str(condition).strip())
    assert match, f"Bedingung nicht nachgebildet: {condition}"
    return (match[2] == "push") == (match[1] == "==")


def _evaluate(value: str, outputs: dict[str, dict[str, str]]) -> str:
    """`${{ steps.ID.outputs.NAME || … }}` → the first step output that is set; plain text as is."""
    match = re.fullmatch(r"\$\{\{(.*)\}\}", value.strip())
    if not match:
        return value
    for operand in match[1].split("||"):
        ref = _STEP_OUTPUT.match(operand)
        if ref and outputs.get(ref[1], {}).get(ref[2]):
            return outputs[ref[1]][ref[2]]
    raise AssertionError(f"Ausdruck nicht nachgebildet: {value}")


def _run_gitlab(work: Path, env: dict[str, str], pages_url: str) -> Path:
    """The `pages` job (default branch); GitLab sets CI_PAGES_URL to `pages_url`."""
    config = load_pipeline(GITLAB_CI)
    job = config["pages"]
    base = config.get(job.get("extends", ""), {})
    lines = [*base.get("before_script", []), *job.get("before_script", []), *job["script"]]
    script = "\n".join(line for line in lines if not SKIPPED.match(line))
    _bash(script, work, {**env, "CI_PAGES_URL": pages_url})
    return work / "public"
