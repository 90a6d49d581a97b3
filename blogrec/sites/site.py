"""A site root as blogrec reads it (`Site`), and the folders blogrec writes to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from ..front_matter import MAX_YAML_DEPTH

MAX_CONFIG_BYTES = 2 * 1024 * 1024
# Values in one config once YAML aliases are expanded: real configs hold a few hundred.
MAX_CONFIG_VALUES = 100_000
MAX_CONFIG_DEPTH = MAX_YAML_DEPTH

REPORTS_DIR = "blogrec-reports"
PLAIN_DATA_DIR = "blogrec-data"
MARKDOWN_SUFFIXES = (".md", ".markdown")

_CSafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Site:
    """A site root as blogrec reads it. Paths are relative to `root`, POSIX separators."""

    root: str
    generator: str  # "hugo" | "jekyll" | "hexo" | "astro" | "zenn" | "folder"
    config_files: tuple[str, ...]  # the config files read (parsed), in reading order
    posts_dirs: tuple[str, ...]
    base_url: str | None  # without a trailing slash, so base_url + "/2024/05/x/" joins
    permalinks: dict[str, str]  # section -> pattern; Jekyll/Hexo {"*": pattern}
    taxonomies: tuple[str, ...] | None  # front-matter keys of the taxonomies; None: not declared
    languages: tuple[str, ...]  # default language first; () when not multilingual
    default_language: str | None
    language_dirs: dict[str, str]  # lang -> content folder, when languages have their own
    data_dir: str
    reports_dir: str = REPORTS_DIR
    warnings: tuple[str, ...] = ()
    # Hexo's `new_post_name` (how a post's file name encodes its slug); None elsewhere.
    new_post_name: str | None = None
    # The folder a page's own path is relative to in the generator's templates (Hugo's
    # contentDir: `.File.Path`; Hexo's source_dir: `page.source`); None: the root
    # (Jekyll's `page.path`).
    content_dir: str | None = None

    def page_path(self, path: str, lang: str | None = None) -> str:
        """A post's path (relative to the root) as the generator's templates see it:
        relative to its language's content folder, else to `content_dir`."""
        for folder in (self.language_dirs.get(lang or ""), self.content_dir):
            if folder and path.startswith(folder.rstrip("/") + "/"):
                return path[len(folder.rstrip("/")) + 1:]
        return path

    def describe(self) -> dict[str, Any]:
        """A JSON-ready summary for the build report."""
        return {
            "generator": self.generator,
            "config_files": list(self.config_files),
            "posts_dirs": list(self.posts_dirs),
            "base_url": self.base_url,
            "permalinks": dict(self.permalinks),
            "taxonomies": None if self.taxonomies is None else list(self.taxonomies),
            "languages": list(self.languages),
            "default_language": self.default_language,
            "language_dirs": dict(self.language_dirs),
            "data_dir": self.data_dir,
            "content_dir": self.content_dir,
            "warnings": list(self.warnings),
        }

