"""Links between a blog's own posts: found in the Markdown, resolved to posts, and removable
from the text ("blinding"), so an evaluation can ask whether the posts an author linked are
among the related posts without any method having seen the links.

Everything runs in linear time whatever the input. The Markdown structure (code spans and
blocks, inline and reference links, autolinks, raw HTML) comes from markdown-it-py, a
CommonMark parser in linear time, but pure Python: it spends ~10-20 us on every bracket,
emphasis marker or line, and ~0.2 us on every other character (measured on 4.x; 300,000 `[`
take 4.6 s). A body whose estimated parse time is over MAX_PARSE_COST is therefore read by a
line-and-regex scanner instead: the same kinds of links, with CommonMark's corner cases
(nested brackets, parentheses in destinations, multi-line definitions, lists) approximated.

Template expressions are read before the Markdown, as Hugo and Jekyll do: `{{< ref "x" >}}`,
`{% post_url x %}`, `{{ site.baseurl }}`... are replaced by a same-length filler, so offsets do
not move and a link such as `[t]({{< ref "x" >}})` parses as one link.
"""

from __future__ import annotations

from .extract import MAX_PARSE_COST, extract_links
from .found import KINDS, Link
from .graph import MAX_UNRESOLVED_EXAMPLES, LinkGraph, blind, blinded_posts, link_graph
from .resolve import TAXONOMY_SEGMENTS, LinkResolver

__all__ = [
    "KINDS",
    "Link",
    "LinkGraph",
    "LinkResolver",
    "MAX_PARSE_COST",
    "MAX_UNRESOLVED_EXAMPLES",
    "TAXONOMY_SEGMENTS",
    "blind",
    "blinded_posts",
    "extract_links",
    "link_graph",
]
