"""Link suggestions: the blog's posts a draft should link to, each with the sentence of
the draft where the link fits and the words to link.

A post is scored against the draft by the fused, z-scored (over the blog's posts) cosines
of the words (TF-IDF of the cleaned full text, the lexical signal the author's links
follow best, see `evaluation.compare`) and of the meaning (USE on title + lede +
headings), as the related posts are; posts the draft already links to are marked and
not suggested again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

import numpy as np

from .corpus import Post, parse_draft
from .embeddings.encoders import document_text
from .features import Features
from .links import LinkResolver, extract_links
from .methods import RECIPE_FIELDS
from .text.clean import clean_markdown, lexical_text

DEFAULT_SUGGESTIONS = 10
MEANING_WEIGHT = 0.5  # weight of the USE z-score next to the words'
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


class LinkSuggester:
    """`fit(features)` on the blog, then `suggest(draft)`.

    k: suggestions per draft. meaning_weight: weight of the USE term (0: words only,
    the TF-IDF peer's ranking).
    """

    def __init__(self, k: int = DEFAULT_SUGGESTIONS, meaning_weight: float = MEANING_WEIGHT
                 ) -> None:
        self.k = k
        self.meaning_weight = meaning_weight

    def fit(self, features: Features) -> LinkSuggester:
        self.features_ = features
        self.posts_ = features.posts
        self.words_ = features.tfidf
        self.meaning_ = features.use(RECIPE_FIELDS) if self.meaning_weight else None
        return self

    def scores(self, draft: Post, exclude: Sequence[int] = ()) -> np.ndarray:
        """The fused score of every post of the blog for `draft` (-inf at `exclude`)."""
        n = len(self.posts_)
        keep = np.ones(n, dtype=bool)
        keep[list(exclude)] = False
        words = np.asarray((self.features_.tfidf_of([lexical_text(draft)])
                            @ self.words_.T).todense()).ravel().astype(np.float64)
        fused = _z(words, keep)
        if self.meaning_ is not None:
            vec = self.features_.embed([document_text(draft, RECIPE_FIELDS)], label="draft")
            fused = fused + self.meaning_weight * _z(
                (self.meaning_ @ vec[0]).astype(np.float64), keep)
        return np.where(keep, fused, -np.inf)

    def suggest(self, draft: Post, linked: Sequence[int] = (), exclude: Sequence[int] = ()
                ) -> list[dict[str, Any]]:
        """The top-k posts for `draft` that it does not link to yet (`linked`: the posts
        it links to; `exclude`: posts never to suggest, e.g. the draft itself if it is in
        the blog), best first: {"index", "score", "passage", "anchor"}."""
        fused = self.scores(draft, [*linked, *exclude])
        order = [int(j) for j in np.lexsort((np.arange(len(fused)), -np.round(fused, 9)))
                 if np.isfinite(fused[j])][: self.k]
        found = sentences(draft.body) or [draft.title]
        sent = self.features_.tfidf_of(found) if order else None
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
    resolver = LinkResolver(site_urls).fit(posts)
    linked = sorted({j for link in extract_links(draft.body)
                     if (j := resolver.resolve(link.target)) is not None})
    here = Path(path).resolve()
    same = [i for i, p in enumerate(posts) if root and (Path(root) / p.path).resolve() == here]
    found = LinkSuggester(k).fit(features).suggest(draft, linked=linked, exclude=same)

    def ref(j: int) -> dict[str, Any]:
        p = posts[j]
        return {"path": p.path, "slug": p.slug, "title": p.title, "url": p.url}

    return {"path": str(path), "title": draft.title, "warning": warning,
            "suggestions": [{**ref(s["index"]), "score": s["score"], "anchor": s["anchor"],
                             "passage": s["passage"]} for s in found],
            "linked": [ref(j) for j in linked]}
