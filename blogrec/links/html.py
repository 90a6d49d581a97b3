"""Links in raw HTML (`<a href>`) and bare URLs (GFM extended autolinks)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from .found import _Found
from .templates import _Source

if TYPE_CHECKING:  # markdown imports this module
    from .markdown import _ContentMap

# GFM extended autolinks: after a blank or an opening delimiter; trailing punctuation trimmed.
# (The leading lookaheads let the regex engine skip to candidate characters: 3-10x faster.)
_BARE_URL = re.compile(r"(?=[hw])(?<![^\s*_~(\[\"'>])(?:https?://|www\.)[^\s<>]+",
                       re.IGNORECASE)
_TRAILING = ".,:;!?*_~'\""
_ATTR = re.compile(r"""([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?""")
_A_OPEN = re.compile(r"<a(?=[\s/>])", re.IGNORECASE)
_A_CLOSE = re.compile(r"</a\s*>", re.IGNORECASE)
_ANY_TAG = re.compile(r"<[^<>]*>")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")


def _bare_urls(text: str, start: int, end: int) -> Iterable[tuple[int, int]]:
    """Spans of the bare URLs in text[start:end], GFM style."""
    for m in _BARE_URL.finditer(text, start, end):
        url = m[0]
        cut = len(url)
        opened = {")": url.count("("), "]": url.count("[")}
        closed = {")": url.count(")"), "]": url.count("]")}
        while cut:
            c = url[cut - 1]
            if c in _TRAILING:
                cut -= 1
            elif c in closed and closed[c] > opened[c]:
                closed[c] -= 1
                cut -= 1
            else:
                break
        scheme_end = url.find("//") + 2 if url[:1] in "hH" else 4
        if cut > scheme_end:
            yield m.start(), m.start() + cut


def _href_span(tag: str) -> tuple[int, int] | None:
    """Offsets in an `<a ...>` tag of its first href's value (HTML: the first one wins)."""
    for m in _ATTR.finditer(tag, 2):
        if m[1].lower() == "href":
            for group in (2, 3, 4):
                if m.group(group) is not None:
                    return m.span(group)
            return m.end(), m.end()
    return None


def _html_text(fragment: str) -> str:
    return " ".join(html.unescape(_ANY_TAG.sub(" ", fragment)).split())


def _complement(covered: list[tuple[int, int]], start: int, end: int) -> list[tuple[int, int]]:
    """The parts of start:end outside the covered ranges."""
    free: list[tuple[int, int]] = []
    pos = start
    for a, b in sorted(covered):
        if a > pos:
            free.append((pos, min(a, end)))
        pos = max(pos, b)
    if pos < end:
        free.append((pos, end))
    return [(a, b) for a, b in free if a < b]


def _scan_html(source: _Source, start: int, end: int) -> tuple[list[_Found], list[tuple[int, int]]]:
    """`<a href>` links of raw HTML in source[start:end], comments skipped; and its text
    outside tags (where standalone templates count)."""
    text = source.filled
    found: list[_Found] = []
    covered: list[tuple[int, int]] = []
    opened: tuple[int, int, tuple[int, int] | None] | None = None  # tag start, end, href

    def close(tag: tuple[int, int, tuple[int, int] | None], at_start: int, at_end: int) -> None:
        """An `<a>` closed by the tag at_start:at_end (or unclosed: at_end == its end)."""
        s, e, href = tag
        if href is None:
            return
        anchor = _html_text(source.src[e:at_start]) if at_end > e else ""
        target = html.unescape(source.reduce(*href))
        found.append(_Found(s, max(at_end, e), "html", target, anchor))

    pos = start
    while (i := text.find("<", pos, end)) >= 0:
        if text.startswith("<!--", i):
            j = text.find("-->", i + 4, end)
            stop = end if j < 0 else j + 3
            covered.append((i, stop))
            pos = stop
            continue
        m = _ANY_TAG.match(text, i, end)  # [^<>]: the scan stops at the next "<"
        if m is None:
            pos = i + 1
            continue
        covered.append(m.span())
        if _A_OPEN.match(m[0]):
            if opened is not None:
                close(opened, opened[1], opened[1])
            span = _href_span(m[0])
            opened = (i, m.end(), None if span is None else (i + span[0], i + span[1]))
        elif _A_CLOSE.fullmatch(m[0]) and opened is not None:
            close(opened, i, m.end())
            opened = None
        pos = m.end()
    if opened is not None:
        close(opened, opened[1], opened[1])
    covered += [(f.start, f.end) for f in found]
    return found, _complement(covered, start, end)


def _bare_links(source: _Source, text: str, segments: list[tuple[int, int]],
                to_src: _ContentMap | None = None) -> list[_Found]:
    """Bare URLs in the free segments of `text` (content offsets when `to_src` maps them)."""
    found: list[_Found] = []
    for a, b in segments:
        for s, e in _bare_urls(text, a, b):
            if to_src is not None:
                s, e = to_src.start(s), to_src.end(e)
            found.append(_Found(s, e, "bare", source.reduce(s, e), ""))
    return found

