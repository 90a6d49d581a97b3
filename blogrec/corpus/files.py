"""Finding a blog's Markdown files and reading their bytes safely."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..front_matter import PostError
from .posts import MARKDOWN_SUFFIXES, MAX_FILE_BYTES


def find_markdown_files(root: Path) -> list[Path]:
    """Markdown files under root, sorted by relative path; hidden entries are skipped."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if name.lower().endswith(MARKDOWN_SUFFIXES) and not name.startswith("."):
                found.append(Path(dirpath) / name)
    found.sort(key=lambda p: p.relative_to(root).as_posix())
    return found


def markdown_files_in(root: Path, folders: Sequence[str] = (".",)) -> list[tuple[str, Path]]:
    """(path relative to root, path) of the Markdown files under each of `folders` (of
    root), each once, sorted by relative path."""
    files: dict[str, Path] = {}
    for folder in folders:
        for path in find_markdown_files(root / folder):
            files.setdefault(path.relative_to(root).as_posix(), path)
    return sorted(files.items())


def read_post_bytes(path: Path, root_real: Path) -> bytes:
    """The bytes of a post file, or PostError: broken or escaping symlinks, non-regular
    files (FIFOs, devices: reading them could block or never end) and files over
    MAX_FILE_BYTES are refused unread."""
    try:
        real = path.resolve(strict=True)
    except FileNotFoundError:  # was reported as "symlink loop?" too, which misled
        raise PostError("cannot resolve path: broken symlink (its target does not exist)"
                        ) from None
    except (OSError, RuntimeError) as exc:
        raise PostError(f"cannot resolve path ({exc.__class__.__name__}: symlink loop?)") from None
    if not real.is_relative_to(root_real):
        raise PostError("symlink points outside the blog directory")
    if not real.is_file():
        raise PostError("not a regular file")
    size = real.stat().st_size
    if size > MAX_FILE_BYTES:
        raise PostError(f"file is too large ({size} bytes; limit {MAX_FILE_BYTES})")
    try:
        return real.read_bytes()
    except OSError as exc:
        raise PostError(f"cannot read file: {exc.strerror or exc}") from None


