"""The links between a blog's posts, and their removal from the text (blinding)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from ..corpus import Post
from .extract import _extract
from .resolve import LinkResolver

MAX_UNRESOLVED_EXAMPLES = 5


@dataclass
class LinkGraph:
    """The links between a blog's posts, and where they are in each body."""

    out: list[tuple[int, ...]]  # per post, the posts it links to (sorted, unique, no self)
    spans: list[tuple[tuple[int, int], ...]]  # per post, the spans to blind (sorted)
    resolved: int  # links that reach another post
    unresolved: int  # links that look internal but reach no post
    unresolved_examples: tuple[tuple[str, str], ...]  # (post path, target), first ones
    external: int  # other sites, assets, same-page anchors and self-links, mailto...
    # what resolved them, fitted on the blog: resolves a draft's links the same way
    resolver: LinkResolver | None = field(default=None, repr=False, compare=False)

    def undirected(self) -> list[frozenset[int]]:
        """Per post, the posts it links to or that link to it."""
        linked = [set(targets) for targets in self.out]
        for i, targets in enumerate(self.out):
            for j in targets:
                linked[j].add(i)
        return [frozenset(s) for s in linked]


def link_graph(posts: Sequence[Post], site_urls: Sequence[str] = ()) -> LinkGraph:
    """Extract every post's links, resolve them (two passes: the second knows the hosts the
    blog uses for its own posts) and collect the spans that blinding removes.

    A reference definition is blinded when its target reaches another post (then so do all
    its uses, which share its target); definitions are not counted as links themselves.
    """
    extracted = [_extract(p.body) for p in posts]
    resolver = LinkResolver(site_urls)._fit(posts, extracted)
    out: list[tuple[int, ...]] = []
    spans: list[tuple[tuple[int, int], ...]] = []
    resolved = unresolved = external = 0
    examples: list[tuple[str, str]] = []
    for i, (post, found) in enumerate(zip(posts, extracted, strict=True)):
        targets: set[int] = set()
        blinded: list[tuple[int, int]] = []
        for f in found:
            status, j = resolver._classify(f.target, i)
            if status == "post":
                blinded.append((f.start, f.end))
            if f.definition:
                continue
            if status == "post" and j is not None:
                targets.add(j)
                resolved += 1
            elif status == "internal":
                unresolved += 1
                example = (post.path, f.target)
                if len(examples) < MAX_UNRESOLVED_EXAMPLES and example not in examples:
                    examples.append(example)
            else:
                external += 1
        out.append(tuple(sorted(targets)))
        spans.append(tuple(sorted(blinded)))
    return LinkGraph(out, spans, resolved, unresolved, tuple(examples), external, resolver)


def blind(body: str, spans: Sequence[tuple[int, int]]) -> str:
    """The body with each span replaced by one space, everything else byte-identical."""
    pieces: list[str] = []
    pos = 0
    for start, end in sorted(spans):
        start, end = max(start, 0), min(end, len(body))
        if start < pos:  # overlaps the previous span: one removal
            pos = max(pos, end)
        elif start < end:
            pieces += [body[pos:start], " "]
            pos = end
    pieces.append(body[pos:])
    return "".join(pieces)


def blinded_posts(posts: Sequence[Post], graph: LinkGraph) -> list[Post]:
    """The posts with their links to other posts removed; a post without any is the same
    object."""
    return [replace(p, body=blind(p.body, s)) if s else p
            for p, s in zip(posts, graph.spans, strict=True)]
