"""The tags of a set of posts (the taxonomy the models learn): matching keys, display
spellings, post counts, and the 0/1 matrix of posts by tag, built here alone."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from .corpus import Post, tag_key


@dataclass
class TagVocabulary:
    """The training tags: matching keys, display spellings, post counts."""

    keys: list[str]
    display: list[str]
    counts: np.ndarray
    n_posts: int

    @classmethod
    def from_posts(cls, posts: Sequence[Post], min_posts: int = 1,
                   order: str = "count") -> TagVocabulary:
        """The tags on at least `min_posts` of `posts`, the most frequent first (ties by
        key), or by key (`order="key"`); each shown as first written."""
        counts: Counter[str] = Counter()
        display: dict[str, str] = {}
        for p in posts:
            for t in dict.fromkeys(tag_key(t) for t in p.tags):
                counts[t] += 1
        for p in posts:
            for t in p.tags:
                display.setdefault(tag_key(t), t)
        keys = sorted(counts, key=lambda k: (-counts[k], k))
        if min_posts > 1:
            keys = [k for k in keys if counts[k] >= min_posts]
        if order == "key":
            keys.sort()
        elif order != "count":
            raise ValueError(f"order must be 'count' or 'key', not {order!r}")
        return cls(keys, [display[k] for k in keys],
                   np.array([counts[k] for k in keys], dtype=np.float64), len(posts))

    @property
    def index(self) -> dict[str, int]:
        return {k: i for i, k in enumerate(self.keys)}

    def matrix(self, posts: Sequence[Post], dtype: type = np.float32) -> sparse.csr_matrix:
        """(len(posts), n_tags) 0/1 matrix; tags outside the vocabulary are dropped."""
        idx = self.index
        rows, cols = [], []
        for i, p in enumerate(posts):
            for c in {idx[k] for k in (tag_key(t) for t in p.tags) if k in idx}:
                rows.append(i)
                cols.append(c)
        return sparse.csr_matrix(
            (np.ones(len(rows), dtype=dtype), (rows, cols)),
            shape=(len(posts), len(self.keys)),
        )


def tag_matrix(posts: Sequence[Post], min_posts: int = 1, order: str = "count",
               dtype: type = np.float32) -> tuple[sparse.csr_matrix, TagVocabulary]:
    """(the posts' 0/1 tag matrix, its vocabulary): `TagVocabulary.from_posts` of the
    posts themselves, then its `matrix`."""
    vocab = TagVocabulary.from_posts(posts, min_posts, order)
    return vocab.matrix(posts, dtype), vocab


def dice(a: set[str] | frozenset[str], b: set[str] | frozenset[str]) -> float:
    """Dice coefficient of two tag sets; 0 when both are empty."""
    if not a and not b:
        return 0.0
    return 2.0 * len(a & b) / (len(a) + len(b))


def dice_matrix(indicators: np.ndarray | sparse.spmatrix) -> np.ndarray:
    """Dice of every pair of rows of a 0/1 post-by-tag matrix, 2|A & B| / (|A| + |B|),
    dense (n, n); 0 where both rows are empty (the diagonal is left as it comes)."""
    inter = indicators @ indicators.T
    inter = inter.toarray() if sparse.issparse(inter) else np.asarray(inter)
    sizes = np.asarray(indicators.sum(axis=1)).ravel()
    denom = sizes[:, None] + sizes[None, :]
    return np.divide(2 * inter, denom, out=np.zeros_like(inter), where=denom > 0)
