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

from ..store import ChecksummedFile, cache_file_name
from .fields import decode, parse_post
from .posts import Post

_MAGIC = b"BLOGREC-POSTS 1\n"
_POST_FIELDS = tuple(f.name for f in dataclasses.fields(Post))

Parsed = tuple[Post, bool, list[str]]  # as parse_post returns it: post, draft, warnings


def parse_file(raw: bytes, rel_path: str, tag_fields: Sequence[str] | None,
               languages: Collection[str]) -> Parsed:
    """`parse_post` of a file's bytes (PostError if they are not UTF-8 text)."""
    return parse_post(decode(raw), rel_path, tag_fields, tuple(languages))


class PostCache(ChecksummedFile):
    """`parse_file` results keyed by sha256 of (the file's path, bytes, the tag fields and
    the blog's languages), one file per blog; `ident` names the code that parsed them
    (blogrec's code digest and the parsing libraries' versions), and a file of another
    one is not used. Files that fail to parse are not cached (they are parsed again).

    `save` keeps only the entries this run parsed or used, so the file does not grow."""

    magic = _MAGIC
    kind = "parsed-post cache"

    def __init__(self, directory: str | os.PathLike[str], ident: str,
                 namespace: str | None = None) -> None:
        super().__init__(Path(directory) / cache_file_name("posts", namespace, ".posts"))
        self.ident = ident
        self.entries: dict[str, Parsed] = {}
        self.used: set[str] = set()
        self._read()

    def _decode(self, header: dict[str, Any], payload: bytes) -> None:
        if header.get("ident") != self.ident:
            self._dirty = True  # made by another version: parsed again, quietly
            return
        table = json.loads(payload)
        entries = {}
        for key, (fields, draft, warnings) in table.items():
            values = {name: tuple(v) if isinstance(v, list) else v
                      for name, v in zip(_POST_FIELDS, fields, strict=True)}
            entries[str(key)] = (Post(**values), bool(draft), [str(w) for w in warnings])
        self.entries = entries

    def _forget(self) -> None:
        self.entries = {}

    def _encode(self) -> tuple[dict[str, Any], bytes]:
        table = {key: [[getattr(post, name) for name in _POST_FIELDS], draft, warnings]
                 for key, (post, draft, warnings) in sorted(self.entries.items())}
        payload = json.dumps(table, ensure_ascii=False, sort_keys=True).encode()
        return {"ident": self.ident, "count": len(table)}, payload

    def parse(self, raw: bytes, rel_path: str, tag_fields: Sequence[str] | None,
              languages: Collection[str]) -> Parsed:
        """`parse_file`, from the cache when this file was parsed with these settings."""
        h = hashlib.sha256(json.dumps([rel_path, None if tag_fields is None
                                       else list(tag_fields), sorted(languages)],
                                      ensure_ascii=False).encode() + b"\0")
        h.update(raw)
        key = h.hexdigest()
        self.used.add(key)
        hit = self.entries.get(key)
        if hit is None:
            hit = self.entries[key] = parse_file(raw, rel_path, tag_fields, languages)
            self._dirty = True
        post, draft, warnings = hit
        return post, draft, list(warnings)

    def save(self) -> None:
        """Write the file if anything changed, without the entries no run used since
        it was read."""
        stale = [key for key in self.entries if key not in self.used]
        for key in stale:
            del self.entries[key]
        self._dirty = self._dirty or bool(stale)
        super().save()
