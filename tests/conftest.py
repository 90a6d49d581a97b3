"""Shared fixtures. Nothing here needs ../shared: tests use the repo's sample blog."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SAMPLE_BLOG = REPO / "sample_blog" / "posts"


@pytest.fixture(scope="session")
def encoder():
    """The default offline encoder, loaded once per test session (~1 s)."""
    from blogrec.embeddings import USEMultilingual

    return USEMultilingual()


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
