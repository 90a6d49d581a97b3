"""Markdown read for what a post shows: the plain text of a line of inline markup, and
the headings of a body (never inside fenced code), in linear time whatever the input."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

MAX_HEADINGS = 1000


_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


# Greedy, then the closing #s are stripped in code: the lazy form took quadratic time on
# a heading line with a long run of spaces.
_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*)|[ \t]*)$")


_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")


_FENCE_CHARS = ("`", "~")


_SETEXT_CHARS = ("=", "-")


# The text may not contain another <hN opener, so a line of thousands of unclosed <h1>
# is scanned once, not once per opener (quadratic).
_HTML_HEADING = re.compile(r"<h([1-6])\b[^>]*>((?:(?!<h[1-6]\b).)*?)</h\1\s*>",
                           re.IGNORECASE | re.DOTALL)


_LIST_OR_BLOCK = re.compile(r"^ {0,3}([-*+>]|\d+[.)]|\||<)")


# Bracket and tag classes exclude their own opener ([^\[\]], [^()], [^<>]): with [^\]]*
# a text of thousands of unclosed '[' was rescanned to its end from every '[' (quadratic).
_INLINE_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"!\[([^\[\]]*)\]\([^()]*\)"), r"\1"),  # images -> alt text
    (re.compile(r"\[([^\[\]]*)\]\([^()]*\)"), r"\1"),  # [text](url) -> text
    (re.compile(r"\[([^\[\]]+)\]\[[^\[\]]*\]"), r"\1"),  # [text][ref] -> text
    (re.compile(r"<[^<>\n]+>"), ""),  # inline HTML tags
    (re.compile(r"`+([^`]*)`+"), r"\1"),  # code spans
    (re.compile(r"(\*\*|__|~~)(.+?)\1"), r"\2"),  # bold, strike
    (re.compile(r"(?<![\w*])[*_]([^*_\s](?:[^*_]*[^*_\s])?)[*_](?![\w*])"), r"\1"),  # italics
)


def strip_inline(text: str) -> str:
    """Plain text of one line of inline Markdown/HTML."""
    for pattern, repl in _INLINE_RULES:
        text = pattern.sub(repl, text)
    # WordPress exports leave entities such as &#038; in titles: show the character.
    return " ".join(html.unescape(text).split())


def outside_fences(lines: list[str]) -> Iterator[tuple[int, str | None]]:
    """Yield (index, line) for every line; the line is None inside fenced code blocks."""
    fence: str | None = None
    for i, line in enumerate(lines):
        # Only a line whose first non-space character (within 3 spaces) is ` or ~ can
        # open or close a fence: skip the regex for the others (most lines).
        m = _FENCE.match(line) if line[:4].lstrip(" ")[:1] in _FENCE_CHARS else None
        if fence is None:
            if m:
                fence = m.group(1)
                yield i, None
                continue
            yield i, line
        else:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence):
                if not line.strip()[len(m.group(1)) :].strip():
                    fence = None
            yield i, None


def _atx_text(text: str) -> str:
    """An ATX heading's text without its optional closing sequence (` ##`)."""
    text = text.rstrip(" \t")
    stripped = text.rstrip("#")
    if stripped != text and stripped[-1:] in (" ", "\t"):
        text = stripped.rstrip(" \t")
    return text


def extract_headings(body: str, limit: int = MAX_HEADINGS) -> tuple[str, ...]:
    """ATX, setext and HTML <hN> headings of a Markdown body, never inside fenced code."""
    lines = body.split("\n")
    found: list[tuple[int, str]] = []
    prev: str | None = None  # previous line if it could be a setext heading's text
    for i, line in outside_fences(lines):
        if line is None:
            prev = None
            continue
        first = line[:4].lstrip(" ")[:1]
        atx = _ATX.match(line) if first == "#" else None
        setext = _SETEXT.match(line) if prev is not None and first in _SETEXT_CHARS else None
        if atx:
            found.append((i, _atx_text(atx.group(2) or "")))
            prev = None
        elif setext and prev is not None:
            found.append((i - 1, prev))
            prev = None
        else:
            indented = line.startswith("    ") or line.startswith("\t")
            plain = line.strip() and not indented and not _LIST_OR_BLOCK.match(line)
            prev = line.strip() if plain else None
        if "<h" in line or "<H" in line:
            for m in _HTML_HEADING.finditer(line):
                found.append((i, m.group(2)))
        if len(found) >= limit:
            break
    headings = (strip_inline(text) for _, text in sorted(found, key=lambda x: x[0]))
    return tuple(h for h in headings if h)[:limit]
