"""Tag methods by name: the default (`stacked.BlogrecTags`) and its peers.

- ``popularity``: the training tags by frequency, whatever the text.
- ``tag-name``: cosine of the post's USE embedding with the embedding of the tag's name
  (the reference study's comparison).
- ``mean-vector``: the reference study's method: a tag's vector is the mean of the
  L2-normalised USE embeddings of the training posts that carry it (title + lede +
  headings); tags are ranked by cosine to the post.
- ``knn``: the tags of the 20 nearest training posts (USE cosine), each vote weighted
  by its similarity and divided by the sum of the similarities.
- ``tfidf-lr``: TF-IDF (fitted on the training posts only) and one logistic regression
  per tag (one-vs-rest).
- ``blogrec`` (the default): see `BlogrecTags`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import sparse
from scipy.optimize import minimize

from ..embeddings.encoders import DEFAULT_FIELDS
from .base import TagMethod
from .batch import Batch, Tfidf
from .fusion import sigmoid
from .signals import KNN_K, MeanVector
from .stacked import BlogrecTags

TAG_METHODS = ("popularity", "tag-name", "mean-vector", "knn", "tfidf-lr", "blogrec")
DEFAULT_TAG_METHOD = "blogrec"


class PopularityTags(TagMethod):
    name = "popularity"

    def _scores(self, batch: Batch) -> np.ndarray:
        p = self.vocab_.counts / max(self.vocab_.n_posts, 1)
        return np.tile(p, (len(batch), 1))


class TagNameTags(TagMethod):
    """Cosine of the post embedding with the embedding of the tag's own name."""

    name = "tag-name"
    fields = DEFAULT_FIELDS

    def _fit(self, train: Batch) -> None:
        self.vectors_ = train.features.embed(self.vocab_.display, label="tag-names")

    def _scores(self, batch: Batch) -> np.ndarray:
        return batch.use(self.fields) @ self.vectors_.T


class MeanVectorTags(TagMethod):
    """The study: tag vector = mean of its training posts' normalised embeddings."""

    name = "mean-vector"
    fields = DEFAULT_FIELDS

    def _fit(self, train: Batch) -> None:
        self.mean_ = MeanVector().fit(self.y_, train.use(self.fields))

    def _scores(self, batch: Batch) -> np.ndarray:
        return self.mean_.transform(batch.use(self.fields))


def knn_vote(sim: np.ndarray, y: sparse.csr_matrix, k: int = KNN_K) -> np.ndarray:
    """Similarity-weighted tag vote of the k most similar training posts, in [0, 1]."""
    sim = np.maximum(np.asarray(sim, dtype=np.float64), 0.0)
    n_train = sim.shape[1]
    if n_train == 0:
        return np.zeros((sim.shape[0], y.shape[1]))
    kk = min(k, n_train)
    top = np.argpartition(-sim, kk - 1, axis=1)[:, :kk]
    w = np.zeros_like(sim)
    np.put_along_axis(w, top, np.take_along_axis(sim, top, axis=1), axis=1)
    total = w.sum(axis=1, keepdims=True)
    w = np.divide(w, total, out=np.zeros_like(w), where=total > 0)
    return np.asarray((y.T.astype(np.float64) @ w.T).T)


class KnnTags(TagMethod):
    name = "knn"
    fields = DEFAULT_FIELDS
    k = KNN_K

    def _fit(self, train: Batch) -> None:
        self.u_ = train.use(self.fields)

    def _scores(self, batch: Batch) -> np.ndarray:
        return knn_vote(batch.use(self.fields) @ self.u_.T, self.y_, self.k)


