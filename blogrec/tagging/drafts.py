"""Tags for posts outside the blog (drafts): their signals under a fitted model, and
`DraftModel`, the part of a fitted `BlogrecTags` that scoring them needs, as plain
arrays: what the build saves for `blogrec suggest-tags` (`saved`).

Imports numpy, scipy.sparse, faiss and MeCab, not scikit-learn nor the feature store,
so that a saved model scores a draft in well under a second. `BlogrecTags` computes a
new post's signals with the same function (`new_post_parts`); only the draft's LSI
(`Lexicon.lsi_of`) and [LSI | USE] (`joint_vectors`) are written again here, after
`Features.lsi_of` and `features.joint_vectors` (a test checks they give the same bits).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from ..ann import search
from ..corpus import Post, parse_draft, tag_key
from ..embeddings.encoders import document_text
from ..ridge import Ridge
from ..taxonomy import TagVocabulary
from ..text.clean import lexical_text
from ..text.tokens import tokenize
from ..vectors import normalize_rows
from .fused import Linear, SignalParts, fused_scores
from .names import lexical_matches
from .ranking import row_suggestions
from .signals import KnnVote, MeanVector, NameRates, Prior

# texts -> their embeddings (unit float32 rows), e.g. through the embedding cache
Embed = Callable[[Sequence[str]], np.ndarray]


@dataclass
class FoldModel:
    """The base signals' models fitted on one set of training posts."""

    train: np.ndarray  # the blog rows of its training posts
    y: sparse.csr_matrix  # their tags
    ridge: Ridge
    knn: KnnVote
    prior: Prior
    names: NameRates
    mean: MeanVector

    @property
    def seen(self) -> np.ndarray:
        """(1, n_tags): the tags its training posts carry."""
        return (np.asarray(self.y.sum(axis=0)).ravel() > 0)[None, :]


def joint_vectors(lsi: np.ndarray, use: np.ndarray) -> np.ndarray:
    """[LSI | USE] / sqrt(2), float32 (as `features.joint_vectors`)."""
    return np.hstack([lsi, use]).astype(np.float32) / np.float32(np.sqrt(2.0))


def new_post_parts(m: FoldModel, posts: Sequence[Post], keys: Sequence[str],
                   joint: np.ndarray, use: np.ndarray, train_joint: np.ndarray, k: int
                   ) -> SignalParts:
    """The base signals of posts outside the blog under the fold model `m`.

    joint: the posts' [LSI | USE] rows; use: their embeddings for the mean signal;
    train_joint: the [LSI | USE] rows of `m`'s training posts, among which the kNN vote
    takes the posts' `k` nearest (exact search)."""
    found, sim = search(train_joint, min(k, len(m.train)), queries=joint, mode="exact",
                        exclude_self=False)
    neighbours = np.where(found >= 0, m.train[np.maximum(found, 0)], -1)
    return SignalParts(
        lr=m.ridge.predict(joint),
        knn=m.knn.transform(neighbours, sim),
        prior=m.prior.transform(),
        title=lexical_matches([p.title for p in posts], keys),
        body=lexical_matches([lexical_text(p) for p in posts], keys),
        mean=m.mean.transform(use, np.float32), names=m.names)


@dataclass
class Lexicon:
    """How a new text maps into the blog's LSI space, as `Features.lsi_of` maps it: the
    posts' vocabulary, their TF-IDF weights (None: no word of the blog is weighted, every
    LSI vector is 0) and the topic basis (n_terms, dims)."""

    terms: list[str]
    idf: np.ndarray | None
    basis: np.ndarray
    dims: int

    def __post_init__(self) -> None:
        self._column = {t: i for i, t in enumerate(self.terms)}

    def lsi_of(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dims) LSI vectors: the texts' words that no post uses dropped,
        the posts' TF-IDF weights and topic basis applied."""
        if self.idf is None:
            return np.zeros((len(texts), self.dims), dtype=np.float32)
        x = self._tfidf(self._counts([tokenize(t) for t in texts]))
        return normalize_rows(np.asarray(x @ self.basis))

    def _counts(self, token_lists: Sequence[Sequence[str]]) -> sparse.csr_matrix:
        """Term counts over the vocabulary (`text.matrices.counts_in_vocab`)."""
        rows, cols = [], []
        for r, toks in enumerate(token_lists):
            for t in toks:
                c = self._column.get(t)
                if c is not None:
                    rows.append(r)
                    cols.append(c)
        m = sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)),
                              shape=(len(token_lists), len(self.terms)))
        m.sum_duplicates()
        return m

    def _tfidf(self, counts: sparse.csr_matrix) -> sparse.csr_matrix:
        """`text.matrices.TfidfModel.transform`: sublinear tf times idf, L2 rows, float32.
        The rows are normalised as scikit-learn's `normalize` does (a running sum of
        squares in order, then one division by its square root), without importing it."""
        assert self.idf is not None
        x = sparse.csr_matrix(counts, dtype=np.float64, copy=True)
        x.data = (np.log(x.data) + 1.0) * self.idf[x.indices]
        x.eliminate_zeros()
        for i in range(x.shape[0]):
            row = slice(x.indptr[i], x.indptr[i + 1])
            if row.start == row.stop:
                continue
            squares = np.add.accumulate(x.data[row] * x.data[row])[-1]
            if squares != 0.0:
                x.data[row] /= np.sqrt(squares)
        return x.astype(np.float32)


