"""The stacked tagger's fusion formula: base signals in, calibrated scores out.

Kept apart from `fusion` (the logistic regression that learns the weights, scikit-learn)
so that scoring a draft with a saved model (`drafts`) imports numpy and scipy only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse

from .signals import NameRates

SIGNALS = ("lr", "knn", "prior", "title", "body", "mean")

# The learnt fusion on the raw signals: (weights in SIGNALS order, intercept);
# None when there was nothing to learn them from (`fallback` then).
Linear = tuple[np.ndarray, float]


def sigmoid(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """1 / (1 + exp(-z)), z clipped to [-35, 35]; in place when `out` is z."""
    out = np.clip(z, -35, 35, out=out)
    np.negative(out, out=out)
    np.exp(out, out=out)
    out += 1.0
    return np.divide(1.0, out, out=out)


def fallback(lr: Any, knn: Any, title: Any, body: Any) -> np.ndarray:
    """Too few posts to learn weights: equal parts ridge, vote and name match."""
    return (np.clip(lr, 0, 1) + knn + np.maximum(title, body)) / 3


@dataclass
class SignalParts:
    """The base signals of a block of posts, in SIGNALS order, as computed: lr and mean
    (n_posts, n_tags) arrays, the kNN votes sparse, the prior one row, and the title
    and body name matches (0/1, sparse for the blog's posts) before their per-tag rates
    (`names`) apply."""

    lr: np.ndarray
    knn: sparse.csr_matrix
    prior: np.ndarray
    title: Any
    body: Any
    mean: np.ndarray
    names: NameRates

    def dense(self) -> list[np.ndarray]:
        """The signals in SIGNALS order, each (n_posts, n_tags)."""
        title, body = self.names.transform(
            *(x.toarray() if sparse.issparse(x) else x for x in (self.title, self.body)))
        return [self.lr, np.asarray(self.knn.todense()), np.broadcast_to(self.prior,
                self.lr.shape), title, body, self.mean]


def stacked_scores(signals: np.ndarray, linear: Linear | None) -> np.ndarray:
    """Scores of stacked signals (n_posts, n_tags, n_signals): one matrix product."""
    shape = signals.shape[:2]
    x = signals.reshape(-1, signals.shape[2])
    if linear is None:
        lr, knn, _, title, body, _ = x.T
        return fallback(lr, knn, title, body).reshape(shape)
    w, b = linear
    return sigmoid(x @ w + b).reshape(shape)


def fused_scores(parts: SignalParts, linear: Linear | None) -> np.ndarray:
    """Scores of a block from its `SignalParts` (consumed: lr is summed into), without
    the (posts, tags, 6) array: at 100k posts the stacked arrays were most of the step.

    b, plus each weight times its signal in SIGNALS order, then `sigmoid`: element for
    element the plain sum over `parts.dense()`, so the same bits; but the sparse
    signals (kNN votes, name matches: a few dozen tags per post of thousands) are
    added where they are non-zero only, and nothing is allocated per signal."""
    if linear is None:
        lr, knn, _, title, body, _ = parts.dense()
        return fallback(lr, knn, title, body)
    w, b = linear
    z = parts.lr  # a new float64 array, summed into in place
    np.multiply(z, w[0], out=z)
    z += b  # (b + x == x + b exactly)

    def add_sparse(weight: float, values: Any, scale: np.ndarray | None = None) -> None:
        coo = sparse.coo_matrix(values)
        data = coo.data.astype(np.float64) if scale is None else scale[coo.col]
        z[coo.row, coo.col] += weight * data

    add_sparse(w[1], parts.knn)
    z += (w[2] * parts.prior)[None, :]
    add_sparse(w[3], parts.title, parts.names.rates_[0])
    add_sparse(w[4], parts.body, parts.names.rates_[1])
    z += w[5] * parts.mean
    return sigmoid(z, out=z)
