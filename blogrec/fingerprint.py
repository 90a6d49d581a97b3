"""Digests of what a result depends on: the blog's Markdown files, blogrec's code and
the libraries' versions. The build's unchanged-blog check (`build.state`) and the saved
tag model (`tagging.saved`) compose their fingerprints from these."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from .corpus import PostError, markdown_files_in, read_post_bytes


def posts_digest(posts_dir: str | Path, folders: Sequence[str] = (".",)) -> str:
    """sha256 of every Markdown file's path and bytes under `posts_dir` (a site root:
    under its posts folders, `sites.Site.posts_dirs`), read exactly as
    `corpus.load_corpus` reads them (a FIFO or a device is never opened; nothing is
    parsed)."""
    h = hashlib.sha256()
    root = Path(posts_dir)
    root_real = root.resolve()
    for rel, path in markdown_files_in(root, folders):
        h.update(b"\0" + rel.encode() + b"\0")
        try:
            h.update(hashlib.sha256(read_post_bytes(path, root_real)).digest())
        except PostError as exc:
            h.update(f"rejected: {exc}".encode())
    return h.hexdigest()


def code_digest() -> str:
    """sha256 of blogrec's own source: a new version of the code changes it."""
    package = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        name = path.relative_to(package).as_posix()
        h.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def versions_digest(distributions: Iterable[str]) -> str:
    """sha256 of the installed versions of these distributions ("none" if absent)."""
    h = hashlib.sha256()
    for dist in distributions:
        try:
            h.update(f"\0{dist}={version(dist)}".encode())
        except PackageNotFoundError:
            h.update(f"\0{dist}=none".encode())
    return h.hexdigest()
