"""Plain text of a Markdown body for the text features: code, HTML, link targets and
URLs removed, in linear time whatever the input."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from ..corpus import Post
from ..markup import outside_fences
from ..store import EntryCache, cache_file_name, text_key

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


def lexical_text(post: Post, clean: Callable[[str], str] = clean_markdown) -> str:
    """The text the lexical features read: title, lede and the cleaned full body
    (`clean`: how the body is cleaned; `CleanCache.clean_markdown` remembers it)."""
    return f"{post.title}\n{post.lede}\n{clean(post.body)}"


class CleanCache(EntryCache):
    """`clean_markdown` of each body keyed by sha256 of the body, one file per blog (like
    `TokenCache`): a build after one edit cleans one post instead of all (~0.2 s for 745
    posts). `ident` names the code that cleaned them (blogrec's code digest)."""

    magic = b"BLOGREC-CLEAN 1\n"
    kind = "clean-text cache"

    def __init__(self, directory: str | os.PathLike[str], ident: str,
                 namespace: str | None = None) -> None:
        super().__init__(Path(directory) / cache_file_name("clean", namespace, ".txt"),
                         ident)

    def clean_markdown(self, body: str) -> str:
        """`clean_markdown(body)`, computed once per distinct body."""
        return self.get(text_key(body).hex(), lambda: clean_markdown(body))
