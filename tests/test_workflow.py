"""The GitHub Actions template, templates/github-actions/blogrec.yml.

A blog owner copies it to .github/workflows/ unchanged but for a few EDIT lines, so it
must be a workflow GitHub accepts. actionlint checks it the way GitHub reads it (keys,
expressions, cron, action inputs, and, through shellcheck, every `run:` script);
the template passes with no finding, and broken copies of it are rejected, which shows
the check is real. The last tests pin down what the README promises a reader.

actionlint comes with the test extras (`pip install -e '.[test]'`), which put the binary
next to the interpreter; an actionlint on PATH is used otherwise.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import REPO

TEMPLATE = REPO / "templates" / "github-actions" / "blogrec.yml"
SITE_JOB_SKETCH = "# (b) A site build job"


def tool(name: str) -> str:
    """actionlint or shellcheck: the test extras install both into the venv."""
    found = (shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name))
    if not found:
        pytest.fail(f"no {name} next to {sys.executable} nor on PATH: install the test "
                    "extras (pip install -e '.[test]'), which bring it")
    return found


def lint(text: str, site: Path) -> subprocess.CompletedProcess[str]:
    """actionlint on `text` installed as the site's .github/workflows/blogrec.yml."""
    workflow = site / ".github" / "workflows" / "blogrec.yml"
    workflow.parent.mkdir(parents=True, exist_ok=True)
    workflow.write_text(text, "utf-8")
    return subprocess.run([tool("actionlint"), "-no-color", "-shellcheck", tool("shellcheck"),
                           str(workflow)], cwd=site,
                          capture_output=True, text=True, timeout=120)


def template() -> str:
    return TEMPLATE.read_text("utf-8")


def test_the_template_passes_actionlint_with_no_finding(tmp_path):
    result = lint(template(), tmp_path)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_the_site_job_sketched_for_the_artifact_variant_passes_too(tmp_path):
    head, sketch = template().split(SITE_JOB_SKETCH)
    # the commented lines after the marker, uncommented: they continue `jobs:`
    job = [line.removeprefix("# ") for line in sketch.splitlines()[1:] if line.startswith("#  ")]
    assert job and job[0].strip() == "site:"
    result = lint(head + "\n".join(job) + "\n", tmp_path)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


# Each mistake is one a person editing the template could make; actionlint must say so.
BROKEN = {
    "a misspelt key": ("timeout-minutes: 30", "timeout: 30", 'unexpected key "timeout"'),
    "an impossible cron": ('cron: "17 3 * * *"', 'cron: "17 25 * * *"', "invalid CRON format"),
    "a step id that does not exist": ("steps.install.outputs.version }}-${{ hashFiles",
                                      "steps.instal.outputs.version }}-${{ hashFiles",
                                      'property "instal" is not defined'),
    "a commit message pasted into a script": (
        'echo "related posts unchanged: nothing to commit"',
        'echo "${{ github.event.head_commit.message }}"',
        '"github.event.head_commit.message" is potentially untrusted'),
}


@pytest.mark.parametrize(("was", "now", "finding"), BROKEN.values(), ids=BROKEN.keys())
def test_actionlint_rejects_a_broken_copy(tmp_path, was, now, finding):
    assert template().count(was) == 1, f"the template no longer contains {was!r}"
    result = lint(template().replace(was, now), tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert finding in result.stdout


def test_with_shellcheck_an_unquoted_variable_in_a_script_is_rejected(tmp_path):
    was = 'git add -- "$BLOGREC_DATA"'
    assert template().count(was) == 1
    result = lint(template().replace(was, "git add -- $BLOGREC_DATA"), tmp_path)
    assert result.returncode == 1 and "SC2086" in result.stdout, result.stdout


def workflow() -> dict:
    doc = yaml.safe_load(template())
    doc["on"] = doc.pop(True)  # YAML 1.1 reads the key `on` as true
    return doc


def step(name: str) -> dict:
    steps = workflow()["jobs"]["blogrec"]["steps"]
    return next(s for s in steps if s.get("name") == name)


def test_it_runs_on_new_posts_every_night_and_on_demand():
    on = workflow()["on"]
    assert {"push", "schedule", "workflow_dispatch"} <= set(on)
    assert on["schedule"][0]["cron"]
    assert {"content/**", "_posts/**", "source/_posts/**", "src/content/**",
            "articles/**"} <= set(on["push"]["paths"])


def test_the_data_folder_it_commits_does_not_start_it_again():
    doc = workflow()
    data_folders = (doc["env"]["BLOGREC_DATA"], "data/", "_data/", "source/_data/", "src/data/")
    assert not [path for path in doc["on"]["push"]["paths"] if path.startswith(data_folders)]
    commit = step("Commit the data folder")["run"]
    assert "git diff --cached --quiet" in commit and "[skip ci]" in commit
    assert doc["jobs"]["blogrec"]["permissions"] == {"contents": "write"}
    assert doc["permissions"] == {"contents": "read"}


def test_the_build_uses_the_cache_folder_that_actions_cache_keeps():
    build = step("Build related posts")["run"]
    assert build.startswith("blogrec build . ")
    cache_dir = re.search(r"--cache-dir (\S+)", build).group(1)
    cache = step("Restore the blogrec cache")
    assert cache["uses"].startswith("actions/cache@")
    assert cache["with"]["path"] == cache_dir
    assert cache["with"]["restore-keys"].strip()  # a changed blog starts from the last cache


def test_the_cache_key_hashes_the_folders_that_trigger_a_build():
    key = step("Restore the blogrec cache")["with"]["key"]
    hashed = set(re.findall(r"'([^']+)'", re.search(r"hashFiles\(([^)]*)\)", key).group(1)))
    paths = set(workflow()["on"]["push"]["paths"]) - {".github/workflows/blogrec.yml"}
    assert hashed == paths


def test_runs_do_not_race_or_hang_and_actions_are_pinned_by_major_version():
    doc = workflow()
    assert doc["concurrency"]["group"] and doc["concurrency"]["cancel-in-progress"] is False
    assert doc["jobs"]["blogrec"]["timeout-minutes"] <= 60
    uses = [s["uses"] for s in doc["jobs"]["blogrec"]["steps"] if "uses" in s]
    assert uses and all(re.fullmatch(r"actions/[a-z-]+@v\d+", u) for u in uses), uses
