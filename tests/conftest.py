"""Shared fixtures. Nothing here needs ../shared: tests use the repo's sample blog."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
SAMPLE_BLOG = REPO / "sample_blog" / "posts"
IN_CI = os.environ.get("CI") == "true"


def need_tool(name: str, path: str | None = None) -> str:
    """The tool's path; a missing tool fails in CI (CI=true) and skips elsewhere."""
    found = path if path and os.path.exists(path) else shutil.which(name)
    if not found:
        msg = f"{name} is not installed (scripts/install-system-deps.sh installs it)"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    return found


@pytest.fixture(scope="session")
def encoder():
    """The default offline encoder, loaded once per test session (~1 s)."""
    from blogrec.embeddings import USEMultilingual

    return USEMultilingual()


@dataclass
class SampleSite:
    """A build of the sample blog: its config, result, and where it wrote."""

    config: Any  # BuildConfig
    result: Any  # BuildResult
    out: Path
    reports: Path
    cache: Path


@pytest.fixture(scope="session")
def sample_site(tmp_path_factory) -> SampleSite:
    """One default build of the sample blog, shared by every test that only reads what it
    wrote (site data, reports, the embedding cache, the saved tag model)."""
    from blogrec.build import BuildConfig, run_build

    tmp = tmp_path_factory.mktemp("sample-site")
    out, reports, cache = tmp / "site_data", tmp / "reports", tmp / "cache"
    config = BuildConfig(posts_dir=str(SAMPLE_BLOG), out_dir=str(out),
                         reports_dir=str(reports), cache_dir=str(cache))
    return SampleSite(config, run_build(config), out, reports, cache)


@pytest.fixture
def write_posts(tmp_path):
    """Write {relative path: text or bytes} under tmp_path/posts and return that dir."""

    def write(files: dict[str, str | bytes]) -> Path:
        root = tmp_path / "posts"
        for rel, content in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        root.mkdir(exist_ok=True)
        return root

    return write


def post(title: str = "A post", tags: str = "[python]", body: str = "Body text.\n",
         extra: str = "") -> str:
    """A minimal valid post."""
    return f"---\ntitle: {title}\ntags: {tags}\n{extra}---\n{body}"
