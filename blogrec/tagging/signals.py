"""The stacked tagger's base signals, one estimator each: kNN vote, name rates, mean
vector, prior (the ridge is `blogrec.ridge`'s, shared with the related posts' tag
profiles). Each is fitted on plain arrays of one set of training posts."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import sparse

from ..vectors import normalize_rows

KNN_K = 20


class KnnVote:
    """Similarity-weighted vote of a post's k nearest training posts, each vote divided
    by the sum of the similarities; sparse (a post's votes go to its neighbours' tags).

    `fit` takes the training posts' rows in the blog (`train`, of `n_all` posts) and
    their tags; `transform` takes each post's candidate neighbours (blog rows, -1 for
    none) and similarities, nearest first, and keeps the first k that are training
    posts."""

    def __init__(self, k: int = KNN_K) -> None:
        self.k = k

    def fit(self, train: np.ndarray, y: sparse.csr_matrix, n_all: int) -> KnnVote:
        self.train_ = np.asarray(train, dtype=np.int64)
        self.n_all_ = n_all
        self.y_by_post_ = _y_by_post(y, self.train_, n_all)
        return self

    def transform(self, idx: np.ndarray, sim: np.ndarray) -> sparse.csr_matrix:
        n_all = self.n_all_
        in_train = np.zeros(n_all + 1, dtype=bool)
        in_train[self.train_] = True
        ok = in_train[idx]  # idx -1 reads the extra False slot
        keep = ok & (np.cumsum(ok, axis=1) <= self.k)
        w = np.where(keep, np.maximum(sim, 0.0), 0.0).astype(np.float64)
        total = w.sum(axis=1, keepdims=True)
        w = np.divide(w, total, out=np.zeros_like(w), where=total > 0)
        rows = np.repeat(np.arange(len(idx)), idx.shape[1])
        weights = sparse.csr_matrix((w.ravel(), (rows, np.maximum(idx, 0).ravel())),
                                    shape=(len(idx), n_all))
        return weights @ self.y_by_post_


def _y_by_post(y: sparse.csr_matrix, train: np.ndarray, n_all: int) -> sparse.csr_matrix:
    """(n_all, n_tags): the tags of training post train[r] in row train[r], empty rows
    for the others; what a kNN vote sums. Made once per model, not per block."""
    in_train = np.zeros(n_all, dtype=bool)
    in_train[train] = True
    y_all = sparse.csr_matrix((n_all, y.shape[1]))
    y_all = sparse.vstack([y_all, y]).tocsr()  # y_all[n_all + r] = y of train r
    position = np.full(n_all, 0, dtype=np.int64)
    position[train] = n_all + np.arange(len(train))
    pick = sparse.csr_matrix((np.ones(n_all), (np.arange(n_all), position)),
                             shape=(n_all, y_all.shape[0]))
    pick = pick.multiply(in_train[:, None]).tocsr()
    return pick @ y_all


class NameRates:
    """P(tag | its name occurs in the title) and (| occurs in the body), per tag.

    Estimated on the training posts and shrunk towards the pooled rate of all tags with
    weight `shrink` pseudo-posts, so a tag never (or rarely) matched in training gets the
    blog-wide rate: a rare tag whose name is in a new post's title is still suggested.
    """

    def __init__(self, shrink: float = 2.0) -> None:
        self.shrink = shrink

    def fit(self, y: sparse.csr_matrix, title: Any, body: Any) -> NameRates:
        """title, body: (n_train, n_tags) bool matches, dense or sparse."""
        yb = sparse.csr_matrix(y > 0, dtype=np.float64)
        self.rates_ = []
        for m in (title, body):
            m = sparse.csr_matrix(m, dtype=np.float64)
            n = np.asarray(m.sum(axis=0)).ravel()
            pos = np.asarray(m.multiply(yb).sum(axis=0)).ravel()
            pooled = (pos.sum() + 1.0) / (n.sum() + 2.0)
            self.rates_.append((pos + self.shrink * pooled) / (n + self.shrink))
        return self

    def transform(self, title: np.ndarray, body: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return title * self.rates_[0][None, :], body * self.rates_[1][None, :]


class MeanVector:
    """The study's tag vectors: a tag's vector is the mean of its training posts' unit
    embeddings (normalised); a post scores each tag by the inner product."""

    def fit(self, y: sparse.csr_matrix, u: np.ndarray) -> MeanVector:
        self.vectors_ = normalize_rows(np.asarray(y.T @ u))
        return self

    def transform(self, u: np.ndarray, dtype: type | None = None) -> np.ndarray:
        """(n_posts, n_tags) inner products (`dtype`: the tag vectors' type first)."""
        vectors = self.vectors_.T if dtype is None else self.vectors_.T.astype(dtype)
        return u @ vectors


class Prior:
    """Log of each tag's share of the training posts (popularity), smoothed."""

    def fit(self, y: sparse.csr_matrix) -> Prior:
        self.log_prior_ = np.log((np.asarray(y.sum(axis=0)).ravel() + 0.5)
                                 / (y.shape[0] + 1.0))
        return self

    def transform(self) -> np.ndarray:
        """(n_tags,): the same for every post."""
        return self.log_prior_
