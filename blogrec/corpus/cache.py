"""The parsed-post cache: each file's `parse_post` result keyed by the file's bytes, so
that a build after one edit parses one file instead of the whole blog (the YAML and the
headings cost ~1 ms a post: 0.4-0.8 s on a blog of 745 posts)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

from ..store import EntryCache, cache_file_name
from .fields import decode, parse_post
from .posts import Post

_MAGIC = b"BLOGREC-POSTS 1\n"
_POST_FIELDS = tuple(f.name for f in dataclasses.fields(Post))

Parsed = tuple[Post, bool, list[str]]  # as parse_post returns it: post, draft, warnings


def parse_file(raw: bytes, rel_path: str, tag_fields: Sequence[str] | None,
               languages: Collection[str]) -> Parsed:
    """`parse_post` of a file's bytes (PostError if they are not UTF-8 text)."""
    return parse_post(decode(raw), rel_path, tag_fields, tuple(languages))


class PostCache(EntryCache):
    """`parse_file` results keyed by sha256 of (the file's path, bytes, the tag fields and
    the blog's languages), one file per blog; `ident` names the code that parsed them
    (blogrec's code digest and the parsing libraries' versions). Files that fail to
    parse are not cached (they are parsed again, and rejected with the same reason)."""

    magic = _MAGIC
    kind = "parsed-post cache"

    def __init__(self, directory: str | os.PathLike[str], ident: str,
                 namespace: str | None = None) -> None:
        super().__init__(Path(directory) / cache_file_name("posts", namespace, ".posts"),
                         ident)

    def _load(self, value: Any) -> Parsed:
        fields, draft, warnings = value
        values = {name: tuple(v) if isinstance(v, list) else v
                  for name, v in zip(_POST_FIELDS, fields, strict=True)}
        return Post(**values), bool(draft), [str(w) for w in warnings]

    def _dump(self, value: Parsed) -> Any:
        post, draft, warnings = value
        return [[getattr(post, name) for name in _POST_FIELDS], draft, warnings]

    def parse(self, raw: bytes, rel_path: str, tag_fields: Sequence[str] | None,
              languages: Collection[str]) -> Parsed:
        """`parse_file`, from the cache when this file was parsed with these settings."""
        h = hashlib.sha256(json.dumps([rel_path, None if tag_fields is None
                                       else list(tag_fields), sorted(languages)],
                                      ensure_ascii=False).encode() + b"\0")
        h.update(raw)
        post, draft, warnings = self.get(
            h.hexdigest(), lambda: parse_file(raw, rel_path, tag_fields, languages))
        return post, draft, list(warnings)
