"""The stacked tagger's fusion: a logistic regression over the base signals, and the one
formula that turns a block's signals into calibrated scores."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression

from .signals import NameRates

SIGNALS = ("lr", "knn", "prior", "title", "body", "mean")


def sigmoid(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """1 / (1 + exp(-z)), z clipped to [-35, 35]; in place when `out` is z."""
    out = np.clip(z, -35, 35, out=out)
    np.negative(out, out=out)
    np.exp(out, out=out)
    out += 1.0
    return np.divide(1.0, out, out=out)


def _fallback(lr: Any, knn: Any, title: Any, body: Any) -> np.ndarray:
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


class Fusion:
    """Logistic regression over standardised signals (one row per (post, tag) pair),
    fitted on out-of-fold values; without two classes to learn from, `_fallback`."""

    def __init__(self, c: float = 1.0, max_iter: int = 1000) -> None:
        self.c = c
        self.max_iter = max_iter

    def fit(self, x: np.ndarray, y: np.ndarray) -> Fusion:
        """x: (n_pairs, n_signals); y: (n_pairs,) bool, does the post carry the tag."""
        self.model_: LogisticRegression | None = None
        if not len(x) or y.all() or not y.any():  # nothing to learn weights from
            return self
        self.mu_ = x.mean(axis=0)
        self.sd_ = x.std(axis=0) + 1e-9
        self.model_ = LogisticRegression(C=self.c, max_iter=self.max_iter)
        self.model_.fit((x - self.mu_) / self.sd_, y)
        return self

    @property
    def learnt(self) -> bool:
        return self.model_ is not None

    @property
    def weights(self) -> dict[str, float]:
        """Each signal's weight on its raw (unstandardised) scale; {} when not learnt."""
        if self.model_ is None:
            return {}
        return {s: float(w / sd) for s, w, sd in zip(SIGNALS, self.model_.coef_[0], self.sd_,
                                                       strict=True)}

    def linear(self) -> tuple[np.ndarray, float]:
        """The fusion as weights on the raw signals and an intercept (standardisation
        folded in)."""
        assert self.model_ is not None
        w = self.model_.coef_[0] / self.sd_
        return w, float(self.model_.intercept_[0] - np.dot(self.mu_, w))

    def predict_stacked(self, signals: np.ndarray) -> np.ndarray:
        """Scores of stacked signals (n_posts, n_tags, n_signals), as stored for the
        fusion's own training rows: one matrix product."""
        shape = signals.shape[:2]
        x = signals.reshape(-1, signals.shape[2])
        if self.model_ is None:
            lr, knn, _, title, body, _ = x.T
            return _fallback(lr, knn, title, body).reshape(shape)
        w, b = self.linear()
        return sigmoid(x @ w + b).reshape(shape)

    def predict(self, parts: SignalParts) -> np.ndarray:
        """Scores of a block from its `SignalParts` (consumed: lr is summed into), without
        the (posts, tags, 6) array: at 100k posts the stacked arrays were most of the step.

        b, plus each weight times its signal in SIGNALS order, then `sigmoid`: element for
        element the plain sum over `parts.dense()`, so the same bits; but the sparse
        signals (kNN votes, name matches: a few dozen tags per post of thousands) are
        added where they are non-zero only, and nothing is allocated per signal."""
        if self.model_ is None:
            lr, knn, _, title, body, _ = parts.dense()
            return _fallback(lr, knn, title, body)
        w, b = self.linear()
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
