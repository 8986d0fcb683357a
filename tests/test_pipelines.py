"""The CI pipelines: valid against their public schemas, safe as written, and the Pages address.

Their build commands are run for a Pages address below a path, and the result crawled, by
tests/test_site_crawl.py (through tests/pipelines.py).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections.abc import Callable
from fnmatch import fnmatch
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from conftest import REPO, SITE_YAML, MakeSite
from gates import require_tool
from pipelines import GITHUB_WORKFLOW, GITLAB_CI, load_pipeline

SCHEMAS = {"github": (GITHUB_WORKFLOW, "vendor.github-workflows"), "gitlab": (GITLAB_CI, "vendor.gitlab-ci")}
PAGES_URL = "https://owner.github.io/kpr-site"


def check_jsonschema(schema: str, path: Path) -> subprocess.CompletedProcess[str]:
    """check-jsonschema with its built-in copy of a public schema: no network needed."""
    require_tool(importlib.util.find_spec("check_jsonschema") is not None,
                 "check-jsonschema fehlt – installieren: pip install -e '.[test]'")
    return subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(path)],
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("name", list(SCHEMAS))
def test_pipeline_matches_its_public_schema(name: str) -> None:
    path, schema = SCHEMAS[name]
    done = check_jsonschema(schema, path)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(("name", "key"), [("github", "needs"), ("gitlab", "stage")])
def test_schema_check_rejects_a_misspelt_key(name: str, key: str, tmp_path: Path) -> None:
    path, schema = SCHEMAS[name]
    broken = tmp_path / path.name
    broken.write_text(path.read_text(encoding="utf-8").replace(f" {key}:", f" {key}s:"), encoding="utf-8")
    done = check_jsonschema(schema, broken)
    assert done.returncode == 1 and f"'{key}s' was unexpected" in done.stdout


# ---------- GitHub ----------


def github_jobs() -> dict[str, Any]:
    return load_pipeline(GITHUB_WORKFLOW)["jobs"]


def test_github_grants_nothing_workflow_wide_and_only_the_deploy_job_may_publish() -> None:
    assert load_pipeline(GITHUB_WORKFLOW)["permissions"] == {}
    jobs = github_jobs()
    assert all("permissions" in job for job in jobs.values())
    writers = {name for name, job in jobs.items() if "write" in job["permissions"].values()}
    assert writers == {"deploy"}
    assert jobs["deploy"]["permissions"] == {"pages": "write", "id-token": "write"}
    publishing = {name for name, job in jobs.items()
                  if any("deploy-pages" in step.get("uses", "") for step in job.get("steps", []))}
    assert publishing == {"deploy"}


def test_github_pull_requests_test_and_build_but_never_deploy() -> None:
    jobs = github_jobs()
    for name in ("test", "build"):
        assert "if" not in jobs[name], name
    condition = jobs["deploy"]["if"]
    assert "github.event_name != 'pull_request'" in condition
    assert "github.ref == 'refs/heads/main'" in condition
    assert jobs["deploy"]["needs"] == "build"


def test_github_runs_one_at_a_time_per_branch_and_cancels_only_superseded_pull_request_runs() -> None:
    concurrency = load_pipeline(GITHUB_WORKFLOW)["concurrency"]
    assert "${{ github.ref }}" in concurrency["group"]
    assert concurrency["cancel-in-progress"] == "${{ github.event_name == 'pull_request' }}"


def test_github_rebuilds_daily_on_a_schedule() -> None:
    triggers = load_pipeline(GITHUB_WORKFLOW)[True]  # PyYAML reads the key `on` as True
    (cron,) = [entry["cron"] for entry in triggers["schedule"]]
    minute, hour, *every_day = cron.split()
    assert every_day == ["*", "*", "*"] and minute.isdigit() and hour.isdigit()


def test_github_publishes_only_after_the_strict_check() -> None:
    steps = github_jobs()["build"]["steps"]
    runs = [(step.get("run", ""), step.get("if")) for step in steps]
    strict = next(i for i, (run, _) in enumerate(runs) if run == "kpr-site check --strict")
    build = next(i for i, (run, _) in enumerate(runs) if run.startswith("kpr-site build"))
    assert strict < build
    assert runs[strict][1] == "github.event_name != 'pull_request'"  # every run that can publish


def test_github_cache_key_follows_pyproject_and_all_of_kpr_sites_code() -> None:
    (cache,) = [step["with"] for step in github_jobs()["build"]["steps"]
                if step.get("uses", "").startswith("actions/cache@")]
    assert cache["path"] == ".cache"
    assert "hashFiles('pyproject.toml', 'kpr_site/**/*.py')" in cache["key"]
    # A new run saves a new entry (caches are immutable per key) and restores the newest for the code.
    assert cache["key"] == cache["restore-keys"] + "${{ github.run_id }}"


# ---------- GitLab ----------


def test_gitlab_publishes_only_from_the_default_branch_never_from_merge_requests() -> None:
    config = load_pipeline(GITLAB_CI)
    (rule,) = config["pages"]["rules"]
    assert rule["if"] == ('$CI_PIPELINE_SOURCE != "merge_request_event" '
                          "&& $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH")
    assert config["pages"]["artifacts"]["paths"] == ["public"]
    assert {"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'} in config["build"]["rules"]


def test_gitlab_publishes_one_at_a_time_per_branch_only_after_the_strict_check() -> None:
    pages = load_pipeline(GITLAB_CI)["pages"]
    assert pages["resource_group"] == "pages-$CI_COMMIT_REF_SLUG"
    assert pages["interruptible"] is False
    script = pages["script"]
    assert script[0] == "kpr-site check --strict"
    assert any(line.startswith("kpr-site build") for line in script[1:])


def test_gitlab_cache_key_follows_pyproject_and_all_of_kpr_sites_code() -> None:
    caches = load_pipeline(GITLAB_CI)[".site"]["cache"]
    (site_cache,) = [cache for cache in caches if cache["paths"] == [".cache/"]]
    files = site_cache["key"]["files"]
    assert "pyproject.toml" in files
    code = [path.relative_to(REPO).as_posix() for path in (REPO / "kpr_site").glob("*.py")]
    assert code and all(any(fnmatch(name, pattern) for pattern in files) for name in code)


# ---------- the address the pipelines build for ----------


@pytest.fixture(scope="module")
def base_url_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ci_base_url", REPO / ".ci/base_url.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_pipelines_build_for_the_pages_address_when_site_yaml_names_no_custom_domain(
    make_site: MakeSite, base_url_script: ModuleType
) -> None:
    assert base_url_script.pages_base_url(make_site({}), PAGES_URL) == PAGES_URL


def test_custom_domain_in_site_yaml_wins_over_the_pages_address(
    make_site: MakeSite, base_url_script: ModuleType
) -> None:
    site = make_site({"content/site.yaml": SITE_YAML + "custom_domain: true\n"})
    assert base_url_script.pages_base_url(site, PAGES_URL) == "https://example.org/"


def test_without_a_pages_address_the_base_url_of_site_yaml_is_used(
    make_site: MakeSite, base_url_script: ModuleType
) -> None:
    site = make_site({"content/site.yaml": SITE_YAML + "custom_domain: false\n"})
    assert base_url_script.pages_base_url(site, "") == "https://example.org/"


def test_custom_domain_must_be_true_or_false(
    make_site: MakeSite, build: Callable[..., tuple[int, str, str]]
) -> None:
    site = make_site({"content/site.yaml": SITE_YAML + "custom_domain: ja, bitte\n"})
    code, _, err = build(site)
    line = len(SITE_YAML.splitlines()) + 1
    assert code == 1
    assert f"content/site.yaml:{line}: „custom_domain“: muss „true“ oder „false“ sein." in err
