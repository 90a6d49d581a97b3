"""`detect_site`: which generator a root uses, and what its config says."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from .astro import _ASTRO_CONFIGS, _detect_astro
from .config import _is_file
from .hugo import _detect_hugo, _is_hugo
from .jekyll import _JEKYLL_CONFIGS, _detect_jekyll_or_hexo
from .site import PLAIN_DATA_DIR, Site
from .zenn import _detect_zenn, _is_zenn


def _plain_folder(root_str: str, warnings: Sequence[str] = ()) -> Site:
    return Site(
        root=root_str, generator="folder", config_files=(), posts_dirs=(".",), base_url=None,
        permalinks={}, taxonomies=None, languages=(), default_language=None,
        language_dirs={}, data_dir=PLAIN_DATA_DIR, warnings=tuple(warnings),
    )


def detect_site(root: str | os.PathLike[str]) -> Site:
    """The generator of the site at `root` and what its config says (see `Site`).

    In order: Hugo (hugo.* or config/_default/), Astro (astro.config.*), Hexo or Jekyll
    (_config.yml with source/_posts/ or _posts/), Hugo again for a root config.* beside
    Hugo's folders, Zenn (articles/*.md), else a plain folder of posts. Never raises for
    a config; FileNotFoundError when `root` is not a folder.
    """
    root_str = os.fspath(root)
    path = Path(root_str)
    if not path.is_dir():
        raise FileNotFoundError(f"site root not found: {root_str}")
    if _is_hugo(path, weak=False):
        return _detect_hugo(path, root_str)
    if any(_is_file(path, c) for c in _ASTRO_CONFIGS):
        return _detect_astro(path, root_str)
    site = _detect_jekyll_or_hexo(path, root_str)
    if site is not None:
        return site
    if _is_hugo(path, weak=True):
        return _detect_hugo(path, root_str)
    if _is_zenn(path):
        return _detect_zenn(path, root_str)
    notes = []
    config = next((c for c in _JEKYLL_CONFIGS if _is_file(path, c)), None)
    if config:
        notes.append(f"{config}: found, but neither _posts/ nor source/_posts/ is; read as "
                     f"a plain folder of posts")
    return _plain_folder(root_str, notes)

