"""The posts a tag model reads: rows of a `Features` store, or new posts (drafts)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import sparse

from ..corpus import Post
from ..embeddings.encoders import document_text
from ..features import joint_vectors
from ..text.clean import lexical_text
from ..text.matrices import TfidfModel, counts_in_vocab
from ..text.tokens import tokenize

# The default's post embedding: title + lede + headings, the text the build embeds anyway.
# Adding the first 4,000 body characters scored the same MAP@5 (ja-efcl 0.508 vs 0.508,
# en-18f 0.350 vs 0.350) and made a cold build encode ~10x more tokens.
BLOGREC_FIELDS = ("title", "lede", "headings")

post_text = lexical_text  # the lexical text of a post, as `Features.clean_texts`


class Batch:
    """Posts to score: rows `indices` of a `Features`, or new posts (drafts)."""

    def __init__(self, features: Any, indices: Sequence[int] | None = None,
                 posts: Sequence[Post] | None = None) -> None:
        if (indices is None) == (posts is None):
            raise ValueError("give exactly one of indices or posts")
        self.features = features
        self.indices = None if indices is None else np.asarray(indices, dtype=np.int64)
        self.posts = (
            [features.posts[i] for i in self.indices] if self.indices is not None
            else list(posts or [])
        )

    def __len__(self) -> int:
        return len(self.posts)

    def use(self, fields: Sequence[str]) -> np.ndarray:
        if self.indices is not None:
            return np.asarray(self.features.use(tuple(fields)))[self.indices]
        texts = [document_text(p, fields) for p in self.posts]
        return self.features.embed(texts, label="tags:" + "+".join(fields))

    def sub(self, rows: Any) -> Batch:
        """The batch's rows `rows` (a slice or positions) as a batch."""
        if self.indices is not None:
            return Batch(self.features, indices=self.indices[rows])
        picked = self.posts[rows] if isinstance(rows, slice) else [self.posts[r] for r in rows]
        return Batch(self.features, posts=picked)

    def joint(self) -> np.ndarray:
        """[LSI | USE] / sqrt(2): unit rows whose inner product is the mean of the LSI and
        the USE cosines (large blogs' stand-in for TF-IDF + USE)."""
        if self.indices is not None:
            return self.features.joint[self.indices]
        lsi = self.features.lsi_of([post_text(p) for p in self.posts])
        return joint_vectors(lsi, self.use(BLOGREC_FIELDS))

    @property
    def counts(self) -> sparse.csr_matrix:
        """Term counts over the blog's vocabulary (`Features.counts`); a draft's words
        that no post uses are dropped, as no model could have learnt them."""
        matrix, vocab = self.features.counts
        if self.indices is not None:
            return matrix[self.indices]
        return counts_in_vocab([tokenize(post_text(p)) for p in self.posts], vocab)


class Tfidf:
    """TF-IDF fitted on the training posts only (sublinear tf, max_df 0.5, L2 rows)."""

    def fit(self, counts: sparse.csr_matrix) -> Tfidf:
        self.model_ = TfidfModel().fit(counts)
        return self

    def transform(self, counts: sparse.csr_matrix) -> sparse.csr_matrix:
        if not self.model_.ok:
            return sparse.csr_matrix((counts.shape[0], 1), dtype=np.float32)
        return self.model_.transform(counts)
