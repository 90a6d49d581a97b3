"""Reading a blog: Markdown files with YAML (or Hugo TOML) front matter -> `Post` records.

Supports the front-matter conventions of Hexo, Jekyll, Hugo and Zenn. A file that
cannot be used is never fatal: it becomes a `FileNote` (path + reason) and the
rest of the blog is read.
"""

from __future__ import annotations

from ..front_matter import PostError
from .cache import PostCache
from .fields import NotAPost, decode, parse_date, parse_draft, parse_post
from .files import find_markdown_files, markdown_files_in, read_post_bytes
from .load import load_corpus
from .posts import (
    CATEGORY_FIELDS,
    MARKDOWN_SUFFIXES,
    MAX_FIELD_CHARS,
    MAX_FILE_BYTES,
    MAX_TAGS,
    PEOPLE_TAXONOMIES,
    TAG_FIELDS,
    Corpus,
    FileNote,
    Post,
    display_forms,
    tag_key,
    tag_sets,
)

__all__ = [
    "CATEGORY_FIELDS",
    "Corpus",
    "FileNote",
    "MARKDOWN_SUFFIXES",
    "MAX_FIELD_CHARS",
    "MAX_FILE_BYTES",
    "MAX_TAGS",
    "NotAPost",
    "PEOPLE_TAXONOMIES",
    "Post",
    "PostCache",
    "PostError",
    "TAG_FIELDS",
    "decode",
    "display_forms",
    "find_markdown_files",
    "load_corpus",
    "markdown_files_in",
    "parse_date",
    "parse_draft",
    "parse_post",
    "read_post_bytes",
    "tag_key",
    "tag_sets",
]
