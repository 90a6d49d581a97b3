"""Link suggestions: the blog's posts a draft should link to, each with the sentence of
the draft where the link fits and the words to link.

A post is scored against the draft by a sum of z-scores (each over the blog's posts):

    score(j) = z_words(j) + 0.25 * z_meaning(j) + 0.25 * z_citations(j)

* words: cosine of the TF-IDF of the words and adjacent word pairs of the cleaned full
  text (`text.matrices.PairTfidf`, the default related ranking's lexical signal: the
  one the author's links follow best, see `related`);
* meaning: cosine of USE on title + lede + headings;
* citations: what the posts most like the draft link to. The 30 posts with the best
  words + meaning score are the draft's neighbours; post j scores the sum, over the
  neighbours linked to or from j, of the neighbour's score (when positive). The blog's
  own links are known when a draft is written: only the draft's are not, and the draft
  is never its own neighbour.

Posts the draft already links to are marked and not suggested again.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from .corpus import Post, parse_draft
from .embeddings.encoders import document_text
from .features import Features
from .links import extract_links, link_graph
from .methods import RECIPE_FIELDS
from .text.clean import clean_markdown, lexical_text

DEFAULT_SUGGESTIONS = 10
MEANING_WEIGHT = 0.25  # weight of the USE z-score next to the words'
CITATION_WEIGHT = 0.25  # weight of the neighbours' links
NEIGHBOURS = 30  # posts most like the draft whose links are counted
MAX_SENTENCES = 2000  # sentences of one draft considered for passages
MAX_ANCHOR_SCAN = 1000  # characters of a passage searched for anchor words
MIN_ANCHOR_CHARS = 3
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+|(?<=[。！？])|\n+")


def sentences(body: str) -> list[str]:
    """The draft's sentences (cleaned text: no code, HTML or link targets)."""
    out = [" ".join(s.split()) for s in _SENTENCE_END.split(clean_markdown(body))]
    return [s for s in out if len(s) >= 2][:MAX_SENTENCES]


def _z(x: np.ndarray, keep: np.ndarray) -> np.ndarray:
    if keep.sum() < 2:
        return np.zeros_like(x)
    mean, std = float(x[keep].mean()), float(x[keep].std())
    return (x - mean) / std if std > 0 else np.zeros_like(x)


def link_matrix(links: Sequence[Collection[int]], n: int) -> sparse.csr_matrix:
    """The (n, n) 0/1 matrix of `links` (per post, the posts it is linked with)."""
    rows = np.repeat(np.arange(len(links)), [len(s) for s in links])
    cols = np.fromiter((j for s in links for j in sorted(s)), dtype=np.int64,
                       count=len(rows))
    return sparse.csr_matrix((np.ones(len(rows), dtype=np.float64), (rows, cols)),
                             shape=(n, n))


