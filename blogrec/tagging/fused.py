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
    """Scores of stacked signals (n_posts, n_tags, n_signals), as `fused_scores` gives
    them: the same formula on the same values, so the same bits."""
    if linear is None:
        lr, knn, _, title, body, _ = np.moveaxis(signals, 2, 0)
        return fallback(lr, knn, title, body)
    return _fuse([signals[:, :, i] for i in range(signals.shape[2])], linear)


def fused_scores(parts: SignalParts, linear: Linear | None) -> np.ndarray:
    """Scores of a block from its `SignalParts` (consumed), without the (posts, tags, 6)
    array: at 100k posts the stacked arrays were most of the step. The sparse signals
    (kNN votes, name matches: a few dozen tags per post of thousands) are added where
    they are non-zero only; adding w * 0 elsewhere would not change a bit."""
    if linear is None:
        lr, knn, _, title, body, _ = parts.dense()
        return fallback(lr, knn, title, body)
    rates = parts.names.rates_
    return _fuse([parts.lr, parts.knn, parts.prior[None, :], _Scaled(parts.title, rates[0]),
                  _Scaled(parts.body, rates[1]), parts.mean], linear)


@dataclass
class _Scaled:
    """A sparse 0/1 signal whose non-zeros take their column's value of `scale`."""

    values: Any
    scale: np.ndarray


def _fuse(signals: list[Any], linear: Linear) -> np.ndarray:
    """The fusion formula, its one copy: sigmoid(b + sum of w_i x_i, in SIGNALS order).
    Each x_i is dense (or broadcasts), sparse, or `_Scaled`."""
    w, b = linear
    z = np.multiply(signals[0], w[0], dtype=np.float64)
    z += b  # (b + x == x + b exactly)
    for weight, x in zip(w[1:], signals[1:], strict=True):
        if isinstance(x, _Scaled) or sparse.issparse(x):
            coo = sparse.coo_matrix(x.values if isinstance(x, _Scaled) else x)
            data = x.scale[coo.col] if isinstance(x, _Scaled) else coo.data.astype(np.float64)
            z[coo.row, coo.col] += weight * data
        else:
            z += weight * x
    return sigmoid(z, out=z)