@dataclass
class DraftModel:
    """What scoring posts outside the blog needs from a fitted `BlogrecTags` and the
    blog's features (`BlogrecTags.draft_model`), as arrays: the tags, the model fitted
    on every training post, the fusion's weights, the training posts' [LSI | USE] rows
    (their kNN vote) and the blog's LSI map. `scores` gives the fitted model's scores
    to the bit without the blog's features: only the draft is tokenised and embedded."""

    name: str
    vocab: TagVocabulary
    model: FoldModel
    fusion: Linear | None  # None: too few posts to learn weights (the fallback)
    k: int  # neighbours in the kNN vote
    fields: tuple[str, ...]  # the embedded text of the mean signal
    joint_fields: tuple[str, ...]  # the embedded text of [LSI | USE]
    train_joint: np.ndarray  # (n_train, dim) [LSI | USE] of model.train
    lexicon: Lexicon

    def scores(self, posts: Sequence[Post], embed: Embed) -> np.ndarray:
        """(len(posts), n_tags) scores, columns as `vocab.keys` (`embed`: texts to
        embeddings, e.g. through the embedding cache)."""
        posts = list(posts)
        use_joint = embed([document_text(p, self.joint_fields) for p in posts])
        use = use_joint if self.fields == self.joint_fields else embed(
            [document_text(p, self.fields) for p in posts])
        joint = joint_vectors(self.lexicon.lsi_of([lexical_text(p) for p in posts]),
                              use_joint)
        parts = new_post_parts(self.model, posts, self.vocab.keys, joint, use,
                               self.train_joint, self.k)
        return np.asarray(fused_scores(parts, self.fusion), dtype=np.float64)

    def suggest_for_draft(self, path: str | Path, embed: Embed, k: int = 5
                          ) -> dict[str, Any]:
        """`suggest.suggest_for_draft`'s result for a draft file, from this model
        ("model": "saved")."""
        post, warning = parse_draft(path)
        row = self.scores([post], embed)[0]
        return draft_result(path, post, warning, self.vocab,
                            text_suggestions(post, row, self.vocab, k), self.name, "saved")


def text_suggestions(post: Post, row: np.ndarray, vocab: TagVocabulary, k: int
                     ) -> list[dict[str, Any]]:
    """Top-k {"tag" (blog spelling), "score", "on_post"} of a post's row of scores; tags
    already on the post stay in the ranking, marked "on_post": true."""
    own = {tag_key(t) for t in post.tags}
    return [{"tag": vocab.display[j], "score": round(score, 4), "on_post": vocab.keys[j] in own}
            for j, score in row_suggestions(row, vocab, k, set())]


def draft_result(path: str | Path, post: Post, warning: str | None, vocab: TagVocabulary,
                 suggestions: list[dict[str, Any]], method: str, model: str
                 ) -> dict[str, Any]:
    """The document of a draft's suggestions (see `suggest.suggest_for_draft`)."""
    display = dict(zip(vocab.keys, vocab.display, strict=True))
    return {
        "path": str(path),
        "title": post.title,
        "warning": warning,
        "tags": [display.get(tag_key(t), t) for t in post.tags],
        "suggestions": suggestions,
        "method": method,
        "model": model,
    }