class LinkSuggester:
    """`fit(features, links)` on the blog, then `suggest(draft)`.

    k: suggestions per draft. meaning_weight: weight of the USE term; citation_weight:
    of the neighbours' links (see the module docstring). neighbours: how many of the
    posts most like the draft count. pairs: the words term is the word+pair TF-IDF
    (False: TF-IDF of the words alone; with both weights 0, the TF-IDF peer's ranking).
    """

    def __init__(self, k: int = DEFAULT_SUGGESTIONS, meaning_weight: float = MEANING_WEIGHT,
                 citation_weight: float = CITATION_WEIGHT, neighbours: int = NEIGHBOURS,
                 pairs: bool = True) -> None:
        self.k = k
        self.meaning_weight = meaning_weight
        self.citation_weight = citation_weight
        self.neighbours = neighbours
        self.pairs = pairs

    def fit(self, features: Features, links: Sequence[Collection[int]] | None = None
            ) -> LinkSuggester:
        """links: per post of `features`, the posts it links to or is linked from
        (`links.LinkGraph.undirected()`); None: no citation term."""
        self.features_ = features
        self.posts_ = features.posts
        self.words_ = features.pair_tfidf if self.pairs else features.tfidf
        self.meaning_ = features.use(RECIPE_FIELDS) if self.meaning_weight else None
        self.links_ = (link_matrix(links, len(self.posts_))
                       if links is not None and self.citation_weight else None)
        return self

    def scores(self, draft: Post, exclude: Sequence[int] = ()) -> np.ndarray:
        """The fused score of every post of the blog for `draft` (-inf at `exclude`)."""
        n = len(self.posts_)
        keep = np.ones(n, dtype=bool)
        keep[list(exclude)] = False
        words = np.asarray((self._words_of([lexical_text(draft)])
                            @ self.words_.T).todense()).ravel().astype(np.float64)
        fused = _z(words, keep)
        if self.meaning_ is not None:
            vec = self.features_.embed([document_text(draft, RECIPE_FIELDS)], label="draft")
            fused = fused + self.meaning_weight * _z(
                (self.meaning_ @ vec[0]).astype(np.float64), keep)
        if self.links_ is not None and keep.sum() > 1:
            fused = fused + self.citation_weight * _z(self._citations(fused, keep), keep)
        return np.where(keep, fused, -np.inf)

    def _words_of(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """New texts in the space of `words_`."""
        return (self.features_.pair_tfidf_of(texts) if self.pairs
                else self.features_.tfidf_of(texts))

    def _citations(self, content: np.ndarray, keep: np.ndarray) -> np.ndarray:
        """Per post, the summed positive content scores of the draft's neighbours that
        are linked with it (the excluded posts are never neighbours)."""
        ranked = np.where(keep, content, -np.inf)
        m = min(self.neighbours, int(keep.sum()))
        near = np.lexsort((np.arange(len(ranked)), -ranked))[:m]
        weight = np.maximum(ranked[near], 0.0)
        return np.asarray(self.links_[near].T @ weight).ravel()  # type: ignore[index]

    def suggest(self, draft: Post, linked: Sequence[int] = (), exclude: Sequence[int] = ()
                ) -> list[dict[str, Any]]:
        """The top-k posts for `draft` that it does not link to yet (`linked`: the posts
        it links to; `exclude`: posts never to suggest, e.g. the draft itself if it is in
        the blog), best first: {"index", "score", "passage", "anchor"}."""
        fused = self.scores(draft, [*linked, *exclude])
        order = [int(j) for j in np.lexsort((np.arange(len(fused)), -np.round(fused, 9)))
                 if np.isfinite(fused[j])][: self.k]
        found = sentences(draft.body) or [draft.title]
        sent = self._words_of(found) if order else None
        out = []
        for j in order:
            best = 0
            if sent is not None and sent.nnz:
                sims = np.asarray((sent @ self.words_[j].T).todense()).ravel()
                best = int(np.argmax(sims))
            passage = found[best]
            out.append({"index": j, "score": round(float(fused[j]), 4), "passage": passage,
                        "anchor": self._anchor(passage, j)})
        return out

    def _anchor(self, passage: str, j: int) -> str:
        """The longest stretch of the passage that is also in post j's title (whole words
        where the text has spaces); the title itself when none is long enough."""
        title = self.posts_[j].title
        text = passage[:MAX_ANCHOR_SCAN]
        match = SequenceMatcher(None, text.casefold(), title.casefold(),
                                autojunk=False).find_longest_match()
        a, size = match.a, match.size
        while size and text[a].isspace():
            a, size = a + 1, size - 1
        while size and text[a + size - 1].isspace():
            size -= 1
        if size and " " in text:  # widen to whole words
            while a > 0 and not text[a - 1].isspace():
                a, size = a - 1, size + 1
            while a + size < len(text) and not text[a + size].isspace():
                size += 1
        anchor = text[a:a + size].strip(" ,.;:!?()[]\"'「」、。")
        return anchor if len(anchor) >= MIN_ANCHOR_CHARS else title


def suggest_links_for_draft(path: str | Path, features: Features, root: str | Path | None = None,
                            k: int = DEFAULT_SUGGESTIONS, site_urls: Sequence[str] = ()
                            ) -> dict[str, Any]:
    """`blogrec suggest-links`: {"path", "title", "warning", "suggestions": [{"path",
    "slug", "title", "url", "score", "anchor", "passage"}], "linked": [the posts the
    draft links to already, {"path", "slug", "title", "url"}]}. A draft that is itself a
    post of the blog (same path) is never suggested to itself."""
    draft, warning = parse_draft(path)
    posts = features.posts
    graph = link_graph(posts, site_urls)  # the blog's links, and what resolves a draft's
    resolver = graph.resolver
    assert resolver is not None
    linked = sorted({j for link in extract_links(draft.body)
                     if (j := resolver.resolve(link.target)) is not None})
    here = Path(path).resolve()
    same = [i for i, p in enumerate(posts) if root and (Path(root) / p.path).resolve() == here]
    found = LinkSuggester(k).fit(features, graph.undirected()).suggest(
        draft, linked=linked, exclude=same)

    def ref(j: int) -> dict[str, Any]:
        p = posts[j]
        return {"path": p.path, "slug": p.slug, "title": p.title, "url": p.url}

    return {"path": str(path), "title": draft.title, "warning": warning,
            "suggestions": [{**ref(s["index"]), "score": s["score"], "anchor": s["anchor"],
                             "passage": s["passage"]} for s in found],
            "linked": [ref(j) for j in linked]}
