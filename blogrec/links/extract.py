"""Every link of a body: markdown-it when its estimated parse time allows, else the
fallback scanner."""

from __future__ import annotations

from bisect import bisect_right

from .fallback import _scan_fallback
from .found import Link, _Found
from .markdown import _parse_markdown
from .templates import _Source

# Estimated markdown-it time of a body, in microseconds (see the module docstring); over this
# the fallback scanner reads it. Costs per character, measured on markdown-it-py 4. The
# estimate runs ~3-4x low on link-dense bodies (12,000 `[a](b)` estimated at 0.29 s took
# 0.80 s, 1.2 s under CI's load), so the cap is 0.15 s: a body at the cap still parses in
# well under a second. The largest real post seen estimates at 0.11 s.
MAX_PARSE_COST = 150_000
_COST_PER_CHAR = 0.2
_COSTLY_CHARS = {"[": 20, "\n": 25, "!": 12, "*": 8, "_": 8, "&": 6, "`": 5}
_CHEAP_TERMINATORS = "]<>\\{}%$#@~+=:-^"


def _parse_cost(src: str) -> float:
    """Estimated markdown-it time of `src` in microseconds."""
    cost = _COST_PER_CHAR * len(src)
    cost += sum(weight * src.count(ch) for ch, weight in _COSTLY_CHARS.items())
    return cost + 3 * sum(src.count(ch) for ch in _CHEAP_TERMINATORS)


def _extract(body: str) -> list[_Found]:
    """Every link of a body and every reference definition, in body offsets, by position,
    no two overlapping (an outer construct wins over one inside it)."""
    source = _Source(body)
    found: list[_Found] | None = None
    if _parse_cost(source.filled) <= MAX_PARSE_COST:
        try:
            found = _parse_markdown(source)
        except RecursionError:
            found = None
    if found is None:
        found = _scan_fallback(source)
    blocks = source.code_blocks
    block_ends = [b for _, b in blocks]
    kept: list[_Found] = []
    last_end = -1
    for f in sorted(found, key=lambda f: (f.start, -f.end)):
        if f.start < last_end or f.end <= f.start:
            continue
        i = bisect_right(block_ends, f.start)
        if i < len(blocks) and blocks[i][0] < f.end:
            continue  # inside a {% highlight %} or {% comment %} block
        last_end = f.end
        kept.append(f._replace(start=source.body_offset(f.start),
                               end=source.body_offset(f.end), target=f.target.strip()))
    return kept


def extract_links(body: str) -> list[Link]:
    """Every link in a Markdown body, in order of position; never inside code spans or
    fenced/indented code blocks or HTML comments; images (`![..](..)`, `<img src>`) are not
    links. Reference definitions (`[id]: /x/ "t"`) are resolved for `[text][id]`, `[text][]`
    and `[id]` uses; the definition line itself is also returned as a span to remove
    (kind "reference", anchor "")."""
    return [Link(f.target, f.anchor, f.start, f.end, f.kind) for f in _extract(body)]

