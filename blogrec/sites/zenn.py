"""Zenn: `articles/*.md`."""

from __future__ import annotations

from pathlib import Path

from .config import _depends_on, _package_json
from .site import PLAIN_DATA_DIR, Site


def _is_zenn(root: Path) -> bool:
    articles = root / "articles"
    return articles.is_dir() and any(p.suffix.lower() == ".md" and p.is_file()
                                     for p in articles.iterdir())


def _detect_zenn(root: Path, root_str: str) -> Site:
    warnings: list[str] = []
    package = _package_json(root, warnings)
    # zenn.dev/<user>/articles/<slug>: the user is not in the repository, so no base URL.
    return Site(
        root=root_str, generator="zenn",
        config_files=("package.json",) if _depends_on(package, "zenn-cli") else (),
        posts_dirs=("articles",), base_url=None, permalinks={}, taxonomies=None,
        languages=(), default_language=None, language_dirs={}, data_dir=PLAIN_DATA_DIR,
        warnings=tuple(warnings),
    )

