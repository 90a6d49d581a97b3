"""Plain text of a Markdown body for the text features: code, HTML, link targets and
URLs removed, in linear time whatever the input."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from ..corpus import Post
from ..markup import outside_fences
from ..store import ChecksummedFile, cache_file_name, text_key

# Spans from an opener to its nearest closer (HTML comments; script, style, pre and code
# elements; Liquid / Hugo shortcodes), removed by _remove_spans in linear time: as regexes
# (`<!--.*?-->`) a body of many unclosed openers took quadratic time (hours for 1 MB).
_SPAN_OPENERS = (  # applied in this order, as the regexes were
    re.compile(r"<!--"),
    re.compile(r"<(script|style|pre|code)\b", re.IGNORECASE),
    re.compile(r"\{%|\{\{"),
)


_SPAN_CLOSERS = {"<!--": re.compile("-->"), "{%": re.compile("%}"), "{{": re.compile("}}")}


def _remove_spans(text: str, opener: re.Pattern[str]) -> str:
    """Replace each opener...nearest closer span by a space, as re.sub with `.*?` would,
    but once an opener kind has no closer after it, its later openers are not rescanned."""
    out: list[str] = []
    start = pos = 0
    dead: set[str] = set()
    while m := opener.search(text, pos):
        kind = m.group(1).lower() if m.lastindex else m.group(0)
        closer = _SPAN_CLOSERS.get(kind) or re.compile(rf"</{kind}\s*>", re.IGNORECASE)
        c = None if kind in dead else closer.search(text, m.end())
        if c is None:
            dead.add(kind)
            pos = m.start() + 1
            continue
        out += [text[start : m.start()], " "]
        start = pos = c.end()
    out.append(text[start:])
    return "".join(out)


_CLEAN_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # Classes exclude their opener ([^\[\]], [^()], [^<>]) to stay linear: see _INLINE_RULES.
    (re.compile(r"!\[([^\[\]]*)\]\([^()]*\)"), r"\1"),
    (re.compile(r"\[([^\[\]]*)\]\([^()]*\)"), r"\1"),
    (re.compile(r"\[([^\[\]]+)\]\[[^\[\]]*\]"), r"\1"),
    (re.compile(r"^ {0,3}\[[^\[\]]+\]:\s*\S+.*$", re.MULTILINE), " "),  # link reference defs
    (re.compile(r"<[^<>]+>"), " "),  # remaining HTML tags
    (re.compile(r"(?:https?|ftp)://\S+|www\.\S+"), " "),  # bare URLs
    (re.compile(r"`[^`\n]*`"), " "),  # inline code
    (re.compile(r"&[a-zA-Z]+;|&#\d+;"), " "),  # entities
    (re.compile(r"^ {0,3}(#{1,6}|>|[-*+]|\d+[.)])\s+", re.MULTILINE), ""),  # block markers
    (re.compile(r"[*_~|]{1,3}"), " "),
)


def clean_markdown(body: str) -> str:
    """Body text for text features: code, HTML, link targets and URLs removed."""
    kept = [line for _, line in outside_fences(body.split("\n")) if line is not None]
    kept = [ln for ln in kept if not (ln.startswith("    ") or ln.startswith("\t"))]
    text = "\n".join(kept)
    for opener in _SPAN_OPENERS:
        text = _remove_spans(text, opener)
    for pattern, repl in _CLEAN_RULES:
        text = pattern.sub(repl, text)
    return "\n".join(" ".join(ln.split()) for ln in text.split("\n") if ln.strip())


def lexical_text(post: Post) -> str:
    """The text the lexical features read: title, lede and the cleaned full body."""
    return f"{post.title}\n{post.lede}\n{clean_markdown(post.body)}"


class CleanCache(ChecksummedFile):
    """`clean_markdown` of each body keyed by sha256 of the body, one file per blog (like
    `TokenCache`): a build after one edit cleans one post instead of all (~0.2 s for 745
    posts). `ident` names the code that cleaned them (blogrec's code digest): a file of
    another one, or one that does not check out, is ignored and rebuilt. `save` keeps
    only the bodies this run used."""

    magic = b"BLOGREC-CLEAN 1\n"
    kind = "clean-text cache"

    def __init__(self, directory: str | os.PathLike[str], ident: str,
                 namespace: str | None = None) -> None:
        super().__init__(Path(directory) / cache_file_name("clean", namespace, ".txt"))
        self.ident = ident
        self.texts: dict[bytes, str] = {}
        self.used: set[bytes] = set()
        self._read()

    def _decode(self, header: dict[str, Any], payload: bytes) -> None:
        if header.get("ident") != self.ident:
            self._dirty = True  # made by another version: cleaned again, quietly
            return
        table = json.loads(payload)
        self.texts = {bytes.fromhex(k): str(v) for k, v in table.items()}

    def _forget(self) -> None:
        self.texts = {}

    def _encode(self) -> tuple[dict[str, Any], bytes]:
        table = {k.hex(): v for k, v in sorted(self.texts.items())}
        payload = json.dumps(table, ensure_ascii=False, sort_keys=True).encode()
        return {"ident": self.ident, "count": len(table)}, payload

    def lexical_text(self, post: Post) -> str:
        """`lexical_text(post)`, its body cleaned once per distinct body."""
        key = text_key(post.body)
        self.used.add(key)
        clean = self.texts.get(key)
        if clean is None:
            clean = self.texts[key] = clean_markdown(post.body)
            self._dirty = True
        return f"{post.title}\n{post.lede}\n{clean}"

    def save(self) -> None:
        """Write the file if anything changed, without the bodies no run used since it
        was read."""
        stale = [key for key in self.texts if key not in self.used]
        for key in stale:
            del self.texts[key]
        self._dirty = self._dirty or bool(stale)
        super().save()