class LinearOvR:
    """One L2-regularised logistic regression per tag (one-vs-rest), all solved at once.

    Same objective as scikit-learn's `LogisticRegression(C=c)` (lbfgs, unpenalised
    intercept) for each tag column. When there are fewer posts than feature columns the
    problem is solved exactly in the n-dimensional span of the training rows (the
    representer theorem: w = X^T a), via the eigendecomposition of X X^T, so a TF-IDF
    with tens of thousands of columns costs no more than the number of posts.
    """

    def __init__(self, c: float = 10.0, max_iter: int = 200) -> None:
        self.c = c
        self.max_iter = max_iter

    def _project(self, x: Any) -> np.ndarray:
        if self.basis_ is None:
            return np.asarray(x.todense() if sparse.issparse(x) else x, dtype=np.float64)
        return np.asarray(x @ self.basis_, dtype=np.float64)

    def fit(self, x: Any, y: sparse.csr_matrix) -> LinearOvR:
        n, dim = x.shape
        self.basis_ = None
        if dim > n:
            gram = np.asarray((x @ x.T).todense() if sparse.issparse(x) else x @ x.T,
                              dtype=np.float64)
            vals, vecs = np.linalg.eigh(gram)
            keep = vals > 1e-9 * max(vals.max(), 1e-30)
            # Orthonormal basis of the row space, as a (dim, r) map: x -> x X^T U S^-1.
            xt = x.T.tocsr() if sparse.issparse(x) else x.T
            self.basis_ = np.asarray(xt @ (vecs[:, keep] / np.sqrt(vals[keep])[None, :]))
        z = self._project(x)
        yd = (y.toarray() > 0).astype(np.float64)
        t = yd.shape[1]
        r = z.shape[1]
        pos = yd.mean(axis=0)
        b0 = np.log(np.clip(pos, 1e-6, 1 - 1e-6) / np.clip(1 - pos, 1e-6, 1))

        def f(theta: np.ndarray) -> tuple[float, np.ndarray]:
            w = theta[: r * t].reshape(r, t)
            b = theta[r * t:]
            s = z @ w + b[None, :]
            loss = self.c * float(np.sum(np.logaddexp(0.0, s) - yd * s)) + 0.5 * float(
                np.sum(w * w))
            g = self.c * (sigmoid(s) - yd)
            return loss, np.concatenate([(z.T @ g + w).ravel(), g.sum(axis=0)])

        theta0 = np.concatenate([np.zeros(r * t), b0])
        res = minimize(f, theta0, jac=True, method="L-BFGS-B",
                       options={"maxiter": self.max_iter, "gtol": 1e-6})
        self.w_ = res.x[: r * t].reshape(r, t)
        self.b_ = res.x[r * t:]
        # A tag on no training post (or on all of them) has no direction to learn.
        self.b_[pos == 0] = -20.0
        self.b_[pos == 1] = 20.0
        return self

    def decision_function(self, x: Any) -> np.ndarray:
        return self._project(x) @ self.w_ + self.b_[None, :]


class TfidfLRTags(TagMethod):
    """TF-IDF (fit on training posts) + one-vs-rest logistic regression."""

    name = "tfidf-lr"
    c = 10.0

    def _fit(self, train: Batch) -> None:
        self.tfidf_ = Tfidf().fit(train.counts)
        self.lr_ = LinearOvR(self.c).fit(self.tfidf_.transform(train.counts), self.y_)

    def _scores(self, batch: Batch) -> np.ndarray:
        return sigmoid(self.lr_.decision_function(self.tfidf_.transform(batch.counts)))


_CLASSES: dict[str, type[TagMethod]] = {
    "popularity": PopularityTags,
    "tag-name": TagNameTags,
    "mean-vector": MeanVectorTags,
    "knn": KnnTags,
    "tfidf-lr": TfidfLRTags,
    "blogrec": BlogrecTags,
}


def make_tag_method(name: str = DEFAULT_TAG_METHOD) -> TagMethod:
    """A fresh, unfitted tag method by name (see `TAG_METHODS`)."""
    try:
        return _CLASSES[name]()
    except KeyError:
        raise ValueError(f"unknown tag method {name!r}; choose from {', '.join(TAG_METHODS)}")\
            from None
